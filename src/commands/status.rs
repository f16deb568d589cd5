//! `clawkit status`: one screen, one verdict.

use anyhow::Result;

use crate::cli::Global;
use crate::env::Env;
use crate::exit::Exit;
use crate::printer::{Printer, BOLD, DIM, GREEN, RED, YELLOW};
use crate::probe::{Snapshot, Verdict};
use crate::report::{AvailableDoc, CliDoc, GatewayDoc, InterruptedDoc, StatusAllDoc, StatusDoc};

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
            doc.available = available.as_ref().map(|c| AvailableDoc {
                version: c.available.clone(),
                published_at: c.published_at.clone(),
                checked_at: c.checked_at.clone(),
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
                    c.checked_at.as_deref().unwrap_or("?")
                ));
            }
        }
    }
    let exit = match worst {
        Verdict::Ok => Exit::Ok,
        _ => Exit::Problem,
    };
    if p.json {
        if args.all_profiles {
            p.json(&StatusAllDoc {
                ok: worst == Verdict::Ok,
                verdict: Some(worst),
                profiles: docs,
                ..StatusAllDoc::new(outcome(exit), exit)
            });
        } else if let Some(doc) = docs.first() {
            p.json(doc);
        }
    }
    Ok(exit)
}

/// `ok` or `problem`: the outcome of a status or doctor that ran.
pub fn outcome(exit: Exit) -> &'static str {
    if exit == Exit::Ok {
        "ok"
    } else {
        "problem"
    }
}

/// The `status` document of one profile.
pub fn report(snap: &Snapshot, verdict: Verdict, message: &str, fix: Option<&str>) -> StatusDoc {
    let exit = if verdict == Verdict::Ok {
        Exit::Ok
    } else {
        Exit::Problem
    };
    StatusDoc {
        verdict: Some(verdict),
        message: Some(message.to_string()),
        fix: fix.map(String::from),
        profile: Some(snap.layout.profile.name().unwrap_or("default").to_string()),
        state_dir: Some(snap.layout.state_dir.clone()),
        config_path: Some(snap.layout.config_path.clone()),
        config_error: snap.config.error.clone(),
        port: Some(snap.port),
        port_from: Some(snap.port_from.to_string()),
        cli: snap.install.as_ref().map(|i| CliDoc {
            version: i.version.clone(),
            bin: i.bin.clone(),
            package_root: i.package_root.clone(),
            prefix: i.prefix.clone(),
            engines_node: i.engines_node.clone(),
            schema_versions: i.schema_versions.clone(),
            error: i.error.clone(),
        }),
        node: snap.node.clone(),
        installs: snap.installs.clone(),
        gateway: Some(GatewayDoc {
            state: snap.gateway.state,
            status: snap.gateway.status.clone(),
            version: snap.gateway.version.clone(),
            version_source: snap.gateway.version_source.map(String::from),
            pid: snap.gateway.pid,
            port: snap.gateway.port,
            install_changed: snap.install_changed,
            locks: snap.gateway.locks.clone(),
        }),
        supervisor: Some(snap.supervisor.clone()),
        split: snap.split.clone(),
        interrupted_update: snap.interrupted_id().map(String::from),
        interrupted: snap
            .interrupted
            .iter()
            .map(|p| InterruptedDoc {
                id: p.record.id.clone(),
                command: p.record.command.clone(),
                started_at: p.record.started_at.clone(),
                record: p.path.clone(),
            })
            .collect(),
        ..StatusDoc::new(outcome(exit), exit)
    }
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
