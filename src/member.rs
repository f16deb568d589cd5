//! The gateways an operation stops and starts ("members"): the selected profile's gateway and,
//! for operations on an install, every other gateway that runs from that install, found however
//! it was launched (process table, each process's own environment, the state-dir locks).
//!
//! The rule: clawkit never acts on a gateway it has not identified. Each running gateway's
//! install is proven from its service unit, its command line or its children, or inferred from
//! the `openclaw` its own PATH finds when the process retitled itself (9.4 and older); a gateway
//! of this profile whose install cannot be told, or that runs another install than the one being
//! changed, is refused before anything is stopped (exit 6).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::Config;
use crate::env::Env;
use crate::exit::Failure;
use crate::gateway::{self, Gateway};
use crate::identify::{origin, Origin};
use crate::install::PackageJson;
use crate::layout::{Layout, Profile};
use crate::proc;
use crate::record::{SavedMember, SavedRelaunch};
use crate::supervisor::{self, Kind, Relaunch, Supervisor};

/// How long a gateway gets to stop after SIGTERM / the service stop before SIGKILL.
pub const STOP_DEADLINE: Duration = Duration::from_secs(30);

/// One gateway that an operation stops and starts again: its profile, how it runs, and what
/// it looked like before.
#[derive(Debug, Clone)]
pub struct Member {
    pub layout: Layout,
    pub port: u16,
    pub gateway: Gateway,
    pub supervisor: Supervisor,
    /// Was it serving before the operation? Then it must be serving after.
    pub was_running: bool,
    /// Start it after the operation (it was running, or `--start` asked for it).
    pub restart: bool,
    /// How long it gets to stop after SIGTERM / the service stop before SIGKILL.
    pub stop_deadline: Duration,
    pub origin: Origin,
}

impl Member {
    pub fn label(&self) -> String {
        let profile = self.layout.profile.name().unwrap_or("default");
        format!(
            "{profile} gateway (port {}, {})",
            self.port,
            self.supervisor.kind.as_str()
        )
    }

    pub fn profile_name(&self) -> &str {
        self.layout.profile.name().unwrap_or("default")
    }

    /// Does anything need stopping for this member?
    pub fn needs_stop(&self) -> bool {
        self.was_running || self.supervisor.active == Some(true)
    }
}

/// What an operation asks of the selection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Also every other gateway that runs from the install (operations that replace it).
    pub siblings: bool,
    /// Start the profile's gateway afterwards even if it was not running (`--start`).
    pub start: bool,
    /// Start gateways again afterwards (false for `--no-start`).
    pub restart: bool,
}

/// The identified gateways and what the user should know about them.
#[derive(Debug, Clone)]
pub struct Selection {
    pub members: Vec<Member>,
    pub notes: Vec<String>,
}

fn canon(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

fn refuse(msg: String, fix: &str) -> Failure {
    Failure::refused(msg).with_fix(fix)
}

/// A gateway running on this host for this user and HOME, found from the process table.
#[derive(Debug, Clone)]
pub struct Found {
    pub layout: Layout,
    pub port: u16,
    pub gateway: Gateway,
    pub supervisor: Supervisor,
    pub origin: Origin,
}

/// The state dir (and config) a gateway process works on, from its own environment and
/// command line, as OpenClaw resolves them.
fn process_layout(info: &proc::ProcInfo, home: &Path) -> Option<Layout> {
    let penv = proc::environ(info.pid)?;
    let pairs = penv
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect::<Vec<(OsString, OsString)>>();
    let env = Env::from_pairs(pairs);
    let their_home = crate::layout::home_dir(&env).ok()?;
    if their_home != home {
        return None;
    }
    let arg = |flag: &str| {
        info.cmdline
            .iter()
            .position(|a| a == flag)
            .and_then(|i| info.cmdline.get(i + 1))
            .cloned()
            .or_else(|| {
                info.cmdline
                    .iter()
                    .find_map(|a| a.strip_prefix(&format!("{flag}=")).map(String::from))
            })
    };
    let profile = if info.cmdline.iter().any(|a| a == "--dev") {
        Profile::Named("dev".into())
    } else {
        match arg("--profile").or_else(|| env.get("OPENCLAW_PROFILE").map(String::from)) {
            Some(n) => Profile::parse(&n).ok()?,
            None => Profile::Default,
        }
    };
    crate::layout::resolve(&env, &profile, None).ok()
}

/// Every gateway of this user whose HOME is `home`: from the process table (launchers and
/// retitled gateways, each with its own environment and command line) and the state dirs in
/// HOME, each confirmed by a live lock or a listener.
pub fn running_gateways(env: &Env, home: &Path) -> Vec<Found> {
    let mut layouts: Vec<Layout> = Vec::new();
    for pid in proc::all_pids() {
        let Some(info) = proc::info(pid) else {
            continue;
        };
        // Launchers, `openclaw-gateway` (8.x on) and the bare `openclaw` title of a 6.x/7.x
        // gateway: each read for its own environment and command line.
        if !gateway::is_gateway_process(&info) {
            continue;
        }
        if let Some(l) = process_layout(&info, home) {
            layouts.push(l);
        }
    }
    if let Ok(rd) = std::fs::read_dir(home) {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().to_string();
            if (n == ".openclaw" || n.starts_with(".openclaw-")) && e.path().is_dir() {
                layouts.push(Layout::for_state_dir(home, &e.path(), None));
            }
        }
    }
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut out = Vec::new();
    for l in layouts {
        let key = canon(&l.state_dir);
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let Some(lock) = gateway::read_locks(&l)
            .into_iter()
            .find(|k| !k.stale && k.pid.is_some_and(proc::alive))
        else {
            continue;
        };
        let layout = match &lock.config_path {
            Some(c) if *c != l.config_path => {
                Layout::for_state_dir(home, &l.state_dir, Some(c.clone()))
            }
            _ => l,
        };
        let cfg = Config::load(&layout.config_path);
        let port = lock
            .port
            .or(cfg.port)
            .unwrap_or(crate::layout::DEFAULT_PORT);
        let gw = gateway::probe(&layout, port, cfg.token.as_ref());
        if !gw.up() {
            continue;
        }
        let sup = supervisor::detect(env, &layout, &gw, None);
        let origin = origin(&gw, &sup);
        let sup = match origin.root() {
            // Rebuild a retitled gateway's command line from the install it runs.
            Some(root) if sup.kind == Kind::Unmanaged && sup.relaunch.is_none() => {
                supervisor::detect(env, &layout, &gw, Some(root))
            }
            _ => sup,
        };
        out.push(Found {
            layout,
            port,
            gateway: gw,
            supervisor: sup,
            origin,
        });
    }
    out
}

/// The members of an operation on `snap`'s profile and, with `opts.siblings`, on every gateway
/// that runs from `root` (the install being changed). Refuses (exit 6) before anything is
/// stopped when a gateway cannot be identified, runs another install, or could not be brought
/// back.
pub fn select(
    env: &Env,
    snap: &crate::probe::Snapshot,
    root: Option<&Path>,
    opts: Options,
) -> Result<Selection, Failure> {
    let mut notes = Vec::new();
    let root = root.map(canon);
    let origin = origin(&snap.gateway, &snap.supervisor);
    let primary = Member {
        layout: snap.layout.clone(),
        port: snap.port,
        gateway: snap.gateway.clone(),
        supervisor: snap.supervisor.clone(),
        was_running: snap.gateway.up(),
        restart: opts.restart && (snap.gateway.up() || opts.start),
        stop_deadline: STOP_DEADLINE,
        origin,
    };
    if primary.gateway.state == gateway::State::Foreign {
        return Err(refuse(
            format!(
                "port {} is held by a program that is not an OpenClaw gateway",
                primary.port
            ),
            "stop that program or change gateway.port, then retry",
        ));
    }
    if primary.was_running {
        match (&primary.origin, &root) {
            (Origin::Unknown { why }, _) => {
                return Err(refuse(
                    format!(
                        "the gateway on port {} cannot be identified ({why}): clawkit does not act on a gateway it cannot tie to an install",
                        primary.port
                    ),
                    "restart it with its command line naming the package (`openclaw gateway run` from the install), or stop it yourself and use --start",
                ))
            }
            (o, Some(r)) if o.root() != Some(r.as_path()) => {
                return Err(refuse(
                    format!(
                        "the gateway of this profile (port {}) runs {} ({}), not the install being changed ({})",
                        primary.port,
                        o.root().map_or("?".into(), |p| p.display().to_string()),
                        match o { Origin::Proven { from, .. } => from.to_string(), Origin::Inferred { from, .. } => from.clone(), Origin::Unknown { why } => why.clone() },
                        r.display()
                    ),
                    "pass --prefix for the install that serves this profile (see `clawkit status`), or move the gateway to this install first",
                ))
            }
            _ => {}
        }
        if primary.supervisor.kind == Kind::Unmanaged && primary.supervisor.relaunch.is_none() {
            return Err(refuse(
                format!(
                    "the running gateway cannot be restarted by clawkit: {}",
                    primary
                        .supervisor
                        .relaunch_problem
                        .as_deref()
                        .unwrap_or("unknown command line")
                ),
                "stop it yourself and use --start, or run it under a service (openclaw gateway install)",
            ));
        }
        if let Origin::Inferred { from, .. } = &primary.origin {
            notes.push(format!(
                "the gateway on port {} retitled itself; its install is {from}",
                primary.port
            ));
        }
    }
    if opts.start && primary.supervisor.kind == Kind::None && !primary.was_running {
        return Err(refuse(
            "no gateway is running and no service is installed to start one".into(),
            "start the gateway (openclaw gateway run) or install a service (openclaw gateway install), then retry",
        ));
    }
    // An operation on the install leaves a profile alone that has no state and no gateway (it
    // would only create its directory); profile operations always act on their profile.
    let mut out = if opts.siblings
        && !primary.was_running
        && !primary.restart
        && !primary.layout.state_dir.exists()
    {
        Vec::new()
    } else {
        vec![primary]
    };
    if !opts.siblings {
        return Ok(Selection {
            members: out,
            notes,
        });
    }
    let Some(root) = root else {
        return Ok(Selection {
            members: out,
            notes,
        });
    };
    let mine = canon(&snap.layout.state_dir);
    for f in running_gateways(env, &snap.layout.home) {
        if canon(&f.layout.state_dir) == mine {
            continue;
        }
        let label = f.layout.profile.name().unwrap_or("default").to_string();
        match f.origin.root() {
            Some(r) if r == root => {}
            Some(_) => continue,
            None => {
                // Could it be ours? Then refuse rather than swap the package under it.
                let maybe_ours = f.gateway.version.is_some()
                    && f.gateway.version
                        == PackageJson::read(&root.join("package.json"))
                            .ok()
                            .and_then(|p| p.version);
                if maybe_ours {
                    return Err(refuse(
                        format!(
                            "a gateway of {} (port {}) may run from this install but cannot be identified ({})",
                            f.layout.state_dir.display(),
                            f.port,
                            match &f.origin { Origin::Unknown { why } => why.as_str(), _ => "" }
                        ),
                        "stop it yourself first, or restart it with a command line that names its package",
                    ));
                }
                notes.push(format!(
                    "a gateway of {} (port {}) runs an install clawkit cannot identify; it is left alone",
                    f.layout.state_dir.display(),
                    f.port
                ));
                continue;
            }
        }
        if f.supervisor.kind == Kind::Unmanaged && f.supervisor.relaunch.is_none() {
            return Err(refuse(
                format!(
                    "the {label} gateway (port {}) runs from this install but cannot be restarted by clawkit: {}",
                    f.port,
                    f.supervisor.relaunch_problem.as_deref().unwrap_or("unknown command line")
                ),
                "stop it yourself first, or run it under a service",
            ));
        }
        out.push(Member {
            layout: f.layout,
            port: f.port,
            gateway: f.gateway,
            supervisor: f.supervisor,
            was_running: true,
            restart: opts.restart,
            stop_deadline: STOP_DEADLINE,
            origin: f.origin,
        });
    }
    if out.len() > 1 {
        notes.push(format!(
            "{} gateways run from this install; all are stopped before the swap and verified after",
            out.len()
        ));
    }
    Ok(Selection {
        members: out,
        notes,
    })
}

// The persisted form of a member (`record::SavedMember`), to and from a live one.
impl SavedMember {
    pub fn from_member(m: &Member) -> SavedMember {
        SavedMember {
            home: m.layout.home.clone(),
            state_dir: m.layout.state_dir.clone(),
            config_path: m.layout.config_path.clone(),
            profile: m.layout.profile.name().map(String::from),
            port: m.port,
            was_running: m.was_running,
            restart: m.restart,
            kind: m.supervisor.kind,
            name: m.supervisor.name.clone(),
            file: m.supervisor.file.clone(),
            command: m.supervisor.command.clone(),
            relaunch: m.supervisor.relaunch.as_ref().map(|r| SavedRelaunch {
                argv: r.argv.clone(),
                cwd: r.cwd.clone(),
                env: r
                    .env
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.to_string_lossy().into_owned(),
                            v.to_string_lossy().into_owned(),
                        )
                    })
                    .collect(),
                log: r.log.clone(),
            }),
            stop_deadline_secs: Some(m.stop_deadline.as_secs()),
        }
    }

    /// The member as it was, with its gateway as it is now.
    pub fn to_member(&self) -> Member {
        let mut layout =
            Layout::for_state_dir(&self.home, &self.state_dir, Some(self.config_path.clone()));
        if let Some(p) = self.profile.as_deref().and_then(|p| Profile::parse(p).ok()) {
            layout.profile = p;
        }
        let token = Config::load(&self.config_path).token;
        let gateway = gateway::probe(&layout, self.port, token.as_ref());
        let relaunch = self.relaunch.as_ref().map(|r| Relaunch {
            argv: r.argv.clone(),
            cwd: r.cwd.clone(),
            env: r
                .env
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v)))
                .collect(),
            log: r.log.clone(),
            reconstructed: false,
        });
        let supervisor = Supervisor::restored(
            self.kind,
            self.name.clone(),
            self.file.clone(),
            self.command.clone(),
            relaunch,
        );
        let origin = origin(&gateway, &supervisor);
        Member {
            supervisor,
            layout,
            port: self.port,
            gateway,
            was_running: self.was_running,
            restart: self.restart || self.was_running,
            stop_deadline: self
                .stop_deadline_secs
                .map_or(STOP_DEADLINE, Duration::from_secs),
            origin,
        }
    }
}
