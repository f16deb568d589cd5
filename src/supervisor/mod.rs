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
use crate::gateway::Gateway;
use crate::layout::Layout;
use crate::proc;
use crate::version::Version;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
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

#[derive(Debug, Clone, Serialize)]
pub struct Supervisor {
    pub kind: Kind,
    /// Unit name or launchd label.
    pub name: Option<String>,
    /// Unit file or plist.
    pub file: Option<PathBuf>,
    /// The service's command line (ExecStart / ProgramArguments) or the launcher's argv.
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
    /// Why an unmanaged gateway cannot be relaunched (PID 1, no launcher, unreadable /proc).
    pub relaunch_problem: Option<String>,
}

impl Supervisor {
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
        s.relaunch = relaunch;
        s.derive_paths();
        s
    }

    /// Reads what a service command line tells about the install it runs.
    fn derive_paths(&mut self) {
        let node = self.command.first().map(PathBuf::from);
        self.node = node.filter(|n| {
            n.file_name()
                .is_some_and(|f| f.to_string_lossy().starts_with("node"))
        });
        self.package_root = self.command.iter().take(3).find_map(|a| {
            let p = PathBuf::from(a);
            let root = p
                .ancestors()
                .find(|d| d.file_name().is_some_and(|n| n == "openclaw"))?
                .to_path_buf();
            Some(std::fs::canonicalize(&root).unwrap_or(root))
        });
    }
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
    let path = env.get_os("PATH")?;
    which::which_in(name, Some(path), std::env::current_dir().ok()?).ok()
}

/// Stops the gateway through its supervisor and proves it stopped: every pid gone and the port
/// free. SIGKILL is the last resort after `deadline`.
pub fn stop(env: &Env, sup: &Supervisor, gw: &Gateway, deadline: Duration) -> Result<()> {
    let started = Instant::now();
    let pids: Vec<u32> = gw
        .pid
        .into_iter()
        .chain(gw.launcher.as_ref().map(|l| l.pid))
        .chain(sup.main_pid)
        .collect();
    match sup.kind {
        Kind::Systemd => systemd::stop(env, sup)?,
        Kind::Launchd => launchd::stop(env, sup)?,
        Kind::Unmanaged => unmanaged::stop(&pids),
        Kind::None => {}
    }
    let gone = |pids: &[u32]| pids.iter().all(|p| !proc::alive(*p)) && !proc::port_open(gw.port);
    if wait_until(started + deadline, || gone(&pids)) {
        return Ok(());
    }
    for p in &pids {
        proc::signal(*p, nix::sys::signal::Signal::SIGKILL);
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
    match sup.kind {
        Kind::Systemd => systemd::start(env, sup).map(|_| None),
        Kind::Launchd => launchd::start(env, sup).map(|_| None),
        Kind::Unmanaged => match &sup.relaunch {
            Some(r) => unmanaged::start(r, layout).map(Some),
            None => bail!(
                "cannot relaunch this gateway: {}",
                sup.relaunch_problem
                    .as_deref()
                    .unwrap_or("its command line is unknown")
            ),
        },
        Kind::None => Ok(None),
    }
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
