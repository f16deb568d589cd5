//! `clawkit repair lock`: remove gateway lock files only when their process is gone (or the pid
//! now belongs to a process started at another time) and the port is free.

use anyhow::{Context, Result};
use serde_json::json;

use crate::cli::{Global, RepairCommand};
use crate::env::Env;
use crate::exit::Exit;
use crate::gateway;
use crate::oplock::OpLock;
use crate::printer::Printer;
use crate::probe::Snapshot;
use crate::proc;

pub fn run(env: &Env, g: &Global, cmd: &RepairCommand, p: &Printer) -> Result<Exit> {
    match cmd {
        RepairCommand::Lock { dry_run } => lock(env, g, *dry_run, p),
    }
}

fn lock(env: &Env, g: &Global, dry_run: bool, p: &Printer) -> Result<Exit> {
    let snap = Snapshot::take(env, &super::target(g)?)?;
    let _lock = if dry_run {
        None
    } else {
        Some(OpLock::acquire(&snap.layout.clawkit_dir(), "repair lock")?)
    };
    let mut removed = Vec::new();
    let mut kept = Vec::new();
    for l in gateway::read_locks(&snap.layout) {
        let port = l.port.unwrap_or(snap.port);
        let port_busy = proc::port_open(port);
        let reason = match (l.stale || l.unreadable, port_busy) {
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
