//! `clawkit update`: request → plan (`plan.rs`: preflight, every refusal before any change) →
//! stage → one transaction for the outage window (`execute.rs`: stop → back up → swap → migrate
//! → start → health gate → verify) → journal. Interrupted earlier operations are finished first
//! (`crate::txn::resume`).

pub mod check;
pub mod execute;
pub mod plan;
pub mod resolve;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::Value;

use crate::cli::{Global, UpdateArgs};
use crate::env::Env;
use crate::exit::{Exit, Failure};
use crate::journal::StepRecord;
use crate::oplock;
use crate::printer::{Printer, RED};
use crate::probe::Snapshot;
use crate::report::{Failed, OutageDoc, UpdateDoc, UpdatedGateway};
use crate::txn::Ended;

use execute::Executed;
use plan::{Mode, Plan};

/// The update's document, from the snapshot it started with.
fn new_report(snap: &Snapshot) -> UpdateDoc {
    UpdateDoc {
        from: snap.cli_version().cloned(),
        cli_version: snap.cli_version().cloned(),
        gateway_version: snap.gateway.version.clone(),
        supervisor: Some(snap.supervisor.kind),
        ..UpdateDoc::new("", Exit::Ok)
    }
}

/// The locks an update takes: the install's and every member profile's (the selected profile's
/// too when it exists: an update never creates a state dir just to lock it).
fn lock_dirs(snap: &Snapshot, plan: Option<&Plan>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if snap.layout.state_dir.is_dir() {
        dirs.push(snap.layout.clawkit_dir());
    }
    if let Some(prefix) = plan
        .map(|p| p.prefix.clone())
        .or_else(|| snap.install.as_ref().and_then(|i| i.prefix.clone()))
    {
        dirs.push(Plan::work_dir(&prefix));
    }
    if let Some(plan) = plan {
        dirs.extend(plan.members.iter().map(|m| m.layout.clawkit_dir()));
    }
    dirs
}

const CANCELLED: &str = "update cancelled; nothing was changed";

pub fn run(env: &Env, g: &Global, args: &UpdateArgs, p: &Printer) -> Result<Exit> {
    // The settings are part of the request: a bad config file or value is a usage error before
    // anything runs (a pending resume included).
    let settings = crate::settings::load(env, &args.setting_flags())?;
    if args.resume {
        return super::resume::run(env, g, p);
    }
    let target = super::target(g);
    if args.check {
        let snap = Snapshot::take(env, &target)?;
        return check::run(env, &snap, args, &settings, p);
    }
    let mut notified = None;
    let result = run_update(env, g, args, &settings, p, &mut notified);
    // The notifier hears of every update, rollback and refusal, also of a refusal in preflight;
    // not of a dry run, a usage error, a held lock or the user's own "no" at the prompt.
    let doc = match (&result, notified) {
        _ if args.dry_run => None,
        (_, Some(doc)) => Some(doc),
        (Err(e), None) => match e.downcast_ref::<Failure>() {
            Some(f) if matches!(f.exit, Exit::Usage | Exit::Locked) => None,
            Some(f) if f.message == CANCELLED => None,
            _ => serde_json::to_value(UpdateDoc::failed(&Failed::from_error(e))).ok(),
        },
        _ => None,
    };
    if let Some(doc) = doc {
        if let Some(problem) = settings.notify(env, &doc) {
            p.alert(format!("warning: {problem}"));
        }
    }
    result
}

fn run_update(
    env: &Env,
    g: &Global,
    args: &UpdateArgs,
    settings: &crate::settings::Settings,
    p: &Printer,
    notified: &mut Option<Value>,
) -> Result<Exit> {
    let started = Instant::now();
    let target = super::target(g);
    let mut snap = Snapshot::take(env, &target)?;
    // The dry run takes no lock and resumes nothing: it must leave the tree exactly as it was.
    let mut _locks = Vec::new();
    if !args.dry_run {
        _locks = oplock::acquire_all(&lock_dirs(&snap, None), "update")?;
        let prefix = snap.install.as_ref().and_then(|i| i.prefix.clone());
        if crate::txn::resume_pending(env, p, &snap.layout.state_dir, prefix.as_deref())?.is_some()
        {
            snap = Snapshot::take(env, &target)?;
        }
    }
    let mut report = new_report(&snap);
    let plan = plan::preflight(env, &snap, args, settings, target.prefix.as_deref(), p)?;
    if !args.dry_run {
        // Every member profile and the install itself, now that they are known.
        let more: Vec<PathBuf> = lock_dirs(&snap, Some(&plan))
            .into_iter()
            .filter(|d| {
                !_locks
                    .iter()
                    .any(|h: &oplock::OpLock| h.path == d.join("lock"))
            })
            .collect();
        _locks.extend(oplock::acquire_all(&more, "update")?);
    }
    report.to = Some(plan.to.clone());
    report.mode = Some(plan.mode);
    report.from = plan.from.clone();

    if let Some(r) = &plan.resolved {
        report.held = r.held.clone();
        report.published_at = r.published_at.clone();
    }
    if plan::already_current(&snap, &plan) {
        report.outcome = "already-current".into();
        report.duration_ms = Some(started.elapsed().as_millis() as u64);
        p.line(format!(
            "OpenClaw {} is installed and the gateway runs it: nothing to do.",
            plan.to
        ));
        if let Some(h) = &report.held {
            p.line(format!("  held back: {h}"));
        }
        if p.json {
            p.json(&report);
        }
        return Ok(Exit::Ok);
    }

    if !snap.interrupted.is_empty() {
        // Only a dry run gets here with a pending operation.
        report.plan = None;
        p.alert(format!(
            "note: {}",
            crate::record::describe(&snap.interrupted[0])
        ));
    }
    plan.print(p, env);
    if args.dry_run {
        report.outcome = "planned".into();
        report.plan = Some(plan.to_doc(env));
        report.duration_ms = Some(started.elapsed().as_millis() as u64);
        if p.json {
            p.json(&report);
        }
        return Ok(Exit::Ok);
    }
    if p.interactive && !args.yes && !p.json && !confirm(p, &plan)? {
        return Err(Failure::refused(CANCELLED).into());
    }

    report.journal = Some(plan.journal.clone());
    let executed = execute::execute(env, &plan, p)?;
    let (exit, outcome, error, fix) = match &executed {
        Executed::Refused { failure, .. } => (
            Exit::Refused,
            "refused".to_string(),
            Some(failure.message.clone()),
            failure.fix.clone(),
        ),
        Executed::Done { fin, .. } => match &fin.ended {
            Ended::Committed => (
                Exit::Ok,
                if plan.mode == Mode::RestartOnly {
                    "restarted"
                } else {
                    "updated"
                }
                .to_string(),
                None,
                None,
            ),
            Ended::Undone { error } => (
                Exit::RolledBack,
                "rolled-back".to_string(),
                Some(error.clone()),
                Some(format!(
                    "the gateway runs {} again; see `clawkit history show` for the failed step",
                    plan.from
                        .as_ref()
                        .map_or("the previous version".into(), |v| v.to_string())
                )),
            ),
            Ended::Failed { error, manual } => (
                Exit::Attention,
                "failed".to_string(),
                Some(error.clone()),
                Some(manual.clone()),
            ),
        },
    };
    match executed {
        Executed::Refused { rec, rehearsal, .. } => {
            report.steps = rec.steps;
            report.rehearsal = rehearsal;
        }
        Executed::Done {
            fin,
            findings,
            rehearsal,
        } => {
            report.rehearsal = rehearsal;
            report.outage = Some(outage_parts(&fin.rec.steps, fin.outage_ms));
            report.steps = fin.rec.steps.clone();
            report.downtime_ms = fin.outage_ms;
            report.backup = fin.record.changes.iter().find_map(|l| match &l.change {
                crate::txn::Change::Backup { dir, .. } => Some(dir.clone()),
                _ => None,
            });
            report.findings = findings;
        }
    }
    report.duration_ms = Some(started.elapsed().as_millis() as u64);
    report.gateways = plan
        .members
        .iter()
        .map(|m| {
            let now = crate::gateway::startupz(m.port, Duration::from_millis(800));
            UpdatedGateway {
                profile: m.profile_name().to_string(),
                state_dir: m.layout.state_dir.clone(),
                port: m.port,
                supervisor: m.supervisor.kind,
                version_before: m.gateway.version.clone(),
                version_now: now
                    .and_then(|(_, v)| v.get("version").and_then(Value::as_str).map(String::from)),
            }
        })
        .collect();
    report.outcome = outcome.clone();
    report.exit_code = exit.code();
    report.error = error.clone();
    report.fix = fix.clone();
    if exit == Exit::Refused {
        // A refusal after staging began is journalled too: which step refused, and why.
        refused_entry(&plan, &report, &snap);
    }
    match exit {
        Exit::Ok => {
            report.cli_version = Some(plan.to.clone());
            report.gateway_version = plan.starts_any().then(|| plan.to.clone());
        }
        Exit::RolledBack | Exit::Refused => {
            report.cli_version = plan.from.clone();
            report.gateway_version = snap.gateway.version.clone();
        }
        _ => {}
    }

    match exit {
        Exit::Ok => {
            let outage = report
                .downtime_ms
                .map(|ms| format!(", gateway outage {:.1}s", ms as f64 / 1000.0))
                .unwrap_or_default();
            if plan.mode == Mode::RestartOnly {
                p.line(format!(
                    "{} the gateway on OpenClaw {} (the CLI already was){outage}",
                    p.paint(crate::printer::GREEN, "restarted"),
                    plan.to
                ));
            } else {
                p.line(format!(
                    "{} OpenClaw {} → {}{outage}",
                    p.paint(crate::printer::GREEN, "updated"),
                    plan.from
                        .as_ref()
                        .map_or("(none)".into(), |v| v.to_string()),
                    plan.to
                ));
            }
            if !plan.starts_any() {
                p.line("  no gateway was running, so none was started (use --start to start one)");
            }
        }
        _ => {
            p.alert(format!(
                "{} {}",
                p.paint(RED, format!("{outcome}:")),
                error.as_deref().unwrap_or("")
            ));
            if let Some(fix) = &fix {
                p.alert(format!("  next: {fix}"));
            }
        }
    }
    if p.json {
        p.json(&report);
    }
    *notified = serde_json::to_value(&report).ok();
    Ok(exit)
}

/// The outage decomposed from the step records: stop, migration, start to healthy.
fn outage_parts(steps: &[StepRecord], total: Option<u64>) -> OutageDoc {
    let sum = |pred: &dyn Fn(&str) -> bool| -> u64 {
        steps
            .iter()
            .filter(|s| pred(&s.name))
            .map(|s| s.duration_ms)
            .sum()
    };
    OutageDoc {
        total_ms: total,
        stop_ms: sum(&|n| n.starts_with("stop ")),
        backup_ms: sum(&|n| n.starts_with("back up ")),
        swap_ms: sum(&|n| n == "swap packages" || n.starts_with("install ")),
        migrate_ms: sum(&|n| n.starts_with("migrate ")),
        start_to_healthy_ms: sum(&|n| n.starts_with("start ") || n == "health gate"),
    }
}

/// Journals an update refused after staging began (the rehearsal, a concurrent npm, …).
fn refused_entry(plan: &Plan, report: &UpdateDoc, snap: &Snapshot) {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let entry = crate::journal::Entry {
        schema: 1,
        id: plan.id.clone(),
        command: "update".into(),
        started_at: now.clone(),
        finished_at: Some(now),
        from: plan.from.clone(),
        to: Some(plan.to.clone()),
        outcome: "refused".into(),
        phase: None,
        downtime_ms: None,
        duration_ms: report.duration_ms,
        steps: report.steps.clone(),
        backup: None,
        previous_package: None,
        error: report.error.clone(),
    };
    let mut journals: Vec<PathBuf> = plan
        .members
        .iter()
        .filter(|m| m.layout.state_dir.is_dir())
        .map(|m| crate::journal::path(&m.layout))
        .collect();
    if journals.is_empty() && snap.layout.state_dir.is_dir() {
        journals.push(crate::journal::path(&snap.layout));
    }
    for j in journals {
        let _ = crate::journal::append(&j, &entry);
    }
}

fn confirm(p: &Printer, plan: &Plan) -> Result<bool> {
    let outage = if plan.outage_expected() {
        "the gateway will be down for the stop, migration and start (typically 10-30 s)"
    } else {
        "no gateway is running"
    };
    p.line(format!(
        "Update OpenClaw {} → {}? {outage}. [y/N] ",
        plan.from
            .as_ref()
            .map_or("(none)".into(), |v| v.to_string()),
        plan.to
    ));
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES"))
}
