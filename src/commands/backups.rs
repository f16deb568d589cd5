//! `clawkit backups list|show|restore`.

use std::time::{Duration, SystemTime};

use anyhow::Result;

use crate::backup::{self, Backup};
use crate::cli::{BackupsCommand, Global};
use crate::env::Env;
use crate::exit::{Exit, Failure};
use crate::member;
use crate::printer::{Printer, BOLD, DIM};
use crate::probe::Snapshot;
use crate::report::{BackupSummary, BackupsListDoc, BackupsRestoreDoc, BackupsShowDoc};
use crate::txn::{Begin, Scope, Txn};

pub fn run(env: &Env, g: &Global, cmd: &BackupsCommand, p: &Printer) -> Result<Exit> {
    if let BackupsCommand::Restore { id, yes, dry_run } = cmd {
        return restore(env, g, id, *yes, *dry_run, p);
    }
    let snap = Snapshot::take(env, &super::target(g))?;
    let all = backup::list(&snap.layout);
    match cmd {
        BackupsCommand::List => {
            if p.json {
                let items: Vec<_> = all.iter().map(summary).collect();
                p.json(&BackupsListDoc {
                    dir: Some(backup::backups_dir(&snap.layout)),
                    backups: items,
                    ..BackupsListDoc::new("ok", Exit::Ok)
                });
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
                p.json(&BackupsShowDoc {
                    dir: Some(b.dir.clone()),
                    manifest: Some(b.manifest.clone()),
                    ..BackupsShowDoc::new("ok", Exit::Ok)
                });
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
                b.manifest
                    .from
                    .as_ref()
                    .map_or("-".into(), |v| v.to_string()),
                b.manifest.to.as_ref().map_or("-".into(), |v| v.to_string())
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
        BackupsCommand::Restore { .. } => unreachable!("handled above"),
    }
}

fn summary(b: &Backup) -> BackupSummary {
    BackupSummary {
        id: b.manifest.id.clone(),
        created_at: b.manifest.created_at.clone(),
        reason: b.manifest.reason.clone(),
        from: b.manifest.from.clone(),
        to: b.manifest.to.clone(),
        dir: b.dir.clone(),
        files: b
            .manifest
            .entries
            .iter()
            .filter(|e| e.kind == backup::Kind::File)
            .count(),
        bytes: b.manifest.total_size(),
    }
}

fn restore(env: &Env, g: &Global, id: &str, yes: bool, dry_run: bool, p: &Printer) -> Result<Exit> {
    // An id that names no backup is a usage error: found before anything runs (the resume of an
    // interrupted operation included). The full id is kept: the resume may add backups whose ids
    // start with it.
    let id = {
        let target = super::target(g);
        let layout = crate::layout::resolve(env, &target.profile, target.port)?;
        let all = backup::list(&layout);
        super::history::by_prefix(&all, id, |b| &b.manifest.id, "backup")?
            .manifest
            .id
            .clone()
    };
    let (locks, snap) = if dry_run {
        (Vec::new(), Snapshot::take(env, &super::target(g))?)
    } else {
        super::lock_and_resume(env, g, p, "backups restore")?
    };
    let all = backup::list(&snap.layout);
    let b = all
        .iter()
        .find(|b| b.manifest.id == id)
        .ok_or_else(|| Failure::refused(format!("the backup {id} is gone")))?;
    b.verify().map_err(|e| {
        Failure::refused(format!("{e:#}")).with_fix("pick another backup: clawkit backups list")
    })?;
    b.check_links(&snap.layout, &[]).map_err(|e| {
        Failure::refused(format!("{e:#}")).with_fix(
            "if that link is yours, put it back as the backup recorded it and retry; otherwise pick another backup: clawkit backups list",
        )
    })?;
    let has = |p: &str| b.manifest.entries.iter().any(|e| e.path == p);
    // The backup's era: from the release it was taken of (update backups record it), else files.
    let json_era_backup = match &b.manifest.from {
        Some(v) => *v < crate::version::Version::new(2026, 8, 1),
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
    let root = snap.install.as_ref().and_then(|i| i.package_root.clone());
    let selection = member::select(
        env,
        &snap,
        None,
        member::Options {
            siblings: false,
            start: false,
            restart: true,
        },
    )?;
    let members = selection.members;
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
            p.json(&BackupsRestoreDoc {
                restored: Some(b.manifest.id.clone()),
                source: Some(summary(b)),
                ..BackupsRestoreDoc::new("planned", Exit::Ok)
            });
        }
        return Ok(Exit::Ok);
    }
    super::confirm(p, yes, "restoring overwrites the current state")?;
    if let Err(e) = backup::check_space(&snap.layout) {
        return Err(Failure::refused(format!("{e:#}"))
            .with_fix("free disk space, then retry")
            .into());
    }
    let stamp = backup::stamp(SystemTime::now());
    let node = snap.gateway_node(env).map(|n| n.path);
    let mut txn = Txn::begin(
        env,
        p,
        members,
        Begin {
            scope: Scope::Profile(snap.layout.state_dir.clone()),
            id: format!("{stamp}-restore-{}", b.manifest.id),
            command: "backups restore",
            from: snap.cli_version().cloned(),
            to: snap.cli_version().cloned(),
            node,
            root: root.clone(),
            previous_package: None,
        },
    )?;
    let layout = snap.layout.clone();
    let result = (|| -> Result<()> {
        txn.stop_all()?;
        let safety = txn.backup_all(
            &format!("{stamp}-before-restore"),
            "before restore",
            None,
            None,
        )?;
        txn.change_state(
            0,
            &safety[0].dir,
            &format!("restored backup {}", b.manifest.id),
            &format!("restore {}", b.manifest.id),
            |_| {
                b.restore(&layout)?;
                Ok((
                    (),
                    format!("{} entries byte-identical", b.manifest.entries.len()),
                ))
            },
        )?;
        txn.start_all(|m| m.restart, Duration::from_secs(120))?;
        txn.verify_all(|m| m.restart, None, None)?;
        txn.verified();
        Ok(())
    })();
    let fin = txn.finish(result, "restored", "undone");
    drop(locks);
    Ok(super::report_txn(
        p,
        "backups restore",
        &fin,
        "restored",
        |t| BackupsRestoreDoc {
            restored: Some(b.manifest.id.clone()),
            source: Some(summary(b)),
            ..BackupsRestoreDoc::ended(t)
        },
    ))
}
