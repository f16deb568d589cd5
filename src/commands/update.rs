//! `clawkit update`: preflight → stage → stop → back up → swap → migrate → start → health gate
//! → verify → journal, with one rollback path for any failure after the stop.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};
use serde::Serialize;
use serde_json::{json, Value};

use crate::backup::{self, Backup};
use crate::cli::{Global, UpdateArgs};
use crate::env::Env;
use crate::exit::{Exit, Failure};
use crate::install::{Install, PackageJson, PACKAGE};
use crate::journal::{self, Entry};
use crate::node::{self, Node};
use crate::npm::{self, Npm, Target};
use crate::openclaw::OpenClaw;
use crate::oplock::OpLock;
use crate::printer::{Printer, BOLD, RED};
use crate::probe::Snapshot;
use crate::signals::Interrupt;
use crate::steps::{self, Member, Recorder};
use crate::supervisor::Kind;
use crate::version::Version;

/// Free space a staged copy needs (a 9.x package is ~545 MB).
const STAGE_BYTES: u64 = 700 * 1024 * 1024;
const NPM_DEADLINE: Duration = Duration::from_secs(15 * 60);
const MIGRATE_DEADLINE: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Install into a staging prefix while the gateway serves, then swap directories.
    Staged,
    /// Stop, `npm install` into the real prefix, start.
    InPlace,
    /// The CLI is already on the target but the gateway is not: restart (and migrate) only.
    RestartOnly,
}

/// The validated, immutable plan: what `--dry-run` prints and what the steps execute.
#[derive(Debug, Clone)]
pub struct Plan {
    pub id: String,
    pub mode: Mode,
    pub from: Option<Version>,
    pub to: Version,
    /// What npm installs: `openclaw@<exact>` or an absolute tarball path.
    pub spec: String,
    pub prefix: PathBuf,
    pub root: PathBuf,
    pub staging: PathBuf,
    pub aside: PathBuf,
    pub node: Node,
    pub npm: Npm,
    pub members: Vec<Member>,
    pub migrate: Result<(), String>,
    pub timeout: Duration,
    pub keep: usize,
    pub leftovers: Vec<PathBuf>,
    pub notes: Vec<String>,
}

impl Plan {
    fn new_cli(&self) -> OpenClaw {
        OpenClaw::new(&self.node.path, &self.root)
    }

    fn work_dir(prefix: &Path) -> PathBuf {
        prefix.join("lib").join("clawkit")
    }

    /// Does any gateway run (or get started) after the update?
    fn starts_any(&self) -> bool {
        self.members.iter().any(|m| m.restart)
    }

    fn outage_expected(&self) -> bool {
        self.members.iter().any(|m| m.was_running)
    }

    /// The steps with the exact commands they would run.
    fn describe(&self) -> Vec<(String, String)> {
        let mut v = Vec::new();
        let npm_install =
            |prefix: &Path| self.npm.install(prefix, &self.spec, NPM_DEADLINE).display();
        match self.mode {
            Mode::Staged => v.push(("stage".into(), npm_install(&self.staging))),
            Mode::InPlace | Mode::RestartOnly => {}
        }
        for m in self.members.iter().filter(|m| m.was_running) {
            let how = match m.supervisor.kind {
                Kind::Systemd => format!(
                    "systemctl --user stop {}",
                    m.supervisor.name.as_deref().unwrap_or("")
                ),
                Kind::Launchd => format!(
                    "launchctl bootout gui/{}/{}",
                    nix::unistd::getuid(),
                    m.supervisor.name.as_deref().unwrap_or("")
                ),
                _ => format!(
                    "SIGTERM pid {}",
                    m.supervisor
                        .main_pid
                        .or(m.gateway.pid)
                        .map_or("?".into(), |p| p.to_string())
                ),
            };
            v.push((
                format!("stop {}", m.label()),
                format!("{how}; wait for pid gone and port {} free", m.port),
            ));
        }
        for m in &self.members {
            v.push((
                "back up".into(),
                format!(
                    "{} → {}",
                    m.layout.state_dir.display(),
                    backup::backups_dir(&m.layout).join(&self.id).display()
                ),
            ));
        }
        match self.mode {
            Mode::Staged => v.push((
                "swap".into(),
                format!(
                    "mv {} {}; mv {} {}",
                    self.root.display(),
                    self.aside.display(),
                    self.staging.join("lib/node_modules/openclaw").display(),
                    self.root.display()
                ),
            )),
            Mode::InPlace => v.push(("install".into(), npm_install(&self.prefix))),
            Mode::RestartOnly => {}
        }
        match &self.migrate {
            Ok(()) => {
                for m in &self.members {
                    v.push((
                        "migrate".into(),
                        self.new_cli()
                            .doctor_fix(&m.layout, MIGRATE_DEADLINE)
                            .display(),
                    ));
                }
            }
            Err(why) => v.push(("migrate".into(), format!("skipped: {why}"))),
        }
        {
            for m in self.members.iter().filter(|m| m.restart) {
                let how = match m.supervisor.kind {
                    Kind::Systemd => format!(
                        "systemctl --user start {}",
                        m.supervisor.name.as_deref().unwrap_or("")
                    ),
                    Kind::Launchd => format!(
                        "launchctl bootstrap gui/{} {}",
                        nix::unistd::getuid(),
                        m.supervisor
                            .file
                            .as_ref()
                            .map_or("?".into(), |f| f.display().to_string())
                    ),
                    _ => format!(
                        "relaunch `{}` detached{} (its cwd and environment kept), log {}",
                        m.supervisor.command.join(" "),
                        if m.supervisor
                            .relaunch
                            .as_ref()
                            .is_some_and(|r| r.reconstructed)
                        {
                            " (rebuilt: the process had retitled itself)"
                        } else {
                            ""
                        },
                        crate::supervisor::unmanaged::relaunch_log(
                            m.supervisor.relaunch.as_ref(),
                            &m.layout
                        )
                        .display()
                    ),
                };
                v.push((format!("start {}", m.label()), how));
                v.push((
                    "health gate".into(),
                    format!(
                        "GET http://127.0.0.1:{}/startupz until status started (≤ {}s)",
                        m.port,
                        self.timeout.as_secs()
                    ),
                ));
            }
        }
        v.push((
            "verify".into(),
            format!("openclaw --version == gateway version == {}", self.to),
        ));
        v
    }

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "mode": self.mode,
            "from": self.from,
            "to": self.to,
            "spec": self.spec,
            "prefix": self.prefix,
            "node": self.node,
            "gateways": self.members.iter().map(|m| json!({
                "profile": m.layout.profile.name().unwrap_or("default"),
                "state_dir": m.layout.state_dir,
                "port": m.port,
                "supervisor": m.supervisor.kind,
                "running": m.was_running,
                "version": m.gateway.version,
            })).collect::<Vec<_>>(),
            "start_after": self.starts_any(),
            "migrate": self.migrate.is_ok(),
            "notes": self.notes,
            "steps": self.describe().into_iter().map(|(s, c)| json!({"step": s, "command": c})).collect::<Vec<_>>(),
        })
    }
}

/// What the update reports (`--json`) and journals.
#[derive(Debug, Serialize)]
struct Report {
    schema: u32,
    command: &'static str,
    outcome: String,
    from: Option<Version>,
    to: Option<Version>,
    cli_version: Option<Version>,
    gateway_version: Option<Version>,
    supervisor: Option<Kind>,
    downtime_ms: Option<u64>,
    duration_ms: u64,
    steps: Vec<crate::journal::StepRecord>,
    backup: Option<PathBuf>,
    journal: Option<PathBuf>,
    error: Option<String>,
    fix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    findings: Vec<Value>,
    /// Every gateway the update stopped and started (all profiles of the install).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    gateways: Vec<Value>,
}

pub fn run(env: &Env, g: &Global, args: &UpdateArgs, p: &Printer) -> Result<Exit> {
    let started = Instant::now();
    let target = super::target(g)?;
    let interrupt = Interrupt::install();
    let snap = Snapshot::take(env, &target)?;
    // The dry run takes no lock: it must leave the tree exactly as it was.
    let _lock = if args.dry_run {
        None
    } else {
        Some(OpLock::acquire(&snap.layout.clawkit_dir(), "update")?)
    };
    // An update killed in its outage window left a record: bring its gateways back first.
    let snap = match crate::inflight::interrupted(&snap.layout) {
        Some(rec) if !args.dry_run => {
            p.alert(format!(
                "an earlier update ({}) was interrupted: bringing the gateway back on {} first",
                rec.id,
                rec.from.as_deref().unwrap_or("the previous version")
            ));
            let exit = resume(env, &snap.layout, rec, p)?;
            if args.resume || exit != Exit::RolledBack {
                return Ok(exit);
            }
            Snapshot::take(env, &target)?
        }
        Some(rec) => {
            p.alert(format!(
                "an earlier update ({}) was interrupted; `clawkit update --resume` finishes it",
                rec.id
            ));
            snap
        }
        None if args.resume => {
            p.line("no interrupted update to resume");
            return Ok(Exit::Ok);
        }
        None => snap,
    };
    let plan = preflight(env, &snap, args, p)?;

    let mut report = Report {
        schema: 1,
        command: "update",
        outcome: String::new(),
        from: plan.from.clone(),
        to: Some(plan.to.clone()),
        cli_version: plan.from.clone(),
        gateway_version: snap.gateway.version.clone(),
        supervisor: Some(snap.supervisor.kind),
        downtime_ms: None,
        duration_ms: 0,
        steps: Vec::new(),
        backup: None,
        journal: None,
        error: None,
        fix: None,
        plan: None,
        findings: Vec::new(),
        gateways: Vec::new(),
    };

    if already_current(&snap, &plan) {
        report.outcome = "already-current".into();
        report.duration_ms = started.elapsed().as_millis() as u64;
        p.line(format!(
            "OpenClaw {} is installed and the gateway runs it: nothing to do.",
            plan.to
        ));
        if p.json {
            p.json(&report);
        }
        return Ok(Exit::Ok);
    }

    if args.dry_run {
        print_plan(p, &plan);
        report.outcome = "planned".into();
        report.plan = Some(plan.to_json());
        report.duration_ms = started.elapsed().as_millis() as u64;
        if p.json {
            p.json(&report);
        }
        return Ok(Exit::Ok);
    }

    print_plan(p, &plan);
    if p.interactive && !args.yes && !p.json && !confirm(p, &plan)? {
        return Err(Failure::refused("update cancelled; nothing was changed").into());
    }

    let journal_path = journal::path(&snap.layout);
    report.journal = Some(journal_path.clone());
    let mut exec = Execution {
        env,
        plan: &plan,
        rec: Recorder::new(p),
        interrupt,
        journal: journal_path,
        inflight: crate::inflight::path(&snap.layout),
        started_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        t0: started,
        backups: Vec::new(),
        swapped: false,
        outage_start: None,
        outage_ms: None,
    };
    let outcome = exec.execute();
    if !matches!(outcome, Outcome::Failed { .. }) {
        let _ = std::fs::remove_file(&exec.inflight);
    }
    report.steps = exec.rec.steps.clone();
    report.downtime_ms = exec.outage_ms;
    report.backup = exec.backups.first().map(|b| b.dir.clone());
    report.duration_ms = started.elapsed().as_millis() as u64;
    let (exit, outcome_name, error, fix, findings) = match outcome {
        Outcome::Updated { findings } => (Exit::Ok, "updated", None, None, findings),
        Outcome::Refused(f) => (
            Exit::Refused,
            "refused",
            Some(f.message.clone()),
            f.fix.clone(),
            vec![],
        ),
        Outcome::RolledBack(e) => (
            Exit::RolledBack,
            "rolled-back",
            Some(e),
            Some(format!(
                "the gateway runs {} again; see the journal for the failed step",
                plan.from
                    .as_ref()
                    .map_or("the previous version".into(), |v| v.to_string())
            )),
            vec![],
        ),
        Outcome::Failed { error, manual } => {
            (Exit::Attention, "failed", Some(error), Some(manual), vec![])
        }
    };
    report.gateways = plan
        .members
        .iter()
        .map(|m| {
            let now = crate::gateway::startupz(m.port, Duration::from_millis(800));
            json!({
                "profile": m.layout.profile.name().unwrap_or("default"),
                "state_dir": m.layout.state_dir,
                "port": m.port,
                "supervisor": m.supervisor.kind,
                "version_before": m.gateway.version,
                "version_now": now.and_then(|(_, v)| v.get("version").cloned()),
            })
        })
        .collect();
    report.outcome = outcome_name.into();
    report.error = error.clone();
    report.fix = fix.clone();
    report.findings = findings;
    if exit == Exit::Ok {
        report.cli_version = Some(plan.to.clone());
        report.gateway_version = plan
            .members
            .iter()
            .any(|m| m.restart)
            .then(|| plan.to.clone());
    } else if exit == Exit::RolledBack {
        report.cli_version = plan.from.clone();
        report.gateway_version = plan.from.clone();
    }
    exec.write_journal(outcome_name, None, error.clone());

    match exit {
        Exit::Ok => {
            let outage = report
                .downtime_ms
                .map(|ms| format!(", gateway outage {:.1}s", ms as f64 / 1000.0))
                .unwrap_or_default();
            p.line(format!(
                "{} OpenClaw {} → {}{outage}",
                p.paint(crate::printer::GREEN, "updated"),
                plan.from
                    .as_ref()
                    .map_or("(none)".into(), |v| v.to_string()),
                plan.to
            ));
            if !plan.starts_any() {
                p.line("  no gateway was running, so none was started (use --start to start one)");
            }
        }
        _ => {
            p.alert(format!(
                "{} {}",
                p.paint(RED, format!("{outcome_name}:")),
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
    Ok(exit)
}

fn already_current(snap: &Snapshot, plan: &Plan) -> bool {
    plan.from.as_ref() == Some(&plan.to)
        && plan.mode == Mode::RestartOnly
        && plan.members.iter().all(|m| {
            if m.was_running {
                m.gateway.version.as_ref() == Some(&plan.to) && !snap.install_changed
            } else {
                !m.restart
            }
        })
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

fn print_plan(p: &Printer, plan: &Plan) {
    p.line(format!(
        "{} OpenClaw {} → {} ({})",
        p.paint(BOLD, "plan:"),
        plan.from
            .as_ref()
            .map_or("(not installed)".into(), |v| v.to_string()),
        plan.to,
        match plan.mode {
            Mode::Staged => "staged",
            Mode::InPlace => "in place",
            Mode::RestartOnly => "restart only: the CLI is already on the target",
        }
    ));
    for (i, (step, cmd)) in plan.describe().iter().enumerate() {
        p.line(format!("  {}. {step}: {cmd}", i + 1));
    }
    for n in &plan.notes {
        p.line(format!("  note: {n}"));
    }
}

// ---------------------------------------------------------------------------------------------
// Preflight: everything read-only, every refusal before any change.

fn refuse(msg: impl Into<String>, fix: impl Into<String>) -> anyhow::Error {
    Failure::refused(msg).with_fix(fix).into()
}

fn preflight(env: &Env, snap: &Snapshot, args: &UpdateArgs, p: &Printer) -> Result<Plan> {
    let installed = snap.install.as_ref().filter(|i| i.usable());
    if snap.install.is_none() && snap.installs.iter().any(|i| i.error.is_some()) {
        let e = snap
            .installs
            .iter()
            .find_map(|i| i.error.clone())
            .unwrap_or_default();
        return Err(refuse(
            format!("the OpenClaw install is broken: {e}"),
            "fix or remove it, or pass --prefix DIR",
        ));
    }
    let node = pick_node(env, snap)?;
    let npm_bin = crate::supervisor::tool(env, "npm").ok_or_else(|| {
        refuse(
            "npm is not on PATH",
            "install Node.js with npm, or add it to PATH",
        )
    })?;
    let npm = Npm::new(
        npm_bin,
        node.path.parent().map(Path::to_path_buf),
        args.registry.clone(),
    );
    if let Some(r) = &args.registry {
        if !(r.starts_with("https://") || r.starts_with("http://"))
            || r.chars().any(char::is_whitespace)
        {
            return Err(Failure::usage(format!("--registry {r:?} is not an http(s) URL")).into());
        }
    }

    let prefix = match (installed.and_then(|i| i.prefix.clone()), &snap.install) {
        (Some(p), _) => p,
        (
            None,
            Some(Install {
                prefix: Some(p), ..
            }),
        ) => p.clone(),
        (None, Some(i)) if i.package_root.is_some() => {
            return Err(refuse(
                format!(
                "{} is not an npm global install (no <prefix>/lib/node_modules/openclaw layout)",
                i.bin.display()
            ),
                "pass --prefix DIR for the npm prefix to manage",
            ))
        }
        _ => npm_global_prefix(&npm)?,
    };
    let root = prefix.join("lib/node_modules").join(PACKAGE);
    let from = installed.and_then(|i| i.version.clone());

    // Resolve the target to an exact version and read its requirements.
    let (to, spec, engines, schemas) = match &args.package {
        Some(pkg) => resolve_tarball(pkg)?,
        None => {
            let target = Target::parse(&args.to)?;
            let step = p.step(&format!("resolve {}", target.spec()));
            let v = npm.view(&target.spec(), Duration::from_secs(60));
            let v = match v {
                Ok(v) => {
                    step.finish("ok", "");
                    v
                }
                Err(e) => {
                    step.finish("fail", "");
                    let msg = format!("{e:#}");
                    let fix = if msg.contains("does not exist") {
                        "list the released versions with: npm view openclaw versions --json"
                            .to_string()
                    } else {
                        "check the network or --registry, then retry".to_string()
                    };
                    return Err(refuse(
                        format!("cannot resolve {}: {msg}", target.spec()),
                        fix,
                    ));
                }
            };
            let version: Version = v
                .get("version")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| {
                    refuse(
                        format!("the registry returned no version for {}", target.spec()),
                        "retry, or pass an exact --to VERSION",
                    )
                })?;
            let spec = format!("{PACKAGE}@{version}");
            (
                version,
                spec,
                v.pointer("/engines/node")
                    .and_then(Value::as_str)
                    .map(String::from),
                v.pointer("/openclaw/schemaVersions").cloned(),
            )
        }
    };

    let mut notes = Vec::new();
    // Downgrades and configs written by newer releases.
    if let Some(f) = &from {
        if &to < f && !args.allow_downgrade {
            return Err(refuse(
                format!("{to} is older than the installed {f}"),
                "pass --allow-downgrade to install it anyway (state is backed up first)",
            ));
        }
    }
    if let Some(written) = &snap.config.last_touched_version {
        if written > &to && !args.allow_downgrade {
            return Err(refuse(
                format!("the config was last written by OpenClaw {written}, newer than {to}: the older binary would refuse to start"),
                "pick a version >= that one, or use `clawkit rollback` to restore the matching backup",
            ));
        }
    }
    // The node that will run the gateway must satisfy the target.
    if let (Some(range), Some(nv)) = (&engines, &node.version) {
        if node::satisfies(range, nv) == Some(false) {
            return Err(refuse(
                format!("OpenClaw {to} needs Node {range}, but the gateway runs on node {nv} ({})", node.path.display()),
                format!("install a Node that satisfies {range} (e.g. `npm install node@24` or your version manager) and run the gateway with it"),
            ));
        }
    }

    // Which gateways run from this install, and how they come back.
    let mut members = steps::members(env, snap, true, args.start, !args.no_start, &mut notes)?;
    for m in &mut members {
        m.stop_deadline = Duration::from_secs(args.stop_timeout);
    }
    let mode = if from.as_ref() == Some(&to) {
        Mode::RestartOnly
    } else if args.in_place {
        Mode::InPlace
    } else {
        Mode::Staged
    };

    // Disk and permissions.
    let work = Plan::work_dir(&prefix);
    let check_dir = if prefix.exists() {
        prefix.clone()
    } else {
        prefix
            .ancestors()
            .find(|a| a.exists())
            .unwrap_or(Path::new("/"))
            .to_path_buf()
    };
    if mode != Mode::RestartOnly {
        if nix::unistd::access(&check_dir, nix::unistd::AccessFlags::W_OK).is_err()
            || (root.exists()
                && nix::unistd::access(
                    root.parent().unwrap_or(&root),
                    nix::unistd::AccessFlags::W_OK,
                )
                .is_err())
        {
            return Err(refuse(
                format!("the npm prefix {} is not writable by this user", prefix.display()),
                "run as the user that owns it, or use a prefix you own (npm config set prefix ~/.npm-global)",
            ));
        }
        if let Ok(free) = fs4::available_space(&check_dir) {
            if free < STAGE_BYTES {
                return Err(refuse(
                    format!(
                        "only {} MB free on {}; a staged OpenClaw needs about {} MB",
                        free / 1_048_576,
                        check_dir.display(),
                        STAGE_BYTES / 1_048_576
                    ),
                    "free disk space, then retry",
                ));
            }
        }
    }

    // Migration: needed when the schema versions differ (or are unknown), possible when the
    // target's doctor has --fix --non-interactive (checked on the staged copy).
    let old_schemas = installed.and_then(|i| i.schema_versions.clone());
    let migrate = match (&old_schemas, &schemas) {
        _ if mode == Mode::RestartOnly && !snap.install_changed && installed.is_some() => {
            Err("the installed release is unchanged".to_string())
        }
        (Some(a), Some(b)) if a == b && mode != Mode::RestartOnly => {
            Err(format!("schema versions unchanged ({b})"))
        }
        _ => Ok(()),
    };
    if from.is_none() {
        notes.push(
            "OpenClaw is not installed: this installs it; there is no gateway to verify".into(),
        );
    }
    let leftovers = npm_leftovers(&prefix);
    if !leftovers.is_empty() {
        notes.push(format!(
            "{} leftover npm director{} (lib/node_modules/.openclaw-*) will be removed",
            leftovers.len(),
            if leftovers.len() == 1 { "y" } else { "ies" }
        ));
    }
    let id = format!(
        "{}-{}-to-{}",
        backup::stamp(SystemTime::now()),
        from.as_ref().map_or("none".into(), |v| v.to_string()),
        to
    );
    Ok(Plan {
        staging: work.join(format!("staging-{id}")),
        aside: work.join("previous").join(&id),
        id,
        mode,
        from,
        to,
        spec,
        prefix,
        root,
        node,
        npm,
        members,
        migrate,
        timeout: Duration::from_secs(args.timeout),
        keep: args.keep,
        leftovers,
        notes,
    })
}

/// The node that runs (or will run) the gateway: the service's, the launcher's, else PATH's.
fn pick_node(env: &Env, snap: &Snapshot) -> Result<Node> {
    let from_service = snap
        .supervisor
        .node
        .as_ref()
        .filter(|n| n.is_absolute() && n.exists())
        .map(|n| Node::at(n));
    from_service
        .or_else(|| snap.node.clone())
        .or_else(|| Node::on_path(env))
        .ok_or_else(|| {
            refuse(
                "node is not on PATH",
                "install Node.js 24 (OpenClaw needs it) and add it to PATH",
            )
        })
}

fn npm_global_prefix(npm: &Npm) -> Result<PathBuf> {
    let out = crate::exec::Cmd::new(&npm.bin)
        .args(["prefix", "--global"])
        .timeout(Duration::from_secs(30))
        .run_ok()
        .context("cannot ask npm for its global prefix")?;
    Ok(PathBuf::from(out.stdout.trim()))
}

/// `--package ./openclaw-X.tgz`: read version, engines and schemas from the tarball.
fn resolve_tarball(pkg: &str) -> Result<(Version, String, Option<String>, Option<Value>)> {
    let path = std::path::absolute(Path::new(pkg)).unwrap_or_else(|_| PathBuf::from(pkg));
    if !path.is_file() {
        return Err(refuse(
            format!("--package {pkg:?} is not a file"),
            "pass the path of an npm tarball (npm pack openclaw@VERSION)",
        ));
    }
    let out = crate::exec::Cmd::new("tar")
        .arg("-xzOf")
        .arg(&path)
        .arg("package/package.json")
        .timeout(Duration::from_secs(60))
        .run()?;
    if !out.success() {
        return Err(refuse(
            format!("{} is not an npm package tarball", path.display()),
            "create one with `npm pack openclaw@VERSION`",
        ));
    }
    let v: Value = serde_json::from_str(&out.stdout).map_err(|_| {
        refuse(
            "the tarball's package.json is not JSON",
            "repack it with npm pack",
        )
    })?;
    if v.get("name").and_then(Value::as_str) != Some(PACKAGE) {
        return Err(refuse(
            format!("{} is not the openclaw package", path.display()),
            "pass an openclaw tarball",
        ));
    }
    let version: Version = v
        .get("version")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            refuse(
                "the tarball has no OpenClaw version",
                "repack it with npm pack",
            )
        })?;
    Ok((
        version,
        path.to_string_lossy().into_owned(),
        v.pointer("/engines/node")
            .and_then(Value::as_str)
            .map(String::from),
        v.pointer("/openclaw/schemaVersions").cloned(),
    ))
}

/// `lib/node_modules/.openclaw-*` directories a crashed npm left behind.
fn npm_leftovers(prefix: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(prefix.join("lib/node_modules"))
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(".openclaw-"))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// Is an npm process working on `prefix`'s global packages? Only such a process can own a
/// `.openclaw-*` directory there: a global npm without `--prefix` (it may use this one) or one
/// whose `--prefix` lies inside it. Other npm runs on the machine do not count.
fn npm_running(prefix: &Path) -> bool {
    crate::proc::all_pids().into_iter().any(|pid| {
        pid != std::process::id()
            && crate::proc::info(pid).is_some_and(|i| npm_touches(&i.cmdline, prefix))
    })
}

fn npm_touches(cmdline: &[String], prefix: &Path) -> bool {
    let Some(start) = cmdline
        .iter()
        .take(2)
        .position(|a| a.ends_with("npm-cli.js") || a.ends_with("/npm") || a == "npm")
    else {
        return false;
    };
    let args = &cmdline[start + 1..];
    let global = args
        .iter()
        .any(|a| matches!(a.as_str(), "-g" | "--global" | "--location=global"));
    let npm_prefix = args
        .iter()
        .position(|a| a == "--prefix")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| {
            args.iter()
                .find_map(|a| a.strip_prefix("--prefix=").map(String::from))
        });
    match npm_prefix {
        Some(p) => Path::new(&p).starts_with(prefix),
        None => global,
    }
}

// ---------------------------------------------------------------------------------------------
// Execution.

enum Outcome {
    Updated { findings: Vec<Value> },
    Refused(Failure),
    RolledBack(String),
    Failed { error: String, manual: String },
}

struct Execution<'a> {
    env: &'a Env,
    plan: &'a Plan,
    rec: Recorder<'a>,
    interrupt: Interrupt,
    journal: PathBuf,
    inflight: PathBuf,
    started_at: String,
    t0: Instant,
    backups: Vec<Backup>,
    swapped: bool,
    outage_start: Option<Instant>,
    outage_ms: Option<u64>,
}

impl Execution<'_> {
    fn write_journal(&self, outcome: &str, phase: Option<&str>, error: Option<String>) {
        let entry = Entry {
            schema: 1,
            id: self.plan.id.clone(),
            command: "update".into(),
            started_at: self.started_at.clone(),
            finished_at: phase
                .is_none()
                .then(|| humantime::format_rfc3339_seconds(SystemTime::now()).to_string()),
            from: self.plan.from.as_ref().map(|v| v.to_string()),
            to: Some(self.plan.to.to_string()),
            outcome: outcome.into(),
            phase: phase.map(String::from),
            downtime_ms: self.outage_ms,
            duration_ms: phase
                .is_none()
                .then(|| self.t0.elapsed().as_millis() as u64),
            steps: self.rec.steps.clone(),
            backup: self.backups.first().map(|b| b.dir.clone()),
            previous_package: (self.plan.mode == Mode::Staged && self.plan.from.is_some())
                .then(|| self.plan.aside.clone()),
            error,
        };
        if let Err(e) = journal::append(&self.journal, &entry) {
            self.rec.printer.alert(format!("warning: {e:#}"));
        }
    }

    fn interrupted_in_outage(&self) {
        if self.interrupt.fired() {
            self.rec.printer.alert(
                "interrupt received: finishing so the gateway is not left stopped. Press Ctrl-C again to abort now \
                 (the gateway may then stay stopped; the journal and backup say how to recover).",
            );
        }
    }

    fn execute(&mut self) -> Outcome {
        let plan = self.plan;
        // 1. Stage while the old gateway keeps serving.
        if !plan.leftovers.is_empty() {
            if npm_running(&plan.prefix) {
                return Outcome::Refused(
                    Failure::refused("stale npm directories exist and an npm process is running")
                        .with_fix("wait for npm to finish, then retry"),
                );
            }
            let leftovers = plan.leftovers.clone();
            if let Err(e) = self.rec.run("clean npm leftovers", |_| {
                for l in &leftovers {
                    steps::remove_tree(l)?;
                }
                Ok(((), format!("{} removed", leftovers.len())))
            }) {
                return Outcome::Refused(Failure::refused(format!("{e:#}")));
            }
        }
        if plan.mode == Mode::Staged {
            if let Err(f) = self.stage() {
                let _ = steps::remove_tree(&plan.staging);
                return Outcome::Refused(f);
            }
        }
        if self.interrupt.fired() {
            let _ = steps::remove_tree(&plan.staging);
            return Outcome::Refused(Failure::refused(
                "interrupted before the gateway was stopped; nothing was changed",
            ));
        }

        // 2. The outage window: from here on every failure rolls back.
        self.write_journal("in-progress", Some("stopping"), None);
        let record = crate::inflight::InFlight {
            schema: 1,
            id: plan.id.clone(),
            pid: std::process::id(),
            from: plan.from.as_ref().map(|v| v.to_string()),
            to: plan.to.to_string(),
            in_place: plan.mode == Mode::InPlace,
            prefix: plan.prefix.clone(),
            root: plan.root.clone(),
            aside: plan.aside.clone(),
            node: plan.node.path.clone(),
            members: plan
                .members
                .iter()
                .map(crate::inflight::SavedMember::from_member)
                .collect(),
        };
        if let Err(e) = record.write(&self.inflight) {
            return Outcome::Refused(
                Failure::refused(format!("{e:#}")).with_fix("check that the state dir is writable"),
            );
        }
        self.outage_start = Some(Instant::now());
        if let Err(e) = steps::stop_members(self.env, &mut self.rec, &plan.members, "") {
            // A gateway may still be running: nothing was swapped yet, bring back any that stopped.
            let back = steps::restart_if_down(self.env, &mut self.rec, &plan.members, plan.timeout);
            return match back {
                Ok(()) => Outcome::Refused(
                    Failure::refused(format!("could not stop the gateway: {e:#}")).with_fix(
                        "find what keeps it alive (a supervisor that restarts it?) and retry",
                    ),
                ),
                Err(e2) => Outcome::Failed {
                    error: format!(
                        "could not stop the gateway ({e:#}), and could not bring it back: {e2:#}"
                    ),
                    manual: self.manual_steps(),
                },
            };
        }
        self.interrupted_in_outage();

        match self.forward() {
            Ok(findings) => {
                self.commit();
                Outcome::Updated { findings }
            }
            Err(e) => {
                let error = format!("{e:#}");
                self.rec.printer.alert(format!(
                    "{} {}",
                    self.rec.printer.paint(RED, "update failed:"),
                    error.lines().next().unwrap_or("")
                ));
                self.write_journal("rolling-back", Some("rollback"), Some(error.clone()));
                let back = self.rollback();
                self.interrupted_in_outage();
                match back {
                    Ok(()) => Outcome::RolledBack(error),
                    Err(e2) => Outcome::Failed {
                        error: format!("{error}; the rollback failed too: {e2:#}"),
                        manual: self.manual_steps(),
                    },
                }
            }
        }
    }

    fn stage(&mut self) -> Result<(), Failure> {
        let plan = self.plan;
        let _ = steps::remove_tree(&plan.staging);
        let cmd = plan
            .npm
            .install(&plan.staging, &plan.spec, NPM_DEADLINE)
            .cancel_on(self.interrupt.flag());
        let r = self
            .rec
            .run(&format!("stage {} (npm install)", plan.to), |_| {
                let out = cmd.run()?;
                if !out.success() {
                    bail!(npm::explain(&out));
                }
                Ok(((), String::new()))
            });
        if let Err(e) = r {
            let msg = format!("{e:#}");
            let interrupted = self.interrupt.fired();
            return Err(if interrupted {
                Failure::refused("interrupted while staging; nothing was changed")
            } else {
                Failure::refused(format!(
                    "staging failed, the gateway was not touched: {msg}"
                ))
                .with_fix(if msg.contains("does not exist") {
                    "check the version with: npm view openclaw versions --json"
                } else {
                    "fix the cause above and retry"
                })
            });
        }
        let staged_root = plan.staging.join("lib/node_modules").join(PACKAGE);
        let cli = OpenClaw::new(&plan.node.path, &staged_root);
        let to = plan.to.clone();
        self.rec
            .run("check the staged package", |_| {
                let pj = PackageJson::read(&staged_root.join("package.json"))
                    .map_err(anyhow::Error::msg)?;
                if pj.version.as_ref() != Some(&to) {
                    bail!(
                        "the staged package.json says {}, not {to}",
                        pj.version.map_or("no version".into(), |v| v.to_string())
                    );
                }
                let reported = cli.version()?;
                if reported != to {
                    bail!("the staged `openclaw --version` says {reported}, not {to}");
                }
                Ok(((), format!("openclaw --version = {reported}")))
            })
            .map_err(|e| {
                Failure::refused(format!("the staged package is not {}: {e:#}", plan.to))
                    .with_fix("retry; if it persists, the registry served an unexpected package")
            })
    }

    /// Backup → swap → migrate → start → health gate → verify. Any error: the caller rolls back.
    fn forward(&mut self) -> Result<Vec<Value>> {
        let plan = self.plan;
        self.backups = steps::backup_members(
            &mut self.rec,
            &plan.members,
            &plan.id,
            "update",
            plan.from.as_ref().map(|v| v.to_string()),
            Some(plan.to.to_string()),
        )?;
        self.write_journal("in-progress", Some("swapping"), None);
        match plan.mode {
            Mode::Staged => {
                let staged_root = plan.staging.join("lib/node_modules").join(PACKAGE);
                let had_old = plan.root.exists();
                self.rec.run("swap packages", |_| {
                    if had_old {
                        steps::rename(&plan.root, &plan.aside)?;
                    }
                    if let Err(e) = steps::rename(&staged_root, &plan.root) {
                        if had_old {
                            let _ = steps::rename(&plan.aside, &plan.root);
                        }
                        return Err(e);
                    }
                    Ok((
                        (),
                        if had_old {
                            format!("previous kept at {}", plan.aside.display())
                        } else {
                            "installed".into()
                        },
                    ))
                })?;
                self.swapped = true;
                let bin_entry = bin_entry(&plan.root);
                self.rec.run("link bin/openclaw", |_| {
                    let changed = steps::link_bin(&plan.prefix, &bin_entry)?;
                    Ok(((), changed.unwrap_or_else(|| "unchanged".into())))
                })?;
            }
            Mode::InPlace => {
                self.swapped = true;
                let cmd = plan.npm.install(&plan.prefix, &plan.spec, NPM_DEADLINE);
                self.rec
                    .run(&format!("install {} in place", plan.to), |_| {
                        let out = cmd.run()?;
                        if !out.success() {
                            bail!(npm::explain(&out));
                        }
                        Ok(((), String::new()))
                    })?;
            }
            Mode::RestartOnly => {}
        }
        self.interrupted_in_outage();
        let cli = plan.new_cli();
        // A downgrade cannot migrate state backwards: restore the state this version last ran
        // with, from the backup of the update that left it, when there is one.
        let downgrade = plan.from.as_ref().is_some_and(|f| &plan.to < f);
        let mut restored_old_state = false;
        if downgrade {
            for m in &plan.members {
                let matching = backup::list(&m.layout).into_iter().find(|b| {
                    b.manifest.from.as_deref() == Some(plan.to.to_string().as_str())
                        && b.manifest.reason == "update"
                });
                match matching {
                    Some(b) => {
                        let id = b.manifest.id.clone();
                        self.rec.run(
                            &format!("restore the {} state (backup {id})", plan.to),
                            |_| {
                                b.restore(&m.layout)?;
                                Ok(((), format!("{} entries", b.manifest.entries.len())))
                            },
                        )?;
                        restored_old_state = true;
                    }
                    None => self.rec.skip(
                        "restore older state",
                        &format!(
                            "no backup from an update away from {}; the state stays as it is",
                            plan.to
                        ),
                    ),
                }
            }
        }
        match &plan.migrate {
            _ if restored_old_state => self
                .rec
                .skip("migrate", "the state of the older release was restored"),
            Ok(()) => {
                let help = cli.doctor_help().unwrap_or_default();
                if help.contains("--fix") && help.contains("--non-interactive") {
                    for m in &plan.members {
                        let cmd = cli.doctor_fix(&m.layout, MIGRATE_DEADLINE);
                        self.rec.run(&format!("migrate {} (openclaw doctor --fix)", m.layout.profile.name().unwrap_or("default")), |_| {
                            let out = cmd.run()?;
                            if !out.success() {
                                bail!("`openclaw doctor --fix --non-interactive` failed ({}):\n{}", crate::exec::describe_code(out.code), crate::exec::indent(&out.tail(10)));
                            }
                            Ok(((), String::new()))
                        })?;
                    }
                } else {
                    self.rec.skip(
                        "migrate",
                        "this release's doctor has no --fix --non-interactive",
                    );
                }
            }
            Err(why) => self.rec.skip("migrate", why),
        }
        self.interrupted_in_outage();
        if plan.starts_any() {
            steps::start_members(
                self.env,
                &mut self.rec,
                &plan.members,
                |m| m.restart,
                plan.timeout,
                "",
            )?;
            if let Some(t) = self.outage_start {
                self.outage_ms = Some(t.elapsed().as_millis() as u64);
            }
        } else if let Some(t) = self.outage_start {
            self.outage_ms = plan
                .outage_expected()
                .then(|| t.elapsed().as_millis() as u64);
        }
        let to = plan.to.clone();
        let cli2 = cli.clone();
        self.rec.run("verify CLI version", |_| {
            let cli_v = cli2.version()?;
            if cli_v != to {
                bail!("`openclaw --version` says {cli_v}, expected {to}");
            }
            Ok(((), format!("openclaw --version = {cli_v}")))
        })?;
        steps::verify_members(
            &mut self.rec,
            &plan.members,
            |m| m.restart,
            Some(&cli2),
            Some(&to),
            "",
        )?;
        let mut findings = Vec::new();
        let lint = plan.starts_any() && cli.doctor_help().unwrap_or_default().contains("--lint");
        if plan.starts_any() && !lint {
            self.rec
                .skip("doctor --lint", "not supported by this release");
        }
        if lint {
            for m in plan.members.iter().filter(|m| m.restart) {
                let cmd = cli.doctor_lint(&m.layout, m.port, Duration::from_secs(120));
                let r = self.rec.run("doctor --lint", |_| {
                    let out = cmd.run()?;
                    let f = crate::openclaw::lint_findings(&out);
                    let detail = if f.is_empty() {
                        "no errors".to_string()
                    } else {
                        format!("{} finding(s), see the report", f.len())
                    };
                    Ok((f, detail))
                });
                if let Ok(f) = r {
                    findings.extend(f.into_iter().map(|mut v| {
                        if let Some(o) = v.as_object_mut() {
                            o.insert("source".into(), Value::from("openclaw doctor"));
                        }
                        v
                    }));
                }
            }
        }
        Ok(findings)
    }

    fn commit(&mut self) {
        let plan = self.plan;
        let _ = steps::remove_tree(&plan.staging);
        // Keep the newest `keep` previous packages for instant rollback.
        let prev_dir = Plan::work_dir(&plan.prefix).join("previous");
        if let Ok(rd) = std::fs::read_dir(&prev_dir) {
            let mut dirs: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
            dirs.sort_by_key(|d| std::fs::metadata(d).and_then(|m| m.modified()).ok());
            let excess = dirs.len().saturating_sub(plan.keep);
            for d in dirs.into_iter().take(excess) {
                let _ = steps::remove_tree(&d);
            }
        }
    }

    /// Stop whatever runs now, put the old package and the old state back, start, verify.
    fn rollback(&mut self) -> Result<()> {
        let plan = self.plan;
        let env = self.env;
        steps::stop_current(env, &mut self.rec, &plan.members, "rollback: ")?;
        if self.swapped {
            match plan.mode {
                Mode::Staged => {
                    let failed = Plan::work_dir(&plan.prefix).join(format!("failed-{}", plan.id));
                    self.rec
                        .run("rollback: swap the previous package back", |_| {
                            if plan.root.exists() {
                                steps::rename(&plan.root, &failed)?;
                            }
                            if plan.aside.exists() {
                                steps::rename(&plan.aside, &plan.root)?;
                            }
                            let _ = steps::remove_tree(&failed);
                            Ok((
                                (),
                                format!(
                                    "{} restored",
                                    plan.from.as_ref().map_or("none".into(), |v| v.to_string())
                                ),
                            ))
                        })?;
                    let entry = bin_entry(&plan.root);
                    if plan.root.exists() {
                        steps::link_bin(&plan.prefix, &entry)?;
                    }
                }
                Mode::InPlace => {
                    let Some(from) = &plan.from else {
                        bail!("nothing to roll back to")
                    };
                    let cmd =
                        plan.npm
                            .install(&plan.prefix, &format!("{PACKAGE}@{from}"), NPM_DEADLINE);
                    self.rec.run(&format!("rollback: reinstall {from}"), |_| {
                        let out = cmd.run()?;
                        if !out.success() {
                            bail!(npm::explain(&out));
                        }
                        Ok(((), String::new()))
                    })?;
                }
                Mode::RestartOnly => {}
            }
        }
        steps::restore_members(&mut self.rec, &plan.members, &self.backups, "rollback: ")?;
        steps::start_members(
            env,
            &mut self.rec,
            &plan.members,
            |m| m.was_running,
            plan.timeout,
            "rollback: ",
        )?;
        let old_cli = plan
            .from
            .as_ref()
            .map(|_| OpenClaw::new(&plan.node.path, &plan.root));
        steps::verify_members(
            &mut self.rec,
            &plan.members,
            |m| m.was_running,
            old_cli.as_ref(),
            plan.from.as_ref(),
            "rollback: ",
        )?;
        if let Some(t) = self.outage_start {
            self.outage_ms = Some(t.elapsed().as_millis() as u64);
        }
        Ok(())
    }

    fn manual_steps(&self) -> String {
        let plan = self.plan;
        let mut s = Vec::new();
        if self.swapped && plan.mode == Mode::Staged && plan.aside.exists() {
            s.push(format!(
                "mv {} {}.failed && mv {} {}",
                plan.root.display(),
                plan.root.display(),
                plan.aside.display(),
                plan.root.display()
            ));
        }
        if let Some(b) = self.backups.first() {
            s.push(format!(
                "restore the state from {} (clawkit backups restore {})",
                b.dir.display(),
                b.manifest.id
            ));
        }
        s.push(
            "start the gateway (openclaw gateway run, or systemctl --user start openclaw-gateway)"
                .into(),
        );
        s.join("; then ")
    }
}

fn bin_entry(root: &Path) -> String {
    std::fs::read_to_string(root.join("package.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| match v.get("bin") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Object(o)) => o.get(PACKAGE).and_then(Value::as_str).map(String::from),
            _ => None,
        })
        .map(|s| s.trim_start_matches("./").to_string())
        .unwrap_or_else(|| "openclaw.mjs".into())
}

/// Brings the gateways of an interrupted update back on the version they ran before it: stop
/// whatever runs, swap the kept package back (or reinstall it), restore the backup, start, verify.
fn resume(
    env: &Env,
    layout: &crate::layout::Layout,
    r: crate::inflight::InFlight,
    p: &Printer,
) -> Result<Exit> {
    let mut rec = Recorder::new(p);
    let members: Vec<Member> = r.members.iter().map(|m| m.to_member()).collect();
    let from: Option<Version> = r.from.as_deref().and_then(|v| v.parse().ok());
    let started = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let result = (|| -> Result<()> {
        // A migration the killed clawkit started runs on in its own process group: end it
        // before the state is restored underneath it.
        for m in &members {
            let orphans = steps::openclaw_processes(&m.layout.state_dir, "doctor");
            if !orphans.is_empty() {
                rec.run("resume: stop the orphaned migration", |_| {
                    for pid in &orphans {
                        crate::proc::signal(*pid, nix::sys::signal::Signal::SIGTERM);
                    }
                    let gone = crate::supervisor::wait_until(
                        Instant::now() + Duration::from_secs(10),
                        || orphans.iter().all(|p| !crate::proc::alive(*p)),
                    );
                    if !gone {
                        for pid in &orphans {
                            crate::proc::signal(*pid, nix::sys::signal::Signal::SIGKILL);
                        }
                    }
                    Ok(((), format!("pid(s) {orphans:?}")))
                })?;
            }
        }
        steps::stop_current(env, &mut rec, &members, "resume: ")?;
        let installed = PackageJson::read(&r.root.join("package.json"))
            .ok()
            .and_then(|p| p.version);
        if installed != from {
            if r.aside.join("package.json").exists() {
                let failed = Plan::work_dir(&r.prefix).join(format!("failed-{}", r.id));
                rec.run("resume: swap the previous package back", |_| {
                    if r.root.exists() {
                        steps::rename(&r.root, &failed)?;
                    }
                    steps::rename(&r.aside, &r.root)?;
                    let _ = steps::remove_tree(&failed);
                    Ok(((), String::new()))
                })?;
                steps::link_bin(&r.prefix, &bin_entry(&r.root))?;
            } else if let Some(v) = &from {
                let npm_bin = crate::supervisor::tool(env, "npm").context("npm is not on PATH")?;
                let npm = Npm::new(npm_bin, r.node.parent().map(Path::to_path_buf), None);
                let cmd = npm.install(&r.prefix, &format!("{PACKAGE}@{v}"), NPM_DEADLINE);
                rec.run(&format!("resume: reinstall {v}"), |_| {
                    let out = cmd.run()?;
                    if !out.success() {
                        bail!(npm::explain(&out));
                    }
                    Ok(((), String::new()))
                })?;
            }
        }
        for m in &members {
            let dir = backup::backups_dir(&m.layout).join(&r.id);
            if dir.join("manifest.json").exists() {
                let b = backup::load(&dir)?;
                steps::restore_members(
                    &mut rec,
                    std::slice::from_ref(m),
                    std::slice::from_ref(&b),
                    "resume: ",
                )?;
            }
        }
        steps::start_members(
            env,
            &mut rec,
            &members,
            |m| m.was_running,
            Duration::from_secs(120),
            "resume: ",
        )?;
        let cli = OpenClaw::new(&r.node, &r.root);
        steps::verify_members(
            &mut rec,
            &members,
            |m| m.was_running,
            Some(&cli),
            from.as_ref(),
            "resume: ",
        )?;
        Ok(())
    })();
    let (outcome, error, exit) = match &result {
        Ok(()) => (
            "rolled-back",
            "interrupted; resumed by returning to the previous version".to_string(),
            Exit::RolledBack,
        ),
        Err(e) => (
            "failed",
            format!("interrupted, and the resume failed: {e:#}"),
            Exit::Attention,
        ),
    };
    let entry = Entry {
        schema: 1,
        id: r.id.clone(),
        command: "update".into(),
        started_at: started,
        finished_at: Some(humantime::format_rfc3339_seconds(SystemTime::now()).to_string()),
        from: r.from.clone(),
        to: Some(r.to.clone()),
        outcome: outcome.into(),
        phase: None,
        downtime_ms: None,
        duration_ms: None,
        steps: rec.steps.clone(),
        backup: members
            .first()
            .map(|m| backup::backups_dir(&m.layout).join(&r.id)),
        previous_package: Some(r.aside.clone()),
        error: Some(error.clone()),
    };
    let _ = journal::append(&journal::path(layout), &entry);
    if result.is_ok() {
        let _ = std::fs::remove_file(crate::inflight::path(layout));
        p.alert(format!(
            "resumed: the gateway runs {} again",
            r.from.as_deref().unwrap_or("the previous version")
        ));
    } else {
        p.alert(format!(
            "{error}\n  the backup of the state is {}",
            backup::backups_dir(layout).join(&r.id).display()
        ));
    }
    if p.json {
        p.json(&json!({"schema": 1, "command": "update", "outcome": outcome, "from": r.to, "to": r.from,
                       "steps": rec.steps, "error": error, "resumed": r.id}));
    }
    Ok(exit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_npm_runs_touch_a_prefix() {
        let v = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        let p = Path::new("/opt/oc");
        assert!(npm_touches(
            &v("node /usr/lib/npm-cli.js install -g openclaw"),
            p
        ));
        assert!(npm_touches(
            &v("npm install --global --prefix /opt/oc/lib/clawkit/staging-1 openclaw@1"),
            p
        ));
        assert!(!npm_touches(
            &v("npm install --global --prefix /other openclaw"),
            p
        ));
        assert!(!npm_touches(&v("npm install left-pad"), p));
        assert!(!npm_touches(&v("node server.js"), p));
    }
}
