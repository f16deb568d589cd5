//! `clawkit repair lock`: remove gateway lock files only when their process is gone (or the pid
//! now belongs to a process started at another time) and the port is free.

use std::time::{Duration, SystemTime};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::backup;
use crate::cli::{Global, RepairCommand, ResetCommand};
use crate::env::Env;
use crate::exit::{Exit, Failure};
use crate::gateway;
use crate::layout::Layout;
use crate::logscan;
use crate::openclaw::OpenClaw;
use crate::oplock::OpLock;
use crate::pairing::{self, Era};
use crate::printer::Printer;
use crate::probe::{Snapshot, Verdict};
use crate::proc;
use crate::steps::{self, Bracketed, Recorder};

pub fn run(env: &Env, g: &Global, cmd: &RepairCommand, p: &Printer) -> Result<Exit> {
    match cmd {
        RepairCommand::Lock { dry_run } => lock(env, g, *dry_run, p),
        RepairCommand::Pairing {
            approve,
            approve_latest,
            verify,
            include_cli_token,
            yes,
            dry_run,
        } => pairing_resync(
            env,
            g,
            &Resync {
                approve: approve.clone(),
                approve_latest: *approve_latest,
                verify: *verify,
                include_cli_token: *include_cli_token,
                yes: *yes,
                dry_run: *dry_run,
            },
            p,
        ),
    }
}

/// Removes this profile's gateway locks whose owner is gone and whose port is free.
fn remove_stale_locks(
    layout: &Layout,
    default_port: u16,
    dry_run: bool,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut removed = Vec::new();
    let mut kept = Vec::new();
    for l in gateway::read_locks(layout) {
        let port = l.port.unwrap_or(default_port);
        let reason = match (l.stale || l.unreadable, proc::port_open(port)) {
            (true, false) => None,
            (true, true) => Some(format!("port {port} is in use")),
            (false, _) => Some(format!(
                "pid {} is alive",
                l.pid.map_or("?".into(), |p| p.to_string())
            )),
        };
        match reason {
            None => {
                if !dry_run {
                    std::fs::remove_file(&l.path)
                        .with_context(|| format!("cannot remove {}", l.path.display()))?;
                }
                removed.push(json!({"path": l.path, "pid": l.pid, "unreadable": l.unreadable}));
            }
            Some(why) => kept.push(json!({"path": l.path, "pid": l.pid, "reason": why})),
        }
    }
    Ok((removed, kept))
}

fn lock(env: &Env, g: &Global, dry_run: bool, p: &Printer) -> Result<Exit> {
    let snap = Snapshot::take(env, &super::target(g)?)?;
    let _lock = if dry_run {
        None
    } else {
        Some(OpLock::acquire(&snap.layout.clawkit_dir(), "repair lock")?)
    };
    let (removed, kept) = remove_stale_locks(&snap.layout, snap.port, dry_run)?;
    if p.json {
        p.json(&json!({"schema": 1, "command": "repair lock", "dry_run": dry_run, "removed": removed, "kept": kept}));
    } else {
        let verb = if dry_run { "would remove" } else { "removed" };
        for r in &removed {
            p.line(format!(
                "{} {verb} {}",
                p.mark("ok"),
                r["path"].as_str().unwrap_or("")
            ));
        }
        for k in &kept {
            p.line(format!(
                "{} kept {} ({})",
                p.mark("skip"),
                k["path"].as_str().unwrap_or(""),
                k["reason"].as_str().unwrap_or("")
            ));
        }
        if removed.is_empty() && kept.is_empty() {
            p.line("no gateway lock files");
        } else if removed.is_empty() {
            p.line("no stale locks");
        }
    }
    Ok(Exit::Ok)
}

struct Resync {
    approve: Option<String>,
    approve_latest: bool,
    verify: u32,
    include_cli_token: bool,
    yes: bool,
    dry_run: bool,
}

fn confirm(p: &Printer, yes: bool, what: &str) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !p.interactive {
        return Err(
            Failure::refused(format!("{what} changes the pairing state"))
                .with_fix("pass --yes to confirm")
                .into(),
        );
    }
    p.line(format!("{what}: proceed? [y/N] "));
    let mut a = String::new();
    std::io::stdin().read_line(&mut a)?;
    if matches!(a.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Failure::refused("cancelled; nothing was changed").into())
    }
}

/// The OpenClaw CLI of the snapshot's install, run by its node.
fn cli_of(snap: &Snapshot) -> Result<OpenClaw, Failure> {
    let inst = snap
        .install
        .as_ref()
        .filter(|i| i.usable())
        .ok_or_else(|| {
            Failure::refused("OpenClaw is not installed").with_fix("clawkit update --yes")
        })?;
    let node = snap
        .supervisor
        .node
        .clone()
        .filter(|n| n.is_absolute())
        .or_else(|| snap.node.as_ref().map(|n| n.path.clone()))
        .ok_or_else(|| Failure::refused("node is not on PATH"))?;
    Ok(OpenClaw::new(
        &node,
        inst.package_root
            .as_ref()
            .expect("usable installs have a root"),
    ))
}

/// Files of the JSON era that a resync clears.
fn json_era_targets(layout: &Layout, include_cli_token: bool) -> Vec<std::path::PathBuf> {
    let mut v = vec![
        layout.state_dir.join("devices/paired.json"),
        layout.state_dir.join("devices/pending.json"),
    ];
    if include_cli_token {
        v.push(layout.state_dir.join("identity/device-auth.json"));
    }
    v.retain(|p| p.exists());
    v
}

fn pairing_resync(env: &Env, g: &Global, a: &Resync, p: &Printer) -> Result<Exit> {
    let snap = Snapshot::take(env, &super::target(g)?)?;
    if snap.verdict() == Verdict::Skew {
        let (msg, _) = snap.explain();
        return Err(Failure::refused(format!("{msg}: a resync would not last"))
            .with_fix("clawkit update  (brings the gateway onto the CLI's version; then repair if the loop persists)")
            .into());
    }
    let cli = cli_of(&snap)?;
    let want = snap.cli_version().cloned();
    let (era, _) = pairing::inspect(&snap.layout, want.as_ref());
    let mut notes = Vec::new();
    // The resync ends with a running gateway (it approves and verifies through it).
    let members = steps::members(env, &snap, false, true, true, &mut notes)?;
    let targets = json_era_targets(&snap.layout, a.include_cli_token);
    let plan = match era {
        Era::Json => format!(
            "stop the gateway, back up {}, remove {}, remove stale locks, start, approve once, verify {} requests",
            snap.layout.state_dir.display(),
            if targets.is_empty() { "(no pairing files)".to_string() } else { targets.iter().map(|t| t.display().to_string()).collect::<Vec<_>>().join(", ") },
            a.verify
        ),
        Era::Sqlite => format!(
            "stop the gateway, back up {} (database with -wal/-shm), remove stale locks, start, `openclaw devices clear --pending`, approve once, verify {} requests",
            snap.layout.state_dir.display(),
            a.verify
        ),
    };
    p.line(format!(
        "repair pairing ({} era): {plan}",
        if era == Era::Json { "JSON" } else { "SQLite" }
    ));
    if a.dry_run {
        if p.json {
            p.json(&json!({"schema": 1, "command": "repair pairing", "outcome": "planned", "era": era, "plan": plan, "clears": targets}));
        }
        return Ok(Exit::Ok);
    }
    let _lock = OpLock::acquire(&snap.layout.clawkit_dir(), "repair pairing")?;
    confirm(p, a.yes, "repair pairing")?;

    let started = SystemTime::now();
    let mut rec = Recorder::new(p);
    let id = format!("{}-repair-pairing", backup::stamp(started));
    let layout = snap.layout.clone();
    let port = snap.port;
    let legacy_json = era == Era::Sqlite
        && [
            "identity/device.json",
            "identity/device-auth.json",
            "devices/paired.json",
            "devices/pending.json",
        ]
        .iter()
        .any(|f| layout.state_dir.join(f).exists());
    let mut change = |rec: &mut Recorder| -> Result<()> {
        if era == Era::Json && !targets.is_empty() {
            rec.run("clear the pairing state", |_| {
                for t in &targets {
                    std::fs::remove_file(t)
                        .with_context(|| format!("cannot remove {}", t.display()))?;
                }
                Ok(((), format!("removed {}", targets.len())))
            })?;
        }
        if legacy_json {
            let cmd = cli.doctor_fix(&layout, Duration::from_secs(300));
            rec.run(
                "retire legacy pairing files (openclaw doctor --fix)",
                |_| {
                    cmd.run_ok()?;
                    Ok(((), String::new()))
                },
            )?;
        }
        rec.run("remove stale locks", |_| {
            let (removed, _) = remove_stale_locks(&layout, port, false)?;
            Ok(((), format!("{} removed", removed.len())))
        })?;
        Ok(())
    };
    let mut undo = |_: &mut Recorder| Ok(());
    let outcome = steps::bracket(
        env,
        &mut rec,
        &members,
        &id,
        "repair pairing",
        Duration::from_secs(120),
        want.as_ref(),
        Some(&cli),
        &mut change,
        &mut undo,
    );
    let safety = match outcome {
        Bracketed::Done { safety } => safety,
        Bracketed::Undone { error, safety } | Bracketed::Failed { error, safety } => {
            let dir = safety
                .first()
                .map_or("(none)".into(), |b| b.dir.display().to_string());
            return finish(
                p,
                "repair pairing",
                rec,
                "failed",
                Some(format!("{error}; the state was restored from {dir}")),
                Exit::Attention,
                &safety,
            );
        }
    };
    let mut after = || -> Result<String> {
        if era == Era::Sqlite {
            rec.run(
                "clear paired devices (openclaw devices clear --pending)",
                |_| {
                    cli.devices_clear(&layout, port, true)?;
                    Ok(((), String::new()))
                },
            )?;
        }
        // The CLI's own first call pairs it again (and creates the request it may need).
        let _ = cli.gateway_call(&layout, port);
        let chosen = if a.approve.is_some() || a.approve_latest {
            Some(rec.run("approve", |_| {
                let list = cli.devices_list(&layout, port)?;
                let pending: Vec<&Value> = list.get("pending").and_then(Value::as_array).map(|v| v.iter().collect()).unwrap_or_default();
                let pick = match &a.approve {
                    Some(id) => pending.iter().find(|r| r.get("requestId").and_then(Value::as_str) == Some(id.as_str())).copied(),
                    None => pending.iter().max_by_key(|r| r.get("ts").and_then(Value::as_u64).unwrap_or(0)).copied(),
                };
                let Some(r) = pick else {
                    let ids: Vec<&str> = pending.iter().filter_map(|r| r.get("requestId").and_then(Value::as_str)).collect();
                    bail!(
                        "no matching pending request (pending: {}); have the device reconnect, then `clawkit repair pairing --approve-latest` or `openclaw devices approve <id>`",
                        if ids.is_empty() { "none".into() } else { ids.join(", ") }
                    );
                };
                let rid = r.get("requestId").and_then(Value::as_str).unwrap_or_default().to_string();
                cli.devices_approve(&layout, port, &rid)?;
                let device = r.get("deviceId").and_then(Value::as_str).unwrap_or("?").chars().take(12).collect::<String>();
                Ok((rid.clone(), format!("request {rid} (device {device})")))
            })?)
        } else {
            None
        };
        let since = SystemTime::now();
        let n = a.verify;
        rec.run(&format!("verify {n} requests in a row"), |_| {
            for i in 1..=n {
                cli.gateway_call(&layout, port).with_context(|| format!("request {i} of {n} failed"))?;
            }
            let logs = logscan::log_files(&layout, crate::config::Config::load(&layout.config_path).log_file.as_deref());
            let scan = logscan::scan(&logs, since);
            let errors = scan.pairing_required.count + scan.token_mismatch.count;
            if errors > 0 {
                bail!("{errors} new `pairing required` / `device token mismatch` in the log after the repair");
            }
            Ok(((), format!("{n} ok, no pairing errors logged")))
        })?;
        Ok(chosen.map_or(
            "nothing approved (pass --approve ID or --approve-latest)".into(),
            |r| format!("approved {r}"),
        ))
    };
    match after() {
        Ok(detail) => {
            p.line(format!("  {detail}"));
            finish(
                p,
                "repair pairing",
                rec,
                "repaired",
                None,
                Exit::Ok,
                &safety,
            )
        }
        Err(e) => finish(
            p,
            "repair pairing",
            rec,
            "failed",
            Some(format!("{e:#}")),
            Exit::Attention,
            &safety,
        ),
    }
}

fn finish(
    p: &Printer,
    command: &str,
    rec: Recorder,
    outcome: &str,
    error: Option<String>,
    exit: Exit,
    safety: &[backup::Backup],
) -> Result<Exit> {
    let backup = safety.first().map(|b| b.dir.clone());
    if p.json {
        p.json(&json!({"schema": 1, "command": command, "outcome": outcome, "error": error, "backup": backup, "steps": rec.steps}));
    }
    match &error {
        None => p.line(format!(
            "{} {outcome}; backup {}",
            p.mark("ok"),
            backup.map_or("(none)".into(), |b| b.display().to_string())
        )),
        Some(e) => p.alert(format!(
            "{outcome}: {e}\n  backup: {}",
            backup.map_or("(none)".into(), |b| b.display().to_string())
        )),
    }
    Ok(exit)
}

/// `clawkit reset devices --yes`: the last resort.
pub fn reset(env: &Env, g: &Global, cmd: &ResetCommand, p: &Printer) -> Result<Exit> {
    let ResetCommand::Devices { yes, dry_run } = cmd;
    let snap = Snapshot::take(env, &super::target(g)?)?;
    let cli = cli_of(&snap)?;
    let want = snap.cli_version().cloned();
    let (era, _) = pairing::inspect(&snap.layout, want.as_ref());
    let layout = snap.layout.clone();
    let port = snap.port;
    let paired = match era {
        Era::Json => std::fs::read_to_string(layout.state_dir.join("devices/paired.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| v.as_object().map(|o| o.len())),
        Era::Sqlite if snap.gateway.up() => cli
            .devices_list(&layout, port)
            .ok()
            .and_then(|v| v.get("paired").and_then(Value::as_array).map(|a| a.len())),
        Era::Sqlite => None,
    };
    let count = paired.map_or("every".into(), |n| n.to_string());
    p.line(format!(
        "reset devices: {count} paired device(s) will need pairing again; devices/ and identity/ are backed up to {} first",
        backup::backups_dir(&layout).display()
    ));
    if *dry_run {
        if p.json {
            p.json(&json!({"schema": 1, "command": "reset devices", "outcome": "planned", "era": era, "paired": paired}));
        }
        return Ok(Exit::Ok);
    }
    if !*yes {
        return Err(
            Failure::refused(format!("resetting forgets {count} paired device(s)"))
                .with_fix("pass --yes to confirm (a backup is made first)")
                .into(),
        );
    }
    let _lock = OpLock::acquire(&layout.clawkit_dir(), "reset devices")?;
    let mut notes = Vec::new();
    // A stopped gateway stays stopped, except in the SQLite era: the paired table is cleared
    // through a running one.
    let members = steps::members(env, &snap, false, era == Era::Sqlite, true, &mut notes)?;
    let mut rec = Recorder::new(p);
    let id = format!("{}-reset-devices", backup::stamp(SystemTime::now()));
    let mut change = |rec: &mut Recorder| -> Result<()> {
        rec.run("remove the device state", |_| {
            let mut n = 0;
            for d in ["devices", "identity"] {
                let dir = layout.state_dir.join(d);
                if dir.exists() {
                    steps::remove_tree(&dir)?;
                    n += 1;
                }
            }
            Ok((
                (),
                format!("{n} director{} removed", if n == 1 { "y" } else { "ies" }),
            ))
        })?;
        Ok(())
    };
    let mut undo = |_: &mut Recorder| Ok(());
    let outcome = steps::bracket(
        env,
        &mut rec,
        &members,
        &id,
        "reset devices",
        Duration::from_secs(120),
        want.as_ref(),
        Some(&cli),
        &mut change,
        &mut undo,
    );
    let safety = match outcome {
        Bracketed::Done { safety } => safety,
        Bracketed::Undone { error, safety } | Bracketed::Failed { error, safety } => {
            return finish(
                p,
                "reset devices",
                rec,
                "failed",
                Some(error),
                Exit::Attention,
                &safety,
            );
        }
    };
    if era == Era::Sqlite && members[0].restart {
        if let Err(e) = rec.run(
            "forget all paired devices (openclaw devices clear --pending)",
            |_| {
                cli.devices_clear(&layout, port, true)?;
                Ok(((), String::new()))
            },
        ) {
            return finish(
                p,
                "reset devices",
                rec,
                "failed",
                Some(format!("{e:#}")),
                Exit::Attention,
                &safety,
            );
        }
    }
    p.line("Re-pair each device: open the app (or reconnect the node), then run `openclaw devices list` and `openclaw devices approve <requestId>` for it.");
    finish(p, "reset devices", rec, "reset", None, Exit::Ok, &safety)
}
