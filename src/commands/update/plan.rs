//! Request + snapshot → the immutable update plan. Everything here is read-only; every refusal
//! (exit 6) happens before anything is staged, stopped or written. `--dry-run` prints the plan.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Result;
use serde::Serialize;

use crate::backup;
use crate::cli::UpdateArgs;
use crate::env::Env;
use crate::exit::Failure;
use crate::install::{Install, PACKAGE};
use crate::member::{self, Member};
use crate::node::{self, Node};
use crate::npm::{self, Npm, NPM_DEADLINE};
use crate::openclaw::OpenClaw;
use crate::printer::{Printer, BOLD};
use crate::probe::Snapshot;
use crate::settings::Settings;
use crate::supervisor;
use crate::version::Version;

/// Free space a staged copy needs (a 9.x package is ~545 MB).
pub const STAGE_BYTES: u64 = 700 * 1024 * 1024;
pub const MIGRATE_DEADLINE: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
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
    /// The rehearsal before the stop, or why there is none.
    pub rehearsal: Result<(), String>,
    pub timeout: Duration,
    pub keep: usize,
    /// How the target was chosen (`None` for --package).
    pub resolved: Option<super::resolve::Resolved>,
    /// `lib/node_modules/.openclaw-*` left by a crashed npm.
    pub leftovers: Vec<PathBuf>,
    /// The journal the run is reported in first (the first gateway's profile, else the
    /// selected profile's); every member profile's journal gets the entry.
    pub journal: PathBuf,
    /// `lib/clawkit/staging-*` and `failed-*` left by earlier runs that were killed.
    pub stale_work: Vec<PathBuf>,
    pub notes: Vec<String>,
}

impl Plan {
    pub fn new_cli(&self, env: &Env) -> OpenClaw {
        OpenClaw::new(&self.node.path, &self.root, env)
    }

    /// The CLI the rehearsal runs: the staged release, or (restart only) the installed one.
    pub fn rehearsal_cli(&self, env: &Env) -> OpenClaw {
        let root = if self.mode == Mode::Staged {
            self.staged_root()
        } else {
            self.root.clone()
        };
        OpenClaw::new(&self.node.path, &root, env)
    }

    pub fn work_dir(prefix: &Path) -> PathBuf {
        prefix.join("lib").join("clawkit")
    }

    pub fn staged_root(&self) -> PathBuf {
        self.staging.join("lib/node_modules").join(PACKAGE)
    }

    /// Does any gateway run (or get started) after the update?
    pub fn starts_any(&self) -> bool {
        self.members.iter().any(|m| m.restart)
    }

    pub fn outage_expected(&self) -> bool {
        self.members.iter().any(|m| m.was_running)
    }

    /// The steps with the exact commands they would run (the supervisors' own actions).
    pub fn describe(&self, env: &Env) -> Vec<(String, String)> {
        let mut v = Vec::new();
        let npm_install =
            |prefix: &Path| self.npm.install(prefix, &self.spec, NPM_DEADLINE).display();
        if !self.stale_work.is_empty() || !self.leftovers.is_empty() {
            v.push((
                "clean up".into(),
                format!(
                    "remove {}",
                    self.stale_work
                        .iter()
                        .chain(&self.leftovers)
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if self.mode == Mode::Staged {
            v.push(("stage".into(), npm_install(&self.staging)));
        }
        match &self.rehearsal {
            Ok(()) => {
                let cli = self.rehearsal_cli(env);
                for m in self.members.iter().filter(|m| m.layout.state_dir.is_dir()) {
                    let private = crate::rehearsal::Private::new(m, &self.id);
                    v.push((
                        format!("rehearse {}", m.profile_name()),
                        format!(
                            "copy {} into {} (databases by SQLite's online backup); {} doctor --fix --non-interactive on the copy; {} [--update-canary] on a spare loopback port, until /startupz says started and {}; stop it; delete the copy",
                            m.layout.state_dir.display(),
                            private.root.display(),
                            cli.package_root.join("openclaw.mjs").display(),
                            crate::rehearsal::boot_cmd(&cli, 0, false)[..6].join(" "),
                            self.to
                        ),
                    ));
                }
            }
            Err(why) => v.push(("rehearse".into(), format!("skipped: {why}"))),
        }
        for m in self.members.iter().filter(|m| m.needs_stop()) {
            let how = supervisor::stop_action(env, &m.supervisor, &m.gateway)
                .map_or_else(|e| format!("({e:#})"), |a| a.display());
            v.push((
                format!("stop {}", m.label()),
                format!(
                    "{how}; wait until its pids are gone and port {} is free",
                    m.port
                ),
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
                    self.staged_root().display(),
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
                        format!("migrate {}", m.profile_name()),
                        self.new_cli(env)
                            .doctor_fix(&m.layout, MIGRATE_DEADLINE)
                            .display(),
                    ));
                }
            }
            Err(why) => v.push(("migrate".into(), format!("skipped: {why}"))),
        }
        for m in self.members.iter().filter(|m| m.restart) {
            let how = supervisor::start_action(env, &m.supervisor, &m.layout)
                .map_or_else(|e| format!("({e:#})"), |a| a.display());
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
        v.push((
            "verify".into(),
            format!("openclaw --version == gateway version == {}", self.to),
        ));
        v
    }

    pub fn to_doc(&self, env: &Env) -> crate::report::PlanDoc {
        use crate::report::{PlanDoc, PlanGateway, PlanStep};
        PlanDoc {
            id: self.id.clone(),
            mode: self.mode,
            from: self.from.clone(),
            to: self.to.clone(),
            spec: self.spec.clone(),
            prefix: self.prefix.clone(),
            node: self.node.clone(),
            gateways: self
                .members
                .iter()
                .map(|m| PlanGateway {
                    profile: m.profile_name().to_string(),
                    state_dir: m.layout.state_dir.clone(),
                    port: m.port,
                    supervisor: m.supervisor.kind,
                    running: m.was_running,
                    version: m.gateway.version.clone(),
                    origin: m.origin.clone(),
                })
                .collect(),
            start_after: self.starts_any(),
            migrate: self.migrate.is_ok(),
            rehearsal: self.rehearsal.as_ref().err().cloned(),
            notes: self.notes.clone(),
            steps: self
                .describe(env)
                .into_iter()
                .map(|(step, command)| PlanStep { step, command })
                .collect(),
        }
    }

    pub fn print(&self, p: &Printer, env: &Env) {
        p.line(format!(
            "{} OpenClaw {} → {} ({})",
            p.paint(BOLD, "plan:"),
            self.from
                .as_ref()
                .map_or("(not installed)".into(), |v| v.to_string()),
            self.to,
            match self.mode {
                Mode::Staged => "staged",
                Mode::InPlace => "in place",
                Mode::RestartOnly => "restart only: the CLI is already on the target",
            }
        ));
        for (i, (step, cmd)) in self.describe(env).iter().enumerate() {
            p.line(format!("  {}. {step}: {cmd}", i + 1));
        }
        for n in &self.notes {
            p.line(format!("  note: {n}"));
        }
    }
}

fn refuse(msg: impl Into<String>, fix: impl Into<String>) -> anyhow::Error {
    Failure::refused(msg).with_fix(fix).into()
}

/// Can this user create and rename files in `dir`, where the swap will happen? Tried for real
/// (a permission check misses read-only mounts, immutable attributes and ACLs).
/// Only existing directories are tried (the nearest existing ancestor stands in for a missing
/// one), and nothing is left behind, so a dry run leaves the tree as it was.
fn probe_writable(dir: &Path) -> std::io::Result<()> {
    let dir = dir.ancestors().find(|a| a.is_dir()).unwrap_or(dir);
    let a = dir.join(format!(".clawkit-probe-{}", std::process::id()));
    let b = dir.join(format!(".clawkit-probe-{}-renamed", std::process::id()));
    std::fs::write(&a, b"")?;
    let renamed = std::fs::rename(&a, &b);
    let _ = std::fs::remove_file(&a);
    let _ = std::fs::remove_file(&b);
    renamed
}

/// `chattr +i` / `+a` on a file or directory: it cannot be renamed or removed, even by root.
#[cfg(target_os = "linux")]
fn immutable(p: &Path) -> bool {
    use std::os::fd::AsRawFd;
    nix::ioctl_read!(fs_ioc_getflags, b'f', 1, nix::libc::c_long);
    const FS_IMMUTABLE_FL: nix::libc::c_long = 0x10;
    const FS_APPEND_FL: nix::libc::c_long = 0x20;
    let Ok(f) = std::fs::File::open(p) else {
        return false;
    };
    let mut flags: nix::libc::c_long = 0;
    // SAFETY: FS_IOC_GETFLAGS writes one long into `flags`; the fd is open for the call.
    let ok = unsafe { fs_ioc_getflags(f.as_raw_fd(), &mut flags) }.is_ok();
    ok && flags & (FS_IMMUTABLE_FL | FS_APPEND_FL) != 0
}

#[cfg(not(target_os = "linux"))]
fn immutable(_p: &Path) -> bool {
    false
}

/// The install that serves this profile when no gateway runs: its service's, else the CLI on
/// PATH. `None` when nothing tells.
fn serving_root(snap: &Snapshot) -> Option<PathBuf> {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    if let Some(r) = &snap.supervisor.package_root {
        return Some(canon(r));
    }
    snap.installs
        .iter()
        .find(|i| i.usable())
        .and_then(|i| i.package_root.as_deref())
        .map(canon)
}

pub fn preflight(
    env: &Env,
    snap: &Snapshot,
    args: &UpdateArgs,
    settings: &Settings,
    prefix_flag: Option<&Path>,
    p: &Printer,
) -> Result<Plan> {
    let installed = snap.install.as_ref().filter(|i| i.usable());
    if let Some(i) = snap
        .install
        .as_ref()
        .filter(|i| !i.usable() && i.package_root.is_some())
    {
        return Err(refuse(
            format!(
                "the OpenClaw install at {} is broken: {}",
                i.bin.display(),
                i.error.as_deref().unwrap_or("unreadable")
            ),
            "fix or remove it, or pass --prefix DIR",
        ));
    }
    if installed.is_none() && !args.install {
        let (msg, fix) = match prefix_flag {
            Some(p) => (
                format!("there is no OpenClaw under {}", p.display()),
                "check the path, or pass --install to install OpenClaw there",
            ),
            None => (
                "OpenClaw is not installed (no `openclaw` on PATH)".to_string(),
                "pass --install to install it (`clawkit update --install`), or --prefix DIR for an install that is not on PATH",
            ),
        };
        return Err(refuse(msg, fix));
    }
    let node = snap.gateway_node(env).ok_or_else(|| {
        refuse(
            "node is not on PATH",
            "install Node.js 24 (OpenClaw needs it) and add it to PATH",
        )
    })?;
    let npm = Npm::find(
        env,
        node.path.parent().map(Path::to_path_buf),
        args.registry.as_ref().map(|r| r.to_string()),
    )
    .ok_or_else(|| {
        refuse(
            "npm is not on PATH",
            "install Node.js with npm, or add it to PATH",
        )
    })?;

    let prefix = match (installed, &snap.install, prefix_flag) {
        (_, _, Some(p)) => p.to_path_buf(),
        (
            Some(Install {
                prefix: Some(p), ..
            }),
            _,
            None,
        ) => p.clone(),
        (Some(i), _, None) => {
            return Err(refuse(
                format!(
                "{} is not an npm global install (no <prefix>/lib/node_modules/openclaw layout)",
                i.bin.display()
            ),
                "pass --prefix DIR for the npm prefix to manage",
            ))
        }
        (None, _, None) => npm.global_prefix()?,
    };
    let root = prefix.join("lib/node_modules").join(PACKAGE);
    let canon_root = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
    let from = installed.and_then(|i| i.version.clone());

    // Resolve the target to an exact version and read its requirements.
    let mut resolved = None;
    let (to, spec, engines, schemas) = match &args.package {
        Some(pkg) => {
            let t = npm::read_tarball(pkg)?;
            (
                t.version,
                pkg.to_string_lossy().into_owned(),
                t.engines,
                t.schemas,
            )
        }
        None => {
            let r = super::resolve::resolve(&npm, args.to.as_ref(), settings, from.as_ref(), p)?;
            let to = match r.to.clone().or_else(|| from.clone()) {
                Some(v) => v,
                None => {
                    return Err(refuse(
                        format!(
                            "no release fits: {}",
                            r.held.as_deref().unwrap_or("nothing matched")
                        ),
                        "relax the pin or min_release_age (`clawkit config show`), or pass --to VERSION",
                    ))
                }
            };
            let out = (
                to.clone(),
                if r.spec.is_empty() {
                    format!("{PACKAGE}@{to}")
                } else {
                    r.spec.clone()
                },
                r.engines.clone(),
                r.schemas.clone(),
            );
            resolved = Some(r);
            out
        }
    };

    let mut notes = Vec::new();
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
    if let (Some(range), Some(nv)) = (&engines, &node.version) {
        if node::satisfies(range, nv) == Some(false) {
            return Err(refuse(
                format!("OpenClaw {to} needs Node {range}, but the gateway runs on node {nv} ({})", node.path.display()),
                format!("install a Node that satisfies {range} (e.g. `npm install node@24` or your version manager) and run the gateway with it"),
            ));
        }
    }

    // Never migrate a profile's state with a binary from an install that does not serve it.
    if !snap.gateway.up() && snap.config.exists {
        if let Some(serving) = serving_root(snap) {
            if serving != canon_root {
                return Err(refuse(
                    format!(
                        "the profile {} is served by the OpenClaw at {}, not by {}: updating {} would migrate its state with a binary it does not run",
                        snap.layout.state_dir.display(),
                        serving.display(),
                        root.display(),
                        prefix.display()
                    ),
                    "pass --prefix for the install that serves it (or drop --prefix), or point the profile's service at the new install first",
                ));
            }
        }
    }

    // Which gateways run from this install, and how they come back.
    let selection = member::select(
        env,
        snap,
        Some(&canon_root),
        member::Options {
            siblings: true,
            start: args.start,
            restart: !args.no_start,
        },
    )?;
    notes.extend(selection.notes);
    let mut members = selection.members;
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

    // Disk, permissions, and others working on the prefix.
    let work = Plan::work_dir(&prefix);
    if mode != Mode::RestartOnly {
        let existing = prefix
            .ancestors()
            .find(|a| a.exists())
            .unwrap_or(Path::new("/"))
            .to_path_buf();
        if nix::unistd::access(&existing, nix::unistd::AccessFlags::W_OK).is_err() {
            return Err(refuse(
                format!("the npm prefix {} is not writable by this user", prefix.display()),
                "run as the user that owns it, or use a prefix you own (npm config set prefix ~/.npm-global)",
            ));
        }
        if let Ok(free) = fs4::available_space(&existing) {
            if free < STAGE_BYTES {
                return Err(refuse(
                    format!(
                        "only {} MB free on {}; a staged OpenClaw needs about {} MB",
                        free / 1_048_576,
                        existing.display(),
                        STAGE_BYTES / 1_048_576
                    ),
                    "free disk space, then retry",
                ));
            }
        }
        if prefix.exists() {
            for dir in [
                prefix.join("lib/node_modules"),
                prefix.join("bin"),
                work.clone(),
            ] {
                if let Err(e) = probe_writable(&dir) {
                    return Err(refuse(
                        format!("cannot create and rename files in {}: {e}", dir.display()),
                        "make the npm prefix writable for this user (check ownership, read-only mounts and `lsattr`)",
                    ));
                }
            }
            for p in [
                root.clone(),
                prefix.join("lib/node_modules"),
                prefix.join("bin/openclaw"),
            ] {
                if p.exists() && immutable(&p) {
                    return Err(refuse(
                        format!("{} is marked immutable or append-only (chattr): the package cannot be swapped", p.display()),
                        format!("remove the attribute first (chattr -i -a {}), then retry", p.display()),
                    ));
                }
            }
        }
    }
    for m in &members {
        if let Err(e) = backup::check_space(&m.layout) {
            return Err(refuse(
                format!("{e:#}"),
                "free disk space on the state dir's file system (the backup is taken with the gateway stopped), then retry",
            ));
        }
    }
    if let Some(npm) = npm::writer_on(&prefix) {
        return Err(refuse(
            format!(
                "an npm process is installing into {} right now ({npm})",
                prefix.display()
            ),
            "wait for it to finish (or stop it), then run clawkit update again",
        ));
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
    let rehearsal = if !settings.rehearsal.value {
        Err(match settings.rehearsal.source.as_str() {
            "flag --no-rehearsal" => "--no-rehearsal".to_string(),
            source => format!("rehearsal = false ({source})"),
        })
    } else if mode == Mode::InPlace {
        Err("--in-place installs without a staged copy to rehearse".to_string())
    } else if let Some(why) = crate::rehearsal::cannot_run(&members) {
        Err(why)
    } else {
        // Room for a copy of the state beside the backup.
        let short = members.iter().find_map(|m| {
            let need = backup::estimate(&m.layout).ok()? * 2 + backup::SPARE_BYTES;
            let free = fs4::available_space(&m.layout.state_dir).ok()?;
            (free < need).then(|| {
                format!(
                    "{} has room for the backup but not for a rehearsal copy beside it ({} MB free)",
                    m.layout.state_dir.display(),
                    free / 1_048_576
                )
            })
        });
        match short {
            Some(why) => Err(why),
            None => Ok(()),
        }
    };
    if let Err(why) = &rehearsal {
        if settings.rehearsal.value && mode != Mode::InPlace {
            notes.push(format!("no rehearsal: {why}"));
        }
    }
    if from.is_none() {
        notes.push(format!(
            "no OpenClaw under {} yet: this installs it{}",
            prefix.display(),
            if members.iter().any(|m| m.restart) {
                ""
            } else {
                "; there is no gateway to verify"
            }
        ));
    }
    let leftovers = npm::leftovers(&prefix);
    if !leftovers.is_empty() {
        notes.push(format!(
            "{} leftover npm director{} (lib/node_modules/.openclaw-*) will be removed",
            leftovers.len(),
            if leftovers.len() == 1 { "y" } else { "ies" }
        ));
    }
    let stale_work: Vec<PathBuf> = std::fs::read_dir(&work)
        .map(|rd| {
            rd.flatten()
                .filter(|e| {
                    let n = e.file_name().to_string_lossy().to_string();
                    n.starts_with("staging-") || n.starts_with("failed-")
                })
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    if !stale_work.is_empty() {
        notes.push(format!(
            "{} staging or failed package cop{} from earlier runs will be removed",
            stale_work.len(),
            if stale_work.len() == 1 { "y" } else { "ies" }
        ));
    }
    let id = format!(
        "{}-{}-to-{}",
        backup::stamp(SystemTime::now()),
        from.as_ref().map_or("none".into(), |v| v.to_string()),
        to
    );
    let journal = members.iter().find(|m| m.was_running).map_or_else(
        || crate::journal::path(&snap.layout),
        |m| crate::journal::path(&m.layout),
    );
    Ok(Plan {
        journal,
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
        rehearsal,
        timeout: Duration::from_secs(settings.timeout.value),
        keep: settings.keep.value as usize,
        resolved,
        leftovers,
        stale_work,
        notes,
    })
}

/// Nothing to do: the CLI is on the target and every gateway serves it.
pub fn already_current(snap: &Snapshot, plan: &Plan) -> bool {
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
