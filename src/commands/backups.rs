//! `clawkit backups list|show|restore`.

use std::time::{Duration, SystemTime};

use anyhow::Result;
use serde_json::json;

use crate::backup::{self, Backup};
use crate::cli::{BackupsCommand, Global};
use crate::env::Env;
use crate::exit::{Exit, Failure};
use crate::oplock::OpLock;
use crate::printer::{Printer, BOLD, DIM};
use crate::probe::Snapshot;
use crate::steps::{self, Bracketed, Recorder};

pub fn run(env: &Env, g: &Global, cmd: &BackupsCommand, p: &Printer) -> Result<Exit> {
    let snap = Snapshot::take(env, &super::target(g)?)?;
    let all = backup::list(&snap.layout);
    match cmd {
        BackupsCommand::List => {
            if p.json {
                let items: Vec<_> = all.iter().map(summary).collect();
                p.json(&json!({"schema": 1, "command": "backups list", "dir": backup::backups_dir(&snap.layout), "backups": items}));
                return Ok(Exit::Ok);
            }
            if all.is_empty() {
                p.line(format!(
                    "no backups in {}",
                    backup::backups_dir(&snap.layout).display()
                ));
                return Ok(Exit::Ok);
            }
            p.line(p.paint(
                BOLD,
                format!(
                    "{:<44} {:<21} {:<16} {:>6} {:>9}",
                    "id", "created", "reason", "files", "size"
                ),
            ));
            for b in &all {
                let m = &b.manifest;
                p.line(format!(
                    "{:<44} {:<21} {:<16} {:>6} {:>8}K",
                    m.id,
                    m.created_at,
                    m.reason,
                    m.entries
                        .iter()
                        .filter(|e| e.kind == backup::Kind::File)
                        .count(),
                    m.total_size() / 1024
                ));
            }
            Ok(Exit::Ok)
        }
        BackupsCommand::Show { id } => {
            let b = super::history::by_prefix(&all, id, |b| &b.manifest.id, "backup")?;
            if p.json {
                p.json(&json!({"schema": 1, "command": "backups show", "dir": b.dir, "manifest": b.manifest}));
                return Ok(Exit::Ok);
            }
            p.line(format!(
                "{} {}",
                p.paint(BOLD, &b.manifest.id),
                p.paint(DIM, b.dir.display())
            ));
            p.line(format!(
                "  {} ({} → {})",
                b.manifest.reason,
                b.manifest.from.as_deref().unwrap_or("-"),
                b.manifest.to.as_deref().unwrap_or("-")
            ));
            for e in &b.manifest.entries {
                p.line(format!(
                    "  {:o} {:>9} {}",
                    e.mode,
                    e.size.map_or("dir".into(), |s| s.to_string()),
                    e.path
                ));
            }
            Ok(Exit::Ok)
        }
        BackupsCommand::Restore { id, yes, dry_run } => {
            restore(env, &snap, &all, id, *yes, *dry_run, p)
        }
    }
}

fn summary(b: &Backup) -> serde_json::Value {
    json!({
        "id": b.manifest.id, "created_at": b.manifest.created_at, "reason": b.manifest.reason,
        "from": b.manifest.from, "to": b.manifest.to, "dir": b.dir,
        "files": b.manifest.entries.iter().filter(|e| e.kind == backup::Kind::File).count(),
        "bytes": b.manifest.total_size(),
    })
}

fn restore(
    env: &Env,
    snap: &Snapshot,
    all: &[Backup],
    id: &str,
    yes: bool,
    dry_run: bool,
    p: &Printer,
) -> Result<Exit> {
    let b = super::history::by_prefix(all, id, |b| &b.manifest.id, "backup")?;
    let _lock = if dry_run {
        None
    } else {
        Some(OpLock::acquire(
            &snap.layout.clawkit_dir(),
            "backups restore",
        )?)
    };
    b.verify().map_err(|e| {
        Failure::refused(format!("{e:#}")).with_fix("pick another backup: clawkit backups list")
    })?;
    let has = |p: &str| b.manifest.entries.iter().any(|e| e.path == p);
    // The backup's era: from the release it was taken of (update backups record it), else files.
    let json_era_backup = match b
        .manifest
        .from
        .as_deref()
        .and_then(|v| v.parse::<crate::version::Version>().ok())
    {
        Some(v) => v < crate::version::Version::new(2026, 8, 1),
        None => has("devices/paired.json") || has("identity/device-auth.json"),
    } && (has("devices/paired.json") || has("identity/device-auth.json"));
    let era_now = crate::pairing::era(&snap.layout, snap.cli_version());
    if json_era_backup && era_now == crate::pairing::Era::Sqlite {
        return Err(Failure::refused(
            "this backup holds JSON-era pairing files, but this install keeps pairing in state/openclaw.sqlite: restoring them would block the gateway",
        )
        .with_fix("use `clawkit rollback` to return to the release that wrote this backup, with its package")
        .into());
    }
    let mut notes = Vec::new();
    let members = steps::members(env, snap, false, false, true, &mut notes)?;
    p.line(format!(
        "restore {} into {} ({} entries); the current state is backed up first{}",
        b.manifest.id,
        snap.layout.state_dir.display(),
        b.manifest.entries.len(),
        if members[0].was_running {
            "; the gateway is stopped and restarted"
        } else {
            ""
        }
    ));
    if dry_run {
        if p.json {
            p.json(&json!({"schema": 1, "command": "backups restore", "outcome": "planned", "backup": summary(b)}));
        }
        return Ok(Exit::Ok);
    }
    if !yes {
        if !p.interactive {
            return Err(Failure::refused("restoring overwrites the current state")
                .with_fix("pass --yes to confirm")
                .into());
        }
        p.line("Proceed? [y/N] ");
        let mut a = String::new();
        std::io::stdin().read_line(&mut a)?;
        if !matches!(a.trim(), "y" | "Y" | "yes") {
            return Err(Failure::refused("restore cancelled; nothing was changed").into());
        }
    }
    let mut rec = Recorder::new(p);
    let safety_id = format!("{}-before-restore", backup::stamp(SystemTime::now()));
    let layout = snap.layout.clone();
    let mut change = |rec: &mut Recorder| {
        rec.run(&format!("restore {}", b.manifest.id), |_| {
            b.restore(&layout)?;
            Ok((
                (),
                format!("{} entries byte-identical", b.manifest.entries.len()),
            ))
        })
    };
    let mut undo = |_: &mut Recorder| Ok(());
    let outcome = steps::bracket(
        env,
        &mut rec,
        &members,
        &safety_id,
        "before restore",
        Duration::from_secs(120),
        None,
        None,
        &mut change,
        &mut undo,
    );
    report(p, "backups restore", outcome, rec)
}

/// Shared end of the guarded commands: report, exit code.
pub fn report(p: &Printer, command: &str, outcome: Bracketed, rec: Recorder) -> Result<Exit> {
    let (exit, name, error, safety) = match outcome {
        Bracketed::Done { safety } => (Exit::Ok, "done", None, safety),
        Bracketed::Undone { error, safety } => (Exit::RolledBack, "undone", Some(error), safety),
        Bracketed::Failed { error, safety } => (Exit::Attention, "failed", Some(error), safety),
    };
    let safety_dir = safety.first().map(|b| b.dir.clone());
    if p.json {
        p.json(&json!({
            "schema": 1, "command": command, "outcome": name, "error": error,
            "safety_backup": safety_dir, "steps": rec.steps,
        }));
    }
    match (&error, exit) {
        (None, _) => p.line(format!("{} {command}", p.mark("ok"))),
        (Some(e), Exit::RolledBack) => p.alert(format!(
            "{command} failed and was undone; the previous state runs again: {e}"
        )),
        (Some(e), _) => p.alert(format!(
            "{command} failed and could not be undone: {e}\n  the state before it is in {}",
            safety_dir.map_or("(no backup)".into(), |d| d.display().to_string())
        )),
    }
    Ok(exit)
}
