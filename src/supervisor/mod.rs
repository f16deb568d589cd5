//! Who runs the gateway, and how to stop and start it: systemd user units (`systemd.rs`),
//! launchd agents (`launchd.rs`), or nobody (`unmanaged.rs`: stop by pid, relaunch with the
//! captured command line, cwd and environment).

pub mod launchd;
pub mod systemd;
pub mod unmanaged;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde::Serialize;

use crate::env::Env;
use crate::exec::Cmd;
use crate::gateway::Gateway;
use crate::layout::Layout;
use crate::proc;
use crate::version::Version;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Systemd,
    Launchd,
    /// A gateway runs, but no service manager owns it.
    Unmanaged,
    /// No service is installed and no gateway runs.
    None,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Systemd => "systemd",
            Kind::Launchd => "launchd",
            Kind::Unmanaged => "unmanaged",
            Kind::None => "none",
        }
    }
}

/// How to bring an unmanaged gateway back exactly as it was started. Never serialized: the
/// environment may hold tokens.
#[derive(Clone)]
pub struct Relaunch {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(OsString, OsString)>,
    /// Where the gateway's output went (kept for the relaunch), when it was a file.
    pub log: Option<PathBuf>,
    /// The command line was rebuilt (the process had retitled itself), not read.
    pub reconstructed: bool,
}

impl std::fmt::Debug for Relaunch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relaunch")
            .field("argv", &self.argv)
            .field("cwd", &self.cwd)
            .field("env", &format_args!("<{} variables>", self.env.len()))
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Supervisor {
    pub kind: Kind,
    /// Unit name or launchd label.
    pub name: Option<String>,
    /// Unit file or plist.
    pub file: Option<PathBuf>,
    /// The service's command line (ExecStart / ProgramArguments) or the launcher's argv.
    /// Shown and serialized with secret values redacted (`--token X` → `--token <redacted>`).
    #[serde(serialize_with = "redacted")]
    pub command: Vec<String>,
    /// `OPENCLAW_SERVICE_VERSION` of the unit: the release that installed the service.
    pub service_version: Option<Version>,
    pub active: Option<bool>,
    pub main_pid: Option<u32>,
    /// The OpenClaw package root and node the service runs, when its command names them.
    pub package_root: Option<PathBuf>,
    pub node: Option<PathBuf>,
    /// Set for unmanaged gateways that can be relaunched.
    #[serde(skip)]
    pub relaunch: Option<Relaunch>,
    /// The gateway's TMPDIR (where Node keeps OpenClaw's compile cache), when known.
    #[serde(skip)]
    pub tmpdir: Option<PathBuf>,
    /// Why an unmanaged gateway cannot be relaunched (PID 1, no launcher, unreadable /proc).
    pub relaunch_problem: Option<String>,
}

fn redacted<S: serde::Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
    use serde::Serialize as _;
    crate::secret::redact_args(v).serialize(s)
}

impl Supervisor {
    /// The command line, fit to show: secret values redacted.
    pub fn shown_command(&self) -> String {
        crate::secret::redact_args(&self.command).join(" ")
    }

    fn none() -> Supervisor {
        Supervisor {
            kind: Kind::None,
            name: None,
            file: None,
            command: Vec::new(),
            service_version: None,
            active: None,
            main_pid: None,
            package_root: None,
            node: None,
            relaunch: None,
            tmpdir: None,
            relaunch_problem: None,
        }
    }

    /// A supervisor as recorded before an interrupted operation.
    pub fn restored(
        kind: Kind,
        name: Option<String>,
        file: Option<PathBuf>,
        command: Vec<String>,
        relaunch: Option<Relaunch>,
    ) -> Supervisor {
        let mut s = Supervisor::none();
        s.kind = kind;
        s.name = name;
        s.file = file;
        s.command = command;
        s.tmpdir = relaunch.as_ref().and_then(|r| {
            r.env
                .iter()
                .find(|(k, _)| k == "TMPDIR")
                .map(|(_, v)| PathBuf::from(v))
        });
        s.relaunch = relaunch;
        s.derive_paths();
        s
    }

    /// Reads what a service command line tells about the install it runs: the package root is
    /// the `openclaw` directory with a `package.json` above the (symlink-resolved) script, so
    /// `<prefix>/bin/openclaw` and `…/openclaw/openclaw.mjs` both name `…/node_modules/openclaw`.
    fn derive_paths(&mut self) {
        let node = self.command.first().map(PathBuf::from);
        self.node = node.filter(|n| {
            n.file_name()
                .is_some_and(|f| f.to_string_lossy().starts_with("node"))
        });
        self.package_root = self
            .command
            .iter()
            .take(4)
            .find_map(|a| package_root_of_path(std::path::Path::new(a)));
    }
}

/// The OpenClaw package root a script path lies in, after resolving symlinks.
pub fn package_root_of_path(p: &std::path::Path) -> Option<PathBuf> {
    if !p.is_absolute() {
        return None;
    }
    let real = std::fs::canonicalize(p).ok()?;
    real.ancestors()
        .find(|d| d.file_name().is_some_and(|n| n == "openclaw") && d.join("package.json").exists())
        .map(std::path::Path::to_path_buf)
}

/// Finds the supervisor of `layout`'s gateway. Services are looked for only when their
/// manager's command is on PATH (that is also how tests substitute fakes).
pub fn detect(
    env: &Env,
    layout: &Layout,
    gw: &Gateway,
    install_root: Option<&std::path::Path>,
) -> Supervisor {
    let running_pids: Vec<u32> = gw
        .pid
        .into_iter()
        .chain(gw.launcher.as_ref().map(|l| l.pid))
        .collect();
    for found in [systemd::detect(env, layout), launchd::detect(env, layout)]
        .into_iter()
        .flatten()
    {
        let owns_running = found.main_pid.is_some_and(|p| running_pids.contains(&p));
        if owns_running || !gw.up() || found.active == Some(true) {
            return found;
        }
    }
    if gw.up() {
        return unmanaged::detect(gw, layout, install_root);
    }
    Supervisor::none()
}

pub(crate) fn tool(env: &Env, name: &str) -> Option<PathBuf> {
    env.which(name)
}

/// What a supervisor does to stop or start a gateway: the exact commands `--dry-run` prints.
#[derive(Clone)]
pub enum Action {
    Run(Cmd),
    /// These commands in order; only the last one must succeed (the ones before prepare it, e.g.
    /// `systemctl --user reset-failed` so that a start limit hit by a crash loop cannot refuse
    /// the start).
    RunAll(Vec<Cmd>),
    /// SIGTERM to these pids (SIGKILL after the deadline).
    Signal(Vec<u32>),
    /// Relaunch detached with this command line, cwd and environment, output to `log`.
    Spawn {
        argv: Vec<String>,
        cwd: PathBuf,
        log: PathBuf,
        rebuilt: bool,
    },
    Nothing,
}

impl Action {
    /// One line for a plan, secrets redacted.
    pub fn display(&self) -> String {
        match self {
            Action::Run(c) => c.display(),
            Action::RunAll(cs) => cs.iter().map(Cmd::display).collect::<Vec<_>>().join("; "),
            Action::Signal(pids) => format!(
                "SIGTERM pid {}",
                pids.iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Action::Spawn {
                argv,
                cwd,
                log,
                rebuilt,
            } => format!(
                "relaunch `{}` detached in {} (its environment kept), output to {}{}",
                crate::secret::redact_args(argv).join(" "),
                cwd.display(),
                log.display(),
                if *rebuilt {
                    " (command line rebuilt: the process had retitled itself)"
                } else {
                    ""
                }
            ),
            Action::Nothing => "nothing to do".into(),
        }
    }
}

fn pids_of(sup: &Supervisor, gw: &Gateway) -> Vec<u32> {
    let mut v: Vec<u32> = gw
        .pid
        .into_iter()
        .chain(gw.launcher.as_ref().map(|l| l.pid))
        .chain(sup.main_pid)
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// How this supervisor stops the gateway.
pub fn stop_action(env: &Env, sup: &Supervisor, gw: &Gateway) -> Result<Action> {
    Ok(match sup.kind {
        Kind::Systemd => Action::Run(systemd::cmd(env, "stop", sup)?),
        Kind::Launchd => Action::Run(launchd::stop_cmd(env, sup)?),
        Kind::Unmanaged => Action::Signal(pids_of(sup, gw)),
        Kind::None => Action::Nothing,
    })
}

/// How this supervisor starts the gateway.
pub fn start_action(env: &Env, sup: &Supervisor, layout: &Layout) -> Result<Action> {
    Ok(match sup.kind {
        // A crash loop of the same unit (a release that failed to start, before a rollback or a
        // resume) leaves it `failed` by its start limit: every later start is refused until
        // `reset-failed`.
        Kind::Systemd => Action::RunAll(vec![
            systemd::cmd(env, "reset-failed", sup)?,
            systemd::cmd(env, "start", sup)?,
        ]),
        Kind::Launchd => Action::Run(launchd::start_cmd(env, sup)?),
        Kind::Unmanaged => match &sup.relaunch {
            Some(r) => Action::Spawn {
                argv: r.argv.clone(),
                cwd: r.cwd.clone(),
                log: unmanaged::relaunch_log(Some(r), layout),
                rebuilt: r.reconstructed,
            },
            None => bail!(
                "cannot relaunch this gateway: {}",
                sup.relaunch_problem
                    .as_deref()
                    .unwrap_or("its command line is unknown")
            ),
        },
        Kind::None => Action::Nothing,
    })
}

/// Is the service active right now (systemd/launchd)?
pub fn is_active(env: &Env, sup: &Supervisor) -> bool {
    match sup.kind {
        Kind::Systemd => systemd::is_active(env, sup),
        Kind::Launchd => launchd::is_active(env, sup),
        _ => false,
    }
}

/// Stops the gateway through its supervisor and proves it stopped: every pid gone and the port
/// free. SIGKILL is the last resort after `deadline`.
pub fn stop(env: &Env, sup: &Supervisor, gw: &Gateway, deadline: Duration) -> Result<()> {
    let started = Instant::now();
    let pids = pids_of(sup, gw);
    match stop_action(env, sup, gw)? {
        Action::Run(cmd) => {
            if sup.kind == Kind::Launchd {
                launchd::stop(env, sup)?;
            } else {
                cmd.run_ok()?;
            }
        }
        Action::RunAll(cmds) => run_all(cmds)?,
        Action::Signal(p) => unmanaged::stop(&p),
        Action::Spawn { .. } | Action::Nothing => {}
    }
    let gone = |pids: &[u32]| pids.iter().all(|p| !proc::alive(*p)) && !proc::port_open(gw.port);
    if wait_until(started + deadline, || gone(&pids)) {
        return Ok(());
    }
    for p in &pids {
        // Never a stranger: only a process that is still an OpenClaw gateway.
        if proc::info(*p).is_some_and(|i| crate::gateway::is_gateway_process(&i)) {
            proc::signal(*p, nix::sys::signal::Signal::SIGKILL);
        }
    }
    if wait_until(Instant::now() + Duration::from_secs(5), || gone(&pids)) {
        return Ok(());
    }
    if proc::port_open(gw.port) {
        bail!(
            "the gateway did not stop within {}s: port {} is still in use{}",
            deadline.as_secs(),
            gw.port,
            proc::listener_pid(gw.port)
                .map(|p| format!(" by pid {p}"))
                .unwrap_or_default()
        );
    }
    bail!("gateway process(es) {pids:?} survived SIGKILL")
}

/// Starts the gateway through its supervisor (the health gate is the caller's). Returns the pid
/// clawkit spawned itself (unmanaged relaunch), which the health gate watches.
pub fn start(env: &Env, sup: &Supervisor, layout: &Layout) -> Result<Option<u32>> {
    match start_action(env, sup, layout)? {
        Action::Run(cmd) => {
            if sup.kind == Kind::Launchd {
                launchd::start(env, sup)?;
            } else {
                cmd.run_ok()?;
            }
            Ok(None)
        }
        Action::RunAll(cmds) => {
            run_all(cmds)?;
            Ok(None)
        }
        Action::Spawn { .. } => {
            let r = sup
                .relaunch
                .as_ref()
                .expect("spawn actions have a relaunch");
            unmanaged::start(r, layout).map(Some)
        }
        Action::Signal(_) | Action::Nothing => Ok(None),
    }
}

/// Runs `cmds` in order: the last must succeed, the ones before only prepare it.
fn run_all(cmds: Vec<Cmd>) -> Result<()> {
    let n = cmds.len();
    for (i, c) in cmds.into_iter().enumerate() {
        if i + 1 == n {
            c.run_ok()?;
        } else {
            let _ = c.run();
        }
    }
    Ok(())
}

pub fn wait_until(deadline: Instant, mut done: impl FnMut() -> bool) -> bool {
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Splits a systemd `ExecStart=` value (double quotes group, backslash escapes).
pub fn split_command(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut has = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                has = true;
            }
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                    has = true;
                }
            }
            c if c.is_whitespace() && !in_quotes => {
                if has {
                    out.push(std::mem::take(&mut cur));
                    has = false;
                }
            }
            c => {
                cur.push(c);
                has = true;
            }
        }
    }
    if has {
        out.push(cur);
    }
    out
}

impl Supervisor {
    /// The directory Node's `os.tmpdir()` gives the gateway (its `TMPDIR`, else `/tmp`):
    /// OpenClaw keeps its module compile cache in `<tmpdir>/node-compile-cache`.
    pub fn gateway_tmpdir(&self) -> PathBuf {
        self.tmpdir
            .clone()
            .filter(|t| t.is_absolute())
            .unwrap_or_else(|| PathBuf::from("/tmp"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_exec_start() {
        assert_eq!(
            split_command(r#"/usr/bin/node "/a b/openclaw/dist/index.js" gateway --port 18789"#),
            [
                "/usr/bin/node",
                "/a b/openclaw/dist/index.js",
                "gateway",
                "--port",
                "18789"
            ]
        );
        assert_eq!(split_command(r#"a \"b c"#), ["a", "\"b", "c"]);
        assert!(split_command("   ").is_empty());
    }
}
