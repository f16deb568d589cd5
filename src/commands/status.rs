//! `clawkit status`: one screen, one verdict.

use anyhow::Result;
use serde_json::json;

use crate::cli::Global;
use crate::env::Env;
use crate::exit::Exit;
use crate::printer::{Printer, BOLD, DIM, GREEN, RED, YELLOW};
use crate::probe::{Snapshot, Verdict};

pub fn run(env: &Env, g: &Global, args: &crate::cli::StatusArgs, p: &Printer) -> Result<Exit> {
    let mut docs = Vec::new();
    let mut worst = Verdict::Ok;
    for (i, target) in super::targets(env, g, args.all_profiles)?
        .iter()
        .enumerate()
    {
        let snap = Snapshot::take(env, target)?;
        let verdict = snap.verdict();
        let (message, fix) = snap.explain();
        if verdict != Verdict::Ok && worst == Verdict::Ok {
            worst = verdict;
        }
        // A fresh `update --check` answer for this install (status never calls the network).
        let available = super::update::check::cached(env, snap.cli_version())
            .filter(|c| c.outcome == "available");
        if p.json {
            let mut doc = report(&snap, verdict, &message, fix.as_deref());
            doc["available"] = available.as_ref().map_or(serde_json::Value::Null, |c| {
                json!({
                    "version": c.available,
                    "published_at": c.published_at,
                    "checked_at": c.checked_at,
                })
            });
            docs.push(doc);
        } else {
            if i > 0 {
                p.line("");
            }
            print_human(p, &snap, verdict, &message, fix.as_deref());
            if let Some(c) = &available {
                p.line(format!(
                    "  update      {} available (checked {}; `clawkit update` takes it)",
                    c.available.as_ref().map_or("?".into(), |v| v.to_string()),
                    c.checked_at
                ));
            }
        }
    }
    if p.json {
        match docs.len() {
            1 if !args.all_profiles => p.json(&docs[0]),
            _ => p.json(&super::combine(
                "status",
                docs,
                worst.as_str(),
                worst == Verdict::Ok,
            )),
        }
    }
    Ok(match worst {
        Verdict::Ok => Exit::Ok,
        _ => Exit::Problem,
    })
}

/// The `status` JSON document (schema 1).
pub fn report(
    snap: &Snapshot,
    verdict: Verdict,
    message: &str,
    fix: Option<&str>,
) -> serde_json::Value {
    json!({
        "schema": 1,
        "command": "status",
        "verdict": verdict,
        "message": message,
        "fix": fix,
        "profile": snap.layout.profile.name().unwrap_or("default"),
        "state_dir": snap.layout.state_dir,
        "config_path": snap.layout.config_path,
        "config_error": snap.config.error,
        "port": snap.port,
        "port_from": snap.port_from,
        "cli": snap.install.as_ref().map(|i| json!({
            "version": i.version,
            "bin": i.bin,
            "package_root": i.package_root,
            "prefix": i.prefix,
            "engines_node": i.engines_node,
            "schema_versions": i.schema_versions,
            "error": i.error,
        })),
        "node": snap.node,
        "installs": snap.installs,
        "gateway": {
            "state": snap.gateway.state,
            "status": snap.gateway.status,
            "version": snap.gateway.version,
            "version_source": snap.gateway.version_source,
            "pid": snap.gateway.pid,
            "port": snap.gateway.port,
            "install_changed": snap.install_changed,
            "locks": snap.gateway.locks,
        },
        "supervisor": snap.supervisor,
        "split": snap.split,
        "interrupted_update": snap.interrupted_id(),
        "interrupted": snap.interrupted.iter().map(|p| json!({
            "id": p.record.id,
            "command": p.record.command,
            "started_at": p.record.started_at,
            "record": p.path,
        })).collect::<Vec<_>>(),
    })
}

fn print_human(p: &Printer, snap: &Snapshot, verdict: Verdict, message: &str, fix: Option<&str>) {
    let profile = snap.layout.profile.name().unwrap_or("default");
    p.line(format!(
        "{} {}",
        p.paint(BOLD, "OpenClaw"),
        p.paint(DIM, format!("(profile {profile})"))
    ));
    match &snap.install {
        Some(i) => {
            let v = i.version.as_ref().map_or("?".into(), |v| v.to_string());
            let node = snap
                .node
                .as_ref()
                .and_then(|n| n.version.as_ref())
                .map_or("node ?".into(), |v| format!("node {v}"));
            p.line(format!(
                "  CLI         {v:<12} {} ({node})",
                i.bin.display()
            ));
        }
        None => p.line("  CLI         not installed"),
    }
    for other in snap.installs.iter().skip(1) {
        let v = other.version.as_ref().map_or("?".into(), |v| v.to_string());
        p.line(format!("  also        {v:<12} {}", other.bin.display()));
    }
    let gw = &snap.gateway;
    let gv = gw.version.as_ref().map_or("?".into(), |v| v.to_string());
    let state = match gw.state {
        crate::gateway::State::Running => format!("running on 127.0.0.1:{}", gw.port),
        crate::gateway::State::Starting => format!(
            "{} on 127.0.0.1:{}",
            gw.status.as_deref().unwrap_or("starting"),
            gw.port
        ),
        crate::gateway::State::Down => format!("not running (port {})", gw.port),
        crate::gateway::State::Foreign => format!("port {} held by another program", gw.port),
    };
    let pid = gw.pid.map(|p| format!(", pid {p}")).unwrap_or_default();
    if gw.up() {
        p.line(format!("  gateway     {gv:<12} {state}{pid}"));
    } else {
        p.line(format!("  gateway     {:<12} {state}", "-"));
    }
    let sup = &snap.supervisor;
    let sup_line = match &sup.name {
        Some(n) => format!("{} ({n})", sup.kind.as_str()),
        None => sup.kind.as_str().to_string(),
    };
    p.line(format!("  supervisor  {sup_line}"));
    p.line(format!("  state       {}", snap.layout.state_dir.display()));
    if let Some(e) = &snap.config.error {
        p.line(format!("  config      {}", p.paint(YELLOW, e)));
    }
    for pend in &snap.interrupted {
        p.line(format!(
            "  {}",
            p.paint(
                RED,
                format!(
                    "`clawkit {}` {} was interrupted: run `clawkit resume`",
                    pend.record.command, pend.record.id
                )
            )
        ));
    }
    let style = match verdict {
        Verdict::Ok => GREEN,
        Verdict::Skew => RED,
        _ => YELLOW,
    };
    p.line(format!("{} {}", p.paint(style, verdict.as_str()), message));
    if let Some(fix) = fix {
        p.line(format!("  fix: {}", p.paint(BOLD, fix)));
    }
}
