//! `clawkit doctor`: every check from one read-only snapshot, the pairing-loop diagnosis, and one
//! next step. Without `--deep` it starts no OpenClaw process.

use std::time::{Duration, SystemTime};

use anyhow::Result;
use serde::Serialize;
use serde_json::{json, Value};

use crate::cli::{DoctorArgs, Global};
use crate::env::Env;
use crate::exit::Exit;
use crate::gateway::State;
use crate::journal;
use crate::logscan;
use crate::node::{self, Node};
use crate::openclaw::OpenClaw;
use crate::pairing;
use crate::printer::{Printer, BOLD, DIM};
use crate::probe::Snapshot;
use crate::report::{DoctorAllDoc, DoctorDoc};
use crate::supervisor::Kind;
use crate::version::Version;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Check {
    pub id: &'static str,
    /// `ok`, `warn`, `fail` or `skip`.
    pub status: &'static str,
    pub message: String,
    pub fix: Option<String>,
    pub evidence: Value,
}

fn check(id: &'static str, status: &'static str, message: impl Into<String>) -> Check {
    Check {
        id,
        status,
        message: message.into(),
        fix: None,
        evidence: json!({}),
    }
}

impl Check {
    fn fix(mut self, f: impl Into<String>) -> Self {
        self.fix = Some(f.into());
        self
    }

    fn evidence(mut self, e: Value) -> Self {
        self.evidence = e;
        self
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Condition {
    pub id: &'static str,
    pub label: &'static str,
    /// `met`, `not-met` or `unknown`.
    pub state: &'static str,
    pub evidence: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Diagnosis {
    pub conditions: Vec<Condition>,
    /// `version-skew-loop`, `other-pairing-problem`, `no-pairing-problem` or `unknown`.
    pub verdict: &'static str,
    pub message: String,
    pub next: Option<String>,
}

pub fn run(env: &Env, g: &Global, args: &DoctorArgs, p: &Printer) -> Result<Exit> {
    let since = args.since.unwrap_or(Duration::from_secs(30 * 60));
    let mut docs = Vec::new();
    let mut any_problem = false;
    let mut worst = "healthy";
    let rank = |v: &str| match v {
        "version-skew-loop" => 3,
        "problems" => 2,
        "warnings" => 1,
        _ => 0,
    };
    for (i, target) in super::targets(env, g, args.all_profiles)?
        .iter()
        .enumerate()
    {
        if i > 0 && !p.json {
            p.line("");
        }
        let (doc, problems) = one(env, target, since, args.deep, p)?;
        let verdict = doc.verdict.clone().unwrap_or_else(|| "problems".into());
        if rank(&verdict) > rank(worst) {
            worst = match verdict.as_str() {
                "version-skew-loop" => "version-skew-loop",
                "problems" => "problems",
                _ => "warnings",
            };
        }
        any_problem |= problems;
        docs.push(doc);
    }
    let exit = if any_problem { Exit::Problem } else { Exit::Ok };
    if p.json {
        if args.all_profiles {
            p.json(&DoctorAllDoc {
                ok: !any_problem,
                verdict: Some(worst.to_string()),
                profiles: docs,
                ..DoctorAllDoc::new(super::status::outcome(exit), exit)
            });
        } else if let Some(doc) = docs.first() {
            p.json(doc);
        }
    }
    Ok(exit)
}

/// Every check and the diagnosis for one profile: its JSON document and whether it found problems.
fn one(
    env: &Env,
    target: &crate::probe::Target,
    since: Duration,
    deep: bool,
    p: &Printer,
) -> Result<(DoctorDoc, bool)> {
    let snap = Snapshot::take(env, target)?;
    let profile_flag = snap
        .layout
        .profile
        .name()
        .map(|n| format!(" --profile {n}"))
        .unwrap_or_default();
    let update_fix = format!("clawkit update{profile_flag}");

    let mut checks = vec![
        check_install(&snap),
        check_node(env, &snap),
        check_gateway(&snap),
        check_skew(&snap, &update_fix),
        check_install_changed(&snap, &update_fix),
    ];
    let logs = logscan::log_files(&snap.layout, snap.config.log_file.as_deref());
    let scan = logscan::scan(&logs, SystemTime::now() - since);
    checks.push(check_pairing_loop(&scan, since, &logs, &update_fix, &snap));
    checks.push(check_pairing_state(&snap));
    checks.push(check_locks(&snap));
    checks.push(check_config(&snap));
    checks.push(check_service(&snap));
    let journal = journal::read(&journal::path(&snap.layout));
    checks.push(check_last_update(journal.last()));
    if let Some(pend) = snap.interrupted.first() {
        checks.push(
            check("interrupted", "fail", crate::record::describe(pend))
                .fix(format!("clawkit{profile_flag} resume"))
                .evidence(json!({"id": pend.record.id, "command": pend.record.command, "record": pend.path})),
        );
    }
    if deep {
        checks.push(check_openclaw_doctor(env, &snap));
    }

    let diagnosis = diagnose(&snap, &scan, journal.last(), &update_fix);
    let problems = checks.iter().any(|c| matches!(c.status, "warn" | "fail"));
    let failing = checks.iter().any(|c| c.status == "fail");
    let verdict = if diagnosis.verdict == "version-skew-loop" {
        "version-skew-loop"
    } else if failing {
        "problems"
    } else if problems {
        "warnings"
    } else {
        "healthy"
    };
    let next = diagnosis
        .next
        .clone()
        .or_else(|| {
            checks
                .iter()
                .find(|c| c.status == "fail")
                .and_then(|c| c.fix.clone())
        })
        .or_else(|| {
            checks
                .iter()
                .find(|c| c.status == "warn")
                .and_then(|c| c.fix.clone())
        });

    if !p.json {
        print_human(p, &snap, &checks, &diagnosis, next.as_deref());
    }
    let exit = if problems { Exit::Problem } else { Exit::Ok };
    let doc = DoctorDoc {
        ok: !problems,
        verdict: Some(verdict.to_string()),
        profile: Some(snap.layout.profile.name().unwrap_or("default").to_string()),
        state_dir: Some(snap.layout.state_dir.clone()),
        checks,
        diagnosis: Some(diagnosis),
        next,
        ..DoctorDoc::new(super::status::outcome(exit), exit)
    };
    Ok((doc, problems))
}

fn check_install(snap: &Snapshot) -> Check {
    let usable: Vec<_> = snap.installs.iter().filter(|i| i.usable()).collect();
    let broken: Vec<String> = snap
        .installs
        .iter()
        .filter_map(|i| i.error.clone())
        .collect();
    let Some(inst) = snap.install.as_ref().filter(|i| i.usable()) else {
        let msg = if broken.is_empty() {
            "OpenClaw is not on PATH".to_string()
        } else {
            format!("no usable OpenClaw: {}", broken.join("; "))
        };
        return check("install", "fail", msg)
            .fix("clawkit update --yes  (installs the latest release)");
    };
    let leftovers: Vec<String> = inst
        .prefix
        .as_ref()
        .and_then(|p| std::fs::read_dir(p.join("lib/node_modules")).ok())
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(".openclaw-"))
                .map(|e| e.path().display().to_string())
                .collect()
        })
        .unwrap_or_default();
    let evidence = json!({
        "bin": inst.bin, "package_root": inst.package_root, "version": inst.version,
        "installs": usable.len(), "leftovers": leftovers,
    });
    if !snap.split.is_empty() {
        return check("install", "fail", snap.split.join("; "))
            .fix("keep one install: remove the others from PATH, or reinstall the service from the CLI you use (openclaw gateway install --force)")
            .evidence(evidence);
    }
    if !leftovers.is_empty() {
        return check(
            "install",
            "warn",
            format!("a crashed npm left {} directory(ies) behind; the next npm install fails with ENOTEMPTY", leftovers.len()),
        )
        .fix(format!("when no npm is running: rm -rf {}", leftovers.join(" ")))
        .evidence(evidence);
    }
    let v = inst.version.as_ref().map_or("?".into(), |v| v.to_string());
    check(
        "install",
        "ok",
        format!("OpenClaw {v} at {}", inst.bin.display()),
    )
    .evidence(evidence)
}

fn check_node(env: &Env, snap: &Snapshot) -> Check {
    if snap.install.as_ref().is_none_or(|i| !i.usable()) {
        return check("node", "skip", "OpenClaw is not installed");
    }
    let Some(range) = snap.install.as_ref().and_then(|i| i.engines_node.clone()) else {
        return check("node", "skip", "the install declares no engines.node");
    };
    let mut nodes: Vec<(&str, Node)> = Vec::new();
    if let Some(n) = &snap.node {
        nodes.push(("CLI", n.clone()));
    }
    // The gateway's node (its service's, or the running process's): the same decision every
    // command uses. The same binary as the CLI's is not listed twice.
    if let Some(gn) = snap.gateway_node(env) {
        let same = snap.node.as_ref().is_some_and(|n| {
            std::fs::canonicalize(&n.path).ok() == std::fs::canonicalize(&gn.path).ok()
        });
        if !same {
            nodes.push(("gateway", gn));
        }
    }
    if nodes.is_empty() {
        return check("node", "fail", "node is not on PATH")
            .fix("install Node.js 24 and add it to PATH");
    }
    let mut bad = Vec::new();
    let mut shown = Vec::new();
    for (who, n) in &nodes {
        match n.version.as_ref().map(|v| (v, node::satisfies(&range, v))) {
            Some((v, Some(true))) => shown.push(format!("{who} node {v}")),
            Some((v, _)) => bad.push(format!("{who} node {v} ({})", n.path.display())),
            None => bad.push(format!("{who} node at {} does not run", n.path.display())),
        }
    }
    let evidence = json!({"engines": range, "nodes": nodes.iter().map(|(w, n)| json!({"for": w, "path": n.path, "version": n.version})).collect::<Vec<_>>()});
    if bad.is_empty() {
        check(
            "node",
            "ok",
            format!("{} satisfy {range}", shown.join(", ")),
        )
        .evidence(evidence)
    } else {
        check("node", "fail", format!("{} do not satisfy {range}", bad.join(", ")))
            .fix(format!("install a Node that satisfies {range} (e.g. npm install node@24) and use it for the CLI and the service"))
            .evidence(evidence)
    }
}

fn check_gateway(snap: &Snapshot) -> Check {
    let gw = &snap.gateway;
    let ev = json!({"port": gw.port, "pid": gw.pid, "status": gw.status, "version_source": gw.version_source});
    match gw.state {
        State::Running => {
            let ready = crate::http::get(gw.port, "/readyz", None, Duration::from_millis(800))
                .and_then(|r| r.json());
            let failing: Vec<String> = ready
                .as_ref()
                .and_then(|r| r.get("failing"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            if failing.is_empty() {
                check("gateway", "ok", format!("serving on 127.0.0.1:{}", gw.port)).evidence(ev)
            } else {
                check(
                    "gateway",
                    "warn",
                    format!(
                        "serving, but /readyz reports failing: {}",
                        failing.join(", ")
                    ),
                )
                .fix("openclaw doctor  (OpenClaw's own checks name the failing part)")
                .evidence(ev)
            }
        }
        State::Starting => check(
            "gateway",
            "warn",
            format!(
                "{} on port {}",
                gw.status.as_deref().unwrap_or("starting"),
                gw.port
            ),
        )
        .fix("wait a few seconds and run clawkit doctor again")
        .evidence(ev),
        State::Down => {
            let (_, fix) = snap.explain();
            check(
                "gateway",
                "warn",
                format!("no gateway is running on port {}", gw.port),
            )
            .fix(fix.unwrap_or_else(|| "openclaw gateway run".into()))
            .evidence(ev)
        }
        State::Foreign => check(
            "gateway",
            "fail",
            format!(
                "port {} is held by a program that is not an OpenClaw gateway",
                gw.port
            ),
        )
        .fix("stop that program, or move the gateway: openclaw config set gateway.port <free port>")
        .evidence(ev),
    }
}

fn check_skew(snap: &Snapshot, fix: &str) -> Check {
    if !snap.gateway.up() {
        return check("version-skew", "skip", "no gateway is running");
    }
    let cli = snap.cli_version();
    let ev =
        json!({"cli": cli, "gateway": snap.gateway.version, "source": snap.gateway.version_source});
    match (&snap.gateway.version, cli) {
        (Some(g), Some(c)) if g != c => check(
            "version-skew",
            "fail",
            format!("the CLI is {c} but the running gateway is {g}: devices fall into the `pairing required` loop"),
        )
        .fix(fix)
        .evidence(ev),
        (Some(g), Some(_)) => check("version-skew", "ok", format!("CLI and gateway both {g}")).evidence(ev),
        (None, _) => check("version-skew", "warn", "the running gateway does not reveal its version")
            .fix("set gateway.auth.token in the config (or OPENCLAW_GATEWAY_TOKEN) so clawkit can ask it")
            .evidence(ev),
        (Some(_), None) => check("version-skew", "skip", "no CLI install to compare with"),
    }
}

fn check_install_changed(snap: &Snapshot, fix: &str) -> Check {
    if !snap.gateway.up() {
        return check("install-changed", "skip", "no gateway is running");
    }
    let fmt = |t: Option<SystemTime>| t.map(|t| humantime::format_rfc3339_seconds(t).to_string());
    let ev = json!({
        "package_replaced_at": fmt(snap.install.as_ref().and_then(|i| i.replaced_at)),
        "gateway_started_at": fmt(snap.gateway.process.as_ref().and_then(|p| p.started_at)),
    });
    if snap.install_changed {
        check(
            "install-changed",
            "fail",
            "the OpenClaw package was replaced after the gateway started: new connections fail with `1011 gateway install changed`",
        )
        .fix(fix)
        .evidence(ev)
    } else {
        check(
            "install-changed",
            "ok",
            "the gateway runs the package that is installed",
        )
        .evidence(ev)
    }
}

fn check_pairing_loop(
    scan: &logscan::Scan,
    since: Duration,
    logs: &[std::path::PathBuf],
    fix: &str,
    snap: &Snapshot,
) -> Check {
    let window = humantime::format_duration(since).to_string();
    if logs.is_empty() {
        return check("pairing-loop", "skip", "no OpenClaw log files found");
    }
    let ev = serde_json::to_value(scan).unwrap_or_default();
    let errors = scan.pairing_required.count
        + scan.token_mismatch.count
        + scan.install_changed.count
        + scan.protocol_mismatch.count;
    let skewed = matches!(snap.verdict(), crate::probe::Verdict::Skew);
    if scan.loops > 0 {
        let devices = if scan.looping_devices.is_empty() {
            String::new()
        } else {
            format!(" (devices {})", scan.looping_devices.join(", "))
        };
        return check(
            "pairing-loop",
            "fail",
            format!("{} approval(s) in the last {window} were followed by `pairing required` again{devices}", scan.loops),
        )
        .fix(if skewed { fix.to_string() } else { "clawkit repair pairing".to_string() })
        .evidence(ev);
    }
    if errors > 0 {
        let mut parts = Vec::new();
        for (n, what) in [
            (scan.pairing_required.count, "pairing required"),
            (scan.token_mismatch.count, "device token mismatch"),
            (scan.install_changed.count, "gateway install changed"),
            (scan.protocol_mismatch.count, "protocol mismatch"),
        ] {
            if n > 0 {
                parts.push(format!("{n}× {what}"));
            }
        }
        return check(
            "pairing-loop",
            "warn",
            format!("in the last {window}: {}", parts.join(", ")),
        )
        .fix(if skewed {
            fix.to_string()
        } else {
            "openclaw devices list, then approve the current request once".to_string()
        })
        .evidence(ev);
    }
    check(
        "pairing-loop",
        "ok",
        format!("no pairing errors in the last {window}"),
    )
    .evidence(ev)
}

fn check_pairing_state(snap: &Snapshot) -> Check {
    let (era, findings) = pairing::inspect(&snap.layout, snap.cli_version());
    let worst = findings
        .iter()
        .map(|f| f.status)
        .max_by_key(|s| match *s {
            "fail" => 2,
            "warn" => 1,
            _ => 0,
        })
        .unwrap_or("ok");
    let shown: Vec<&pairing::Finding> = findings.iter().filter(|f| f.status == worst).collect();
    let message = shown
        .iter()
        .map(|f| f.message.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let mut c = check(
        "pairing-state",
        worst,
        format!(
            "{} era: {message}",
            match era {
                pairing::Era::Json => "JSON",
                pairing::Era::Sqlite => "SQLite",
            }
        ),
    )
    .evidence(json!({"era": era, "findings": findings}));
    c.fix = shown.iter().find_map(|f| f.fix.clone());
    c
}

fn check_locks(snap: &Snapshot) -> Check {
    let locks = &snap.gateway.locks;
    let stale: Vec<&crate::gateway::LockFile> =
        locks.iter().filter(|l| l.stale || l.unreadable).collect();
    let ev = json!({"locks": locks});
    if locks.is_empty() {
        return check("lock", "ok", "no gateway lock files").evidence(ev);
    }
    if stale.is_empty() {
        return check(
            "lock",
            "ok",
            format!("{} lock file(s), held by a live gateway", locks.len()),
        )
        .evidence(ev);
    }
    let what: Vec<String> = stale
        .iter()
        .map(|l| match (l.unreadable, l.pid) {
            (true, _) => format!("{} (unreadable)", l.path.display()),
            (_, Some(pid)) => format!("{} (pid {pid} is gone)", l.path.display()),
            _ => l.path.display().to_string(),
        })
        .collect();
    check(
        "lock",
        "warn",
        format!("stale gateway lock(s): {}", what.join(", ")),
    )
    .fix("clawkit repair lock")
    .evidence(ev)
}

fn check_config(snap: &Snapshot) -> Check {
    let c = &snap.config;
    let ev =
        json!({"path": snap.layout.config_path, "last_touched_version": c.last_touched_version});
    if let Some(e) = &c.error {
        return check("config", "fail", e.clone())
            .fix(format!(
                "fix the file, or restore {}.bak",
                snap.layout.config_path.display()
            ))
            .evidence(ev);
    }
    if !c.exists {
        return check(
            "config",
            "warn",
            format!("no config at {}", snap.layout.config_path.display()),
        )
        .fix("openclaw setup")
        .evidence(ev);
    }
    if let (Some(written), Some(installed)) = (&c.last_touched_version, snap.cli_version()) {
        if written > installed {
            return check(
                "config",
                "fail",
                format!("the config was written by OpenClaw {written}, newer than the installed {installed}: this binary refuses to start the gateway"),
            )
            .fix(format!("clawkit update --to {written}  (or clawkit rollback to restore the matching backup)"))
            .evidence(ev);
        }
    }
    check(
        "config",
        "ok",
        format!("{} parses", snap.layout.config_path.display()),
    )
    .evidence(ev)
}

fn check_service(snap: &Snapshot) -> Check {
    let s = &snap.supervisor;
    let ev = serde_json::to_value(s).unwrap_or_default();
    match s.kind {
        Kind::None => check(
            "service",
            "skip",
            "no service is installed and no gateway runs",
        ),
        Kind::Unmanaged => match &s.relaunch_problem {
            None => check(
                "service",
                "ok",
                "unmanaged gateway: clawkit can stop and relaunch it",
            )
            .evidence(ev),
            Some(why) => check(
                "service",
                "warn",
                format!("unmanaged gateway clawkit cannot relaunch: {why}"),
            )
            .fix("run it under a service: openclaw gateway install")
            .evidence(ev),
        },
        Kind::Systemd | Kind::Launchd => {
            let name = s.name.clone().unwrap_or_default();
            let entry = s
                .command
                .iter()
                .skip(1)
                .find(|a| a.contains("openclaw"))
                .map(std::path::PathBuf::from);
            if let Some(e) = entry.as_ref().filter(|e| e.is_absolute() && !e.exists()) {
                return check("service", "fail", format!("{name} runs {}, which does not exist", e.display()))
                    .fix("openclaw gateway install --force  (rewrites the service for the current install)")
                    .evidence(ev);
            }
            if let (Some(stamp), Some(installed)) = (&s.service_version, snap.cli_version()) {
                if stamp < installed && installed < &Version::new(2026, 3, 7) {
                    return check(
                        "service",
                        "warn",
                        format!("{name} was installed by OpenClaw {stamp}, older than {installed}"),
                    )
                    .fix("openclaw gateway install --force")
                    .evidence(ev);
                }
            }
            check("service", "ok", format!("{} {name}", s.kind.as_str())).evidence(ev)
        }
    }
}

fn check_last_update(last: Option<&journal::Entry>) -> Check {
    let Some(e) = last else {
        return check(
            "last-update",
            "skip",
            "no clawkit update has run on this profile",
        );
    };
    let what = format!(
        "{} → {} on {}",
        e.from.as_ref().map_or("(none)".into(), |v| v.to_string()),
        e.to.as_ref().map_or("?".into(), |v| v.to_string()),
        e.finished_at.as_deref().unwrap_or(&e.started_at)
    );
    let ev = json!({"id": e.id, "outcome": e.outcome, "backup": e.backup});
    match e.outcome.as_str() {
        "updated" | "already-current" => {
            check("last-update", "ok", format!("updated {what}")).evidence(ev)
        }
        "rolled-back" => check(
            "last-update",
            "warn",
            format!(
                "the last update ({what}) was rolled back: {}",
                e.error.as_deref().unwrap_or("")
            ),
        )
        .fix("clawkit history show  (the failed step), then retry or stay on the current version")
        .evidence(ev),
        "refused" => check(
            "last-update",
            "ok",
            format!("the last update ({what}) was refused before any change"),
        )
        .evidence(ev),
        "in-progress" | "rolling-back" | "undoing" => check(
            "last-update",
            "fail",
            format!(
                "the last {} ({what}) was interrupted ({})",
                e.command,
                e.phase.as_deref().unwrap_or(&e.outcome)
            ),
        )
        .fix("clawkit resume  (finishes it: undoes it and verifies the gateway)")
        .evidence(ev),
        "restarted" => check(
            "last-update",
            "ok",
            format!("restarted the gateway on {what}"),
        )
        .evidence(ev),
        "resolved" => check(
            "last-update",
            "ok",
            format!("the interrupted update {what} had been undone"),
        )
        .evidence(ev),
        _ => check(
            "last-update",
            "fail",
            format!("the last update ({what}) did not finish: {}", e.outcome),
        )
        .fix(format!(
            "check that the gateway runs (clawkit status); the backup is {}",
            e.backup
                .as_ref()
                .map_or("(none)".into(), |b| b.display().to_string())
        ))
        .evidence(ev),
    }
}

fn check_openclaw_doctor(env: &Env, snap: &Snapshot) -> Check {
    let (Some(inst), Some(node)) = (
        snap.install.as_ref().filter(|i| i.usable()),
        snap.gateway_node(env),
    ) else {
        return check("openclaw-doctor", "skip", "no usable OpenClaw install");
    };
    let Some(root) = &inst.package_root else {
        return check("openclaw-doctor", "skip", "no package root");
    };
    let cli = OpenClaw::new(&node.path, root, env);
    let help = cli.doctor_help().unwrap_or_default();
    if !help.contains("--lint") {
        return check(
            "openclaw-doctor",
            "skip",
            "this release's doctor has no --lint",
        );
    }
    match cli
        .doctor_lint(&snap.layout, snap.port, Duration::from_secs(120))
        .run()
    {
        Ok(out) => {
            let findings = crate::openclaw::lint_findings(&out);
            let ev = json!({"source": "openclaw doctor --lint", "findings": findings});
            if findings.is_empty() && out.success() {
                check(
                    "openclaw-doctor",
                    "ok",
                    "OpenClaw's own doctor reports no errors",
                )
                .evidence(ev)
            } else {
                check(
                    "openclaw-doctor",
                    "fail",
                    format!(
                        "OpenClaw's doctor reports {} error(s)",
                        findings.len().max(1)
                    ),
                )
                .fix("openclaw doctor  (details), openclaw doctor --fix to apply its fixes")
                .evidence(ev)
            }
        }
        Err(e) => check(
            "openclaw-doctor",
            "warn",
            format!("could not run openclaw doctor: {e:#}"),
        ),
    }
}

fn diagnose(
    snap: &Snapshot,
    scan: &logscan::Scan,
    last: Option<&journal::Entry>,
    update_fix: &str,
) -> Diagnosis {
    let loop_c = if scan.loops > 0 {
        (
            "met",
            format!("{} approval(s) followed by `pairing required`", scan.loops),
        )
    } else if scan.approvals.count > 0 {
        (
            "not-met",
            format!(
                "{} approval(s), no `pairing required` after them",
                scan.approvals.count
            ),
        )
    } else if scan.pairing_required.count + scan.token_mismatch.count > 0 {
        (
            "unknown",
            format!(
                "{} pairing error(s) but no approval in the window",
                scan.pairing_required.count + scan.token_mismatch.count
            ),
        )
    } else {
        (
            "unknown",
            "no approvals or pairing errors in the logs".to_string(),
        )
    };
    let installed_at = last
        .filter(|e| e.outcome == "updated")
        .and_then(|e| e.finished_at.as_deref())
        .and_then(logscan::parse_time)
        .into_iter()
        .chain(snap.install.as_ref().and_then(|i| i.replaced_at))
        .max();
    let fmt = |t: SystemTime| humantime::format_rfc3339_seconds(t).to_string();
    let after_c = match (installed_at, scan.first_error_at) {
        (Some(i), Some(e))
            if e >= i && e.duration_since(i).unwrap_or_default() < Duration::from_secs(86_400) =>
        {
            (
                "met",
                format!("installed {}, first error {}", fmt(i), fmt(e)),
            )
        }
        (Some(i), Some(e)) if e < i => (
            "not-met",
            format!("errors began {} before the install at {}", fmt(e), fmt(i)),
        ),
        (Some(i), Some(e)) => (
            "not-met",
            format!(
                "installed {}, first error {} (over a day later)",
                fmt(i),
                fmt(e)
            ),
        ),
        (Some(i), None) => (
            "unknown",
            format!("installed {}; no pairing errors logged", fmt(i)),
        ),
        (None, _) => ("unknown", "install time unknown".to_string()),
    };
    let versions_c = match (snap.gateway.up(), &snap.gateway.version, snap.cli_version()) {
        (false, _, _) => ("unknown", "no gateway is running".to_string()),
        (true, Some(g), Some(c)) if g != c => ("met", format!("CLI {c}, gateway {g}")),
        (true, _, _) if snap.install_changed => (
            "met",
            "the package was replaced under the running gateway".to_string(),
        ),
        (true, Some(g), Some(_)) => ("not-met", format!("both {g}")),
        _ => ("unknown", "the running version is unknown".to_string()),
    };
    let conditions = vec![
        Condition {
            id: "loop",
            label: "approval succeeds but `pairing required` comes back",
            state: loop_c.0,
            evidence: loop_c.1,
        },
        Condition {
            id: "after-update",
            label: "it started right after an update",
            state: after_c.0,
            evidence: after_c.1,
        },
        Condition {
            id: "versions-differ",
            label: "the CLI and gateway versions differ",
            state: versions_c.0,
            evidence: versions_c.1,
        },
    ];
    let (verdict, message, next) = match (loop_c.0, versions_c.0) {
        (_, "met") => (
            "version-skew-loop",
            "this is the version-skew loop: the gateway still runs the old code".to_string(),
            Some(update_fix.to_string()),
        ),
        ("met", "not-met") => (
            "other-pairing-problem",
            "versions match: this is a different pairing problem (stale device tokens)".to_string(),
            Some("clawkit repair pairing".to_string()),
        ),
        ("met", _) => (
            "unknown",
            "a pairing loop, but the gateway's version cannot be compared".to_string(),
            Some("clawkit status".to_string()),
        ),
        _ => (
            "no-pairing-problem",
            "no sign of a pairing loop".to_string(),
            None,
        ),
    };
    Diagnosis {
        conditions,
        verdict,
        message,
        next,
    }
}

fn print_human(p: &Printer, snap: &Snapshot, checks: &[Check], d: &Diagnosis, next: Option<&str>) {
    let profile = snap.layout.profile.name().unwrap_or("default");
    p.line(format!(
        "{} {}",
        p.paint(BOLD, "clawkit doctor"),
        p.paint(
            DIM,
            format!("(profile {profile}, {})", snap.layout.state_dir.display())
        )
    ));
    for c in checks {
        p.line(format!("  {} {:<16} {}", p.mark(c.status), c.id, c.message));
        if matches!(c.status, "warn" | "fail") {
            if let Some(f) = &c.fix {
                p.line(format!("      {} {f}", p.paint(DIM, "fix:")));
            }
        }
    }
    let (top, side, bottom) = if p.unicode {
        ("┌", "│", "└")
    } else {
        ("+", "|", "+")
    };
    p.line(format!(
        "{top} {}",
        p.paint(BOLD, "diagnosis: pairing loop after an update?")
    ));
    for c in &d.conditions {
        let state = match c.state {
            "met" => p.paint(crate::printer::YELLOW, "yes    "),
            "not-met" => p.paint(crate::printer::GREEN, "no     "),
            _ => p.paint(DIM, "unknown"),
        };
        p.line(format!(
            "{side} {state} {:<52} {}",
            c.label,
            p.paint(DIM, format!("({})", c.evidence))
        ));
    }
    p.line(format!("{side} → {}", d.message));
    p.line(bottom);
    match next {
        Some(n) => p.line(format!("Next step: {}", p.paint(BOLD, n))),
        None => p.line("Next step: nothing to do"),
    }
}
