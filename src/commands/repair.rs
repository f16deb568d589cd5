//! `clawkit repair lock`: remove gateway lock files only when their process is gone (or the pid
//! now belongs to a process started at another time) and the port is free.

use std::time::{Duration, SystemTime};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::backup;
use crate::cli::{Global, RepairCommand, ResetCommand};
use crate::env::Env;
use crate::exit::{Exit, Failure};
use crate::gateway;
use crate::layout::Layout;
use crate::logscan;
use crate::member;
use crate::openclaw::OpenClaw;
use crate::pairing::{self, Era};
use crate::printer::Printer;
use crate::probe::{Snapshot, Verdict};
use crate::proc;
use crate::report::{
    LockKept, LockRemoved, RepairLockDoc, RepairPairingDoc, ResetDevicesDoc, TxnEnd,
};
use crate::txn::{Begin, Change, RemovedFile, Scope, Txn};

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

/// This profile's gateway locks whose owner is gone and whose port is free (to remove, with
/// their content for the undo), and the ones kept with the reason.
fn stale_locks(layout: &Layout, default_port: u16) -> (Vec<RemovedFile>, Vec<LockKept>) {
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
                use std::os::unix::fs::PermissionsExt;
                let mode =
                    std::fs::metadata(&l.path).map_or(0o600, |m| m.permissions().mode() & 0o7777);
                let content = hex::encode(std::fs::read(&l.path).unwrap_or_default());
                removed.push(RemovedFile {
                    path: l.path.clone(),
                    mode,
                    content,
                });
            }
            Some(reason) => kept.push(LockKept {
                path: l.path.clone(),
                pid: l.pid,
                reason,
            }),
        }
    }
    (removed, kept)
}

fn remove_files(files: &[RemovedFile]) -> Result<String> {
    for f in files {
        match std::fs::remove_file(&f.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", f.path.display())),
        }
    }
    Ok(format!("{} removed", files.len()))
}

fn lock(env: &Env, g: &Global, dry_run: bool, p: &Printer) -> Result<Exit> {
    let (locks, snap) = if dry_run {
        (Vec::new(), Snapshot::take(env, &super::target(g))?)
    } else {
        super::lock_and_resume(env, g, p, "repair lock")?
    };
    let (removed, kept) = stale_locks(&snap.layout, snap.port);
    let shown: Vec<LockRemoved> = removed
        .iter()
        .map(|f| LockRemoved {
            path: f.path.clone(),
        })
        .collect();
    let mut exit = Exit::Ok;
    let mut error: Option<String> = None;
    if !dry_run && !removed.is_empty() {
        let mut txn = Txn::begin(
            env,
            p,
            Vec::new(),
            Begin {
                scope: Scope::Profile(snap.layout.state_dir.clone()),
                id: format!("{}-repair-lock", backup::stamp(SystemTime::now())),
                command: "repair lock",
                from: None,
                to: None,
                node: None,
                root: None,
                previous_package: None,
            },
        )?;
        txn.journals_add(crate::journal::path(&snap.layout));
        let files = removed.clone();
        let result = txn
            .apply(
                Change::Removed {
                    files: removed.clone(),
                },
                "remove stale gateway locks",
                |_| Ok(((), remove_files(&files)?)),
            )
            .map(|_| ());
        let fin = txn.finish(result, "removed", "undone");
        exit = fin.ended.exit();
        if let crate::txn::Ended::Undone { error: e } | crate::txn::Ended::Failed { error: e, .. } =
            &fin.ended
        {
            error = Some(e.clone());
        }
    }
    drop(locks);
    if p.json {
        let outcome = if dry_run {
            "planned"
        } else if exit == Exit::Ok {
            "done"
        } else if exit == Exit::RolledBack {
            "undone"
        } else {
            "failed"
        };
        p.json(&RepairLockDoc {
            dry_run,
            removed: shown,
            kept,
            error,
            ..RepairLockDoc::new(outcome, exit)
        });
    } else {
        let verb = if dry_run { "would remove" } else { "removed" };
        for r in &removed {
            p.line(format!("{} {verb} {}", p.mark("ok"), r.path.display()));
        }
        for k in &kept {
            p.line(format!(
                "{} kept {} ({})",
                p.mark("skip"),
                k.path.display(),
                k.reason
            ));
        }
        if removed.is_empty() && kept.is_empty() {
            p.line("no gateway lock files");
        } else if removed.is_empty() {
            p.line("no stale locks");
        }
        if let Some(e) = &error {
            p.alert(format!("repair lock failed: {e}"));
        }
    }
    Ok(exit)
}

struct Resync {
    approve: Option<String>,
    approve_latest: bool,
    verify: u32,
    include_cli_token: bool,
    yes: bool,
    dry_run: bool,
}

/// The OpenClaw CLI of the snapshot's install, run by the gateway's node.
fn cli_of(env: &Env, snap: &Snapshot) -> Result<OpenClaw, Failure> {
    let inst = snap
        .install
        .as_ref()
        .filter(|i| i.usable())
        .ok_or_else(|| {
            Failure::refused("OpenClaw is not installed").with_fix("clawkit update --install --yes")
        })?;
    let node = snap
        .gateway_node(env)
        .ok_or_else(|| Failure::refused("node is not on PATH"))?;
    Ok(OpenClaw::new(
        &node.path,
        inst.package_root
            .as_ref()
            .expect("usable installs have a root"),
        env,
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
    let (locks, snap) = if a.dry_run {
        (Vec::new(), Snapshot::take(env, &super::target(g))?)
    } else {
        super::lock_and_resume(env, g, p, "repair pairing")?
    };
    if snap.verdict() == Verdict::Skew {
        let (msg, _) = snap.explain();
        return Err(Failure::refused(format!("{msg}: a resync would not last"))
            .with_fix("clawkit update  (brings the gateway onto the CLI's version; then repair if the loop persists)")
            .into());
    }
    let cli = cli_of(env, &snap)?;
    let want = snap.cli_version().cloned();
    let (era, _) = pairing::inspect(&snap.layout, want.as_ref());
    // The resync ends with a running gateway (it approves and verifies through it).
    let members = member::select(
        env,
        &snap,
        None,
        member::Options {
            siblings: false,
            start: true,
            restart: true,
        },
    )?
    .members;
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
            p.json(&RepairPairingDoc {
                era: Some(era),
                plan: Some(plan),
                clears: targets,
                ..RepairPairingDoc::new("planned", Exit::Ok)
            });
        }
        return Ok(Exit::Ok);
    }
    super::confirm(p, a.yes, "repair pairing")?;
    if let Err(e) = backup::check_space(&snap.layout) {
        return Err(Failure::refused(format!("{e:#}"))
            .with_fix("free disk space, then retry")
            .into());
    }

    let stamp = backup::stamp(SystemTime::now());
    let id = format!("{stamp}-repair-pairing");
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
    let mut txn = Txn::begin(
        env,
        p,
        members,
        Begin {
            scope: Scope::Profile(layout.state_dir.clone()),
            id: id.clone(),
            command: "repair pairing",
            from: want.clone(),
            to: want.clone(),
            node: Some(cli.node.clone()),
            root: Some(cli.package_root.clone()),
            previous_package: None,
        },
    )?;
    let mut approved: Option<String> = None;
    let result = (|| -> Result<()> {
        txn.stop_all()?;
        let safety = txn.backup_all(&id, "repair pairing", want.as_ref(), want.as_ref())?;
        let backup_dir = safety[0].dir.clone();
        if era == Era::Json && !targets.is_empty() {
            txn.change_state(
                0,
                &backup_dir,
                "cleared the pairing state",
                "clear the pairing state",
                |_| {
                    for t in &targets {
                        std::fs::remove_file(t)
                            .with_context(|| format!("cannot remove {}", t.display()))?;
                    }
                    Ok(((), format!("removed {}", targets.len())))
                },
            )?;
        }
        if legacy_json {
            let cmd = cli.doctor_fix(&layout, Duration::from_secs(300));
            txn.change_state(
                0,
                &backup_dir,
                "retired legacy pairing files",
                "retire legacy pairing files (openclaw doctor --fix)",
                |_| {
                    cmd.run_ok()?;
                    Ok(((), String::new()))
                },
            )?;
        }
        // Always a step (with "0 removed"): the report says the locks were checked.
        let (stale, _) = stale_locks(&layout, port);
        let files = stale.clone();
        txn.apply(
            Change::Removed { files: stale },
            "remove stale locks",
            |_| Ok(((), remove_files(&files)?)),
        )?;
        txn.start_all(|m| m.restart, Duration::from_secs(120))?;
        txn.verify_all(|m| m.restart, Some(&cli), want.as_ref())?;
        if era == Era::Sqlite {
            // The paired table is cleared through the running gateway; the undo restores the
            // database from the backup.
            txn.change_state(
                0,
                &backup_dir,
                "cleared paired devices",
                "clear paired devices (openclaw devices clear --pending)",
                |_| {
                    cli.devices_clear(&layout, port, true)?;
                    Ok(((), String::new()))
                },
            )?;
        }
        txn.verified();
        Ok(())
    })();
    let fin = txn.finish(result, "restarted", "undone");
    if !matches!(fin.ended, crate::txn::Ended::Committed) {
        drop(locks);
        return Ok(super::report_txn(
            p,
            "repair pairing",
            &fin,
            "repaired",
            |t| RepairPairingDoc {
                era: Some(era),
                ..RepairPairingDoc::ended(t)
            },
        ));
    }
    // After the commit the gateway runs on the cleared state: pair, approve and verify through it.
    let mut rec = crate::steps::Recorder::new(p);
    let after = (|| -> Result<String> {
        // The CLI's own first call pairs it again (and creates the request it may need).
        let _ = cli.gateway_call(&layout, port);
        if a.approve.is_some() || a.approve_latest {
            let rid = rec.run("approve", |_| {
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
            })?;
            approved = Some(rid);
        }
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
        Ok(approved.clone().map_or(
            "nothing approved (pass --approve ID or --approve-latest)".into(),
            |r| format!("approved {r}"),
        ))
    })();
    drop(locks);
    let mut fin = fin;
    fin.rec.steps.extend(rec.steps);
    match after {
        Ok(detail) => {
            p.line(format!("  {detail}"));
            Ok(super::report_txn(
                p,
                "repair pairing",
                &fin,
                "repaired",
                |t| RepairPairingDoc {
                    era: Some(era),
                    approved,
                    ..RepairPairingDoc::ended(t)
                },
            ))
        }
        Err(e) => {
            let backup = fin.record.changes.iter().find_map(|l| match &l.change {
                Change::Backup { dir, .. } => Some(dir.clone()),
                _ => None,
            });
            let msg = format!("{e:#}");
            if p.json {
                p.json(&RepairPairingDoc {
                    era: Some(era),
                    approved,
                    ..RepairPairingDoc::ended(TxnEnd {
                        outcome: "failed".into(),
                        exit: Exit::Attention,
                        id: Some(fin.record.id.clone()),
                        from: fin.record.from.clone(),
                        to: fin.record.to.clone(),
                        error: Some(msg.clone()),
                        fix: Some("the gateway runs on the cleared state; approve the device with `openclaw devices approve <id>`, or go back with `clawkit backups restore`".into()),
                        backup: backup.clone(),
                        downtime_ms: fin.outage_ms,
                        duration_ms: Some(fin.duration_ms),
                        steps: fin.rec.steps.clone(),
                    })
                });
            }
            p.alert(format!(
                "repair pairing: the gateway runs on the cleared state, but {msg}\n  backup: {}",
                backup.map_or("(none)".into(), |b| b.display().to_string())
            ));
            Ok(Exit::Attention)
        }
    }
}

/// `clawkit reset devices --yes`: the last resort.
pub fn reset(env: &Env, g: &Global, cmd: &ResetCommand, p: &Printer) -> Result<Exit> {
    let ResetCommand::Devices { yes, dry_run } = cmd;
    let (locks, snap) = if *dry_run {
        (Vec::new(), Snapshot::take(env, &super::target(g))?)
    } else {
        super::lock_and_resume(env, g, p, "reset devices")?
    };
    let cli = cli_of(env, &snap)?;
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
            p.json(&ResetDevicesDoc {
                era: Some(era),
                paired,
                paired_before: paired,
                ..ResetDevicesDoc::new("planned", Exit::Ok)
            });
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
    if let Err(e) = backup::check_space(&layout) {
        return Err(Failure::refused(format!("{e:#}"))
            .with_fix("free disk space, then retry")
            .into());
    }
    // A stopped gateway stays stopped, except in the SQLite era: the paired table is cleared
    // through a running one.
    let members = member::select(
        env,
        &snap,
        None,
        member::Options {
            siblings: false,
            start: era == Era::Sqlite,
            restart: true,
        },
    )?
    .members;
    let id = format!("{}-reset-devices", backup::stamp(SystemTime::now()));
    let mut txn = Txn::begin(
        env,
        p,
        members,
        Begin {
            scope: Scope::Profile(layout.state_dir.clone()),
            id: id.clone(),
            command: "reset devices",
            from: want.clone(),
            to: want.clone(),
            node: Some(cli.node.clone()),
            root: Some(cli.package_root.clone()),
            previous_package: None,
        },
    )?;
    let result = (|| -> Result<()> {
        txn.stop_all()?;
        let safety = txn.backup_all(&id, "reset devices", want.as_ref(), want.as_ref())?;
        let backup_dir = safety[0].dir.clone();
        txn.change_state(
            0,
            &backup_dir,
            "removed devices/ and identity/",
            "remove the device state",
            |_| {
                let mut n = 0;
                for d in ["devices", "identity"] {
                    let dir = layout.state_dir.join(d);
                    if dir.exists() {
                        crate::steps::remove_tree(&dir)?;
                        n += 1;
                    }
                }
                Ok((
                    (),
                    format!("{n} director{} removed", if n == 1 { "y" } else { "ies" }),
                ))
            },
        )?;
        txn.start_all(|m| m.restart, Duration::from_secs(120))?;
        txn.verify_all(|m| m.restart, Some(&cli), want.as_ref())?;
        if era == Era::Sqlite && txn.members[0].restart {
            txn.change_state(
                0,
                &backup_dir,
                "forgot all paired devices",
                "forget all paired devices (openclaw devices clear --pending)",
                |_| {
                    cli.devices_clear(&layout, port, true)?;
                    Ok(((), String::new()))
                },
            )?;
        }
        txn.verified();
        Ok(())
    })();
    let fin = txn.finish(result, "reset", "undone");
    drop(locks);
    if matches!(fin.ended, crate::txn::Ended::Committed) {
        p.line("Re-pair each device: open the app (or reconnect the node), then run `openclaw devices list` and `openclaw devices approve <requestId>` for it.");
    }
    Ok(super::report_txn(p, "reset devices", &fin, "reset", |t| {
        ResetDevicesDoc {
            era: Some(era),
            paired,
            paired_before: paired,
            ..ResetDevicesDoc::ended(t)
        }
    }))
}
