//! The running gateway, seen from outside: lock files, HTTP endpoints, process table.
//! Read-only. The `openclaw gateway call` fallback (a Node start) is used only when neither
//! HTTP source gives a version.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::layout::Layout;
use crate::proc::{self, ProcInfo};
use crate::secret::Secret;
use crate::version::Version;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Serving, `/startupz` says `started` (or the era has no startupz and it answers).
    Running,
    /// Answering, but `starting` or `draining`.
    Starting,
    /// Nothing listens on the port.
    Down,
    /// Something that is not an OpenClaw gateway holds the port.
    Foreign,
}

/// A gateway lock file (`{pid, createdAt, configPath, stateDir?, port?, startTime?}`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LockFile {
    pub path: PathBuf,
    pub pid: Option<u32>,
    pub port: Option<u16>,
    pub config_path: Option<PathBuf>,
    pub start_time: Option<u64>,
    /// The recorded process is gone, or the pid now belongs to a process started at another time.
    pub stale: bool,
    pub unreadable: bool,
}

impl LockFile {
    pub fn read(path: &Path) -> Option<LockFile> {
        let text = std::fs::read_to_string(path).ok()?;
        let v: Option<Value> = serde_json::from_str(&text).ok();
        let Some(v) = v else {
            return Some(LockFile {
                path: path.to_path_buf(),
                pid: None,
                port: None,
                config_path: None,
                start_time: None,
                stale: false,
                unreadable: true,
            });
        };
        let pid = v
            .get("pid")
            .and_then(Value::as_u64)
            .and_then(|p| u32::try_from(p).ok());
        let start_time = v.get("startTime").and_then(Value::as_u64);
        let stale = match pid {
            Some(p) if proc::alive(p) => {
                match (start_time, proc::info(p).and_then(|i| i.start_ticks)) {
                    (Some(want), Some(have)) => want != have,
                    _ => false,
                }
            }
            Some(_) => true,
            None => false,
        };
        Some(LockFile {
            path: path.to_path_buf(),
            pid,
            port: v
                .get("port")
                .and_then(Value::as_u64)
                .and_then(|p| u16::try_from(p).ok()),
            config_path: v
                .get("configPath")
                .and_then(Value::as_str)
                .map(PathBuf::from),
            start_time,
            stale,
            unreadable: false,
        })
    }
}

/// Every lock location that can belong to this profile, newest era first.
pub fn lock_paths(layout: &Layout) -> Vec<PathBuf> {
    let name = layout.config_lock_name();
    let uid = nix::unistd::getuid();
    let tmp = std::env::var_os("TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    let mut v = vec![
        layout.lock_dir().join("gateway.state.lock"),
        layout.lock_dir().join(&name),
        tmp.join(format!("openclaw-{uid}")).join(&name),
    ];
    let slash_tmp = PathBuf::from("/tmp")
        .join(format!("openclaw-{uid}"))
        .join(&name);
    if !v.contains(&slash_tmp) {
        v.push(slash_tmp);
    }
    v
}

pub fn read_locks(layout: &Layout) -> Vec<LockFile> {
    lock_paths(layout)
        .iter()
        .filter_map(|p| LockFile::read(p))
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct Gateway {
    pub port: u16,
    pub state: State,
    /// `/startupz` status when known (`started`, `starting`, `draining`).
    pub status: Option<String>,
    pub version: Option<Version>,
    pub version_source: Option<&'static str>,
    /// The real gateway process (lock owner or port listener).
    pub pid: Option<u32>,
    pub process: Option<ProcInfo>,
    /// The `openclaw gateway run` launcher above it, when there is one.
    pub launcher: Option<ProcInfo>,
    pub locks: Vec<LockFile>,
}

impl Gateway {
    pub fn up(&self) -> bool {
        matches!(self.state, State::Running | State::Starting)
    }
}

/// `/startupz` in 8.x+: JSON with a `status`. Older eras answer HTML or 500: not accepted.
pub fn startupz(port: u16, timeout: Duration) -> Option<(u16, Value)> {
    let r = crate::http::get(port, "/startupz", None, timeout)?;
    let v = r.json()?;
    v.get("status")?.as_str()?;
    Some((r.status, v))
}

/// What `/startupz` says about readiness.
#[derive(Debug, Clone, PartialEq)]
pub enum Startup {
    /// 8.x+: a JSON status (`started`, `starting`, `draining`) with the HTTP code.
    Status(u16, Value),
    /// The port answers HTTP, but not with a startup status (4.x-7.x answer the Control UI's
    /// HTML, 3.x a 500): readiness has to come from `/healthz`.
    Unsupported,
    /// No answer (nothing listens, or it did not answer in time).
    NoAnswer,
}

impl Startup {
    pub fn probe(port: u16, timeout: Duration) -> Startup {
        match crate::http::get(port, "/startupz", None, timeout) {
            None => Startup::NoAnswer,
            Some(r) => match r
                .json()
                .filter(|v| v.get("status").and_then(Value::as_str).is_some())
            {
                Some(v) => Startup::Status(r.status, v),
                None => Startup::Unsupported,
            },
        }
    }

    /// `started`, or (for eras without a startup status) `/healthz` ok. A `/healthz` answer never
    /// counts while `/startupz` is merely slow: 8.x+ gateways are live long before they are ready.
    pub fn ready(port: u16, timeout: Duration) -> (bool, String) {
        match Startup::probe(port, timeout) {
            Startup::Status(code, v) => {
                let status = v
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_string();
                (
                    code == 200 && status == "started",
                    format!("/startupz says {status}"),
                )
            }
            Startup::Unsupported => (healthz(port, timeout), "/healthz".to_string()),
            Startup::NoAnswer => (false, "no answer".to_string()),
        }
    }
}

/// `/healthz` `{"ok":true,"status":"live"}` (4.x+).
pub fn healthz(port: u16, timeout: Duration) -> bool {
    crate::http::get(port, "/healthz", None, timeout)
        .and_then(|r| r.json())
        .is_some_and(|v| v.get("ok") == Some(&Value::Bool(true)))
}

/// Probes the gateway of `layout` on `port`. `token` unlocks the 4.x-7.x version endpoint.
pub fn probe(layout: &Layout, port: u16, token: Option<&Secret>) -> Gateway {
    let locks = read_locks(layout);
    let t = Duration::from_millis(1500);
    let mut gw = Gateway {
        port,
        state: State::Down,
        status: None,
        version: None,
        version_source: None,
        pid: None,
        process: None,
        launcher: None,
        locks,
    };
    let mut answers = false;
    if let Some((code, v)) = startupz(port, t) {
        answers = true;
        let status = v.get("status").and_then(Value::as_str).unwrap_or_default();
        gw.status = Some(status.to_string());
        gw.state = if code == 200 && status == "started" {
            State::Running
        } else {
            State::Starting
        };
        if let Some(ver) = v
            .get("version")
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok())
        {
            gw.version = Some(ver);
            gw.version_source = Some("/startupz");
        }
    } else if healthz(port, t) {
        answers = true;
        gw.state = State::Running;
    }
    if answers && gw.version.is_none() {
        if let Some(token) = token {
            let r = crate::http::get(port, "/__openclaw/control-ui-config.json", Some(token), t);
            if let Some(ver) = r
                .filter(|r| r.status == 200)
                .and_then(|r| r.json())
                .and_then(|v| v.get("serverVersion")?.as_str()?.parse().ok())
            {
                gw.version = Some(ver);
                gw.version_source = Some("control-ui-config");
            }
        }
    }
    // The process: the live lock owner whose port matches, else the port's listener. A listener
    // that is no OpenClaw gateway is foreign, even when its accept queue is full (a program that
    // binds and never accepts makes connects time out, so `port_open` alone would miss it).
    let lock_pid = gw
        .locks
        .iter()
        .filter(|l| !l.stale && l.port.is_none_or(|p| p == port))
        .find_map(|l| l.pid.filter(|p| proc::alive(*p)));
    let listener = proc::listener_pid(port);
    if !answers && (listener.is_some() || proc::port_open(port)) {
        // Something listens. An OpenClaw lock owner that is still booting counts as starting.
        gw.state = match (lock_pid, listener.and_then(proc::info)) {
            (Some(_), _) => State::Starting,
            (None, Some(info)) if is_gateway_process(&info) => State::Starting,
            _ => State::Foreign,
        };
    }
    let pid = lock_pid.or(listener);
    if let Some(pid) = pid.filter(|_| gw.state != State::Foreign) {
        gw.pid = Some(pid);
        gw.process = proc::info(pid);
        gw.launcher = gw
            .process
            .as_ref()
            .and_then(|p| proc::info(p.ppid))
            .filter(is_launcher);
    }
    gw
}

/// `node …/openclaw gateway run …` or `node …/dist/index.js gateway …`.
pub fn is_launcher(p: &ProcInfo) -> bool {
    let has_openclaw = p.cmdline.iter().take(3).any(|a| {
        let a = a.to_ascii_lowercase();
        a.ends_with("/openclaw") || a.ends_with("openclaw.mjs") || a.contains("/openclaw/dist/")
    });
    has_openclaw && p.cmdline.iter().any(|a| a == "gateway")
}

/// An OpenClaw gateway process: a launcher (`node …/openclaw gateway run`) or a gateway that
/// retitled itself: `openclaw-gateway` (8.x on), or a bare `openclaw` run by node (6.x/7.x).
/// Every OpenClaw CLI command sets the same bare title (and Node blanks the rest of argv), so
/// the bare form counts only while the process listens on a TCP port, as a gateway does and
/// `openclaw devices list` does not.
pub fn is_gateway_process(p: &ProcInfo) -> bool {
    let first = p.cmdline.first().map(|a| a.trim());
    let retitled_old = || {
        first == Some("openclaw")
            && p.cmdline.iter().skip(1).all(|a| a.trim().is_empty())
            && p.exe.as_ref().is_none_or(|e| {
                e.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("node"))
            })
            && crate::proc::listens(p.pid) != Some(false)
    };
    first == Some("openclaw-gateway") || is_launcher(p) || retitled_old()
}

/// The package root a gateway process runs from, when its command line names one.
pub fn package_root_of(p: &ProcInfo) -> Option<PathBuf> {
    p.cmdline.iter().take(3).find_map(|a| {
        let path = Path::new(a);
        let real = std::fs::canonicalize(path).ok()?;
        real.ancestors()
            .find(|d| {
                d.file_name().is_some_and(|n| n == "openclaw") && d.join("package.json").exists()
            })
            .map(Path::to_path_buf)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_retitled_gateways_are_gateways_and_cli_commands_are_not() {
        let p = |cmdline: &[&str], exe: &str| ProcInfo {
            pid: 1,
            ppid: 0,
            start_ticks: None,
            started_at: None,
            cmdline: cmdline.iter().map(|s| s.to_string()).collect(),
            cwd: None,
            exe: Some(exe.into()),
        };
        // 2026.6.11 (measured): `process.title = "openclaw"`, exe the node binary; it listens
        // (a CLI command with the same title does not).
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut me = p(&["openclaw"], "/opt/node/bin/node");
        me.pid = std::process::id();
        assert!(is_gateway_process(&me));
        drop(listener);
        // Another process with the same title that listens nowhere (this test process may hold
        // other tests' listeners meanwhile): `sleep` stands in.
        let mut cli = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        me.pid = cli.id();
        assert!(
            !is_gateway_process(&me),
            "a bare `openclaw` that does not listen"
        );
        let _ = cli.kill();
        let _ = cli.wait();
        assert!(is_gateway_process(&p(
            &["openclaw-gateway"],
            "/opt/node/bin/node"
        )));
        assert!(!is_gateway_process(&p(
            &["openclaw", "devices", "list"],
            "/opt/node/bin/node"
        )));
        assert!(!is_gateway_process(&p(&["openclaw"], "/usr/bin/python3")));
    }

    #[test]
    fn lock_staleness() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("gateway.state.lock");
        let me = std::process::id();
        let ticks = proc::info(me).unwrap().start_ticks.unwrap();
        std::fs::write(
            &p,
            format!(r#"{{"pid":{me},"port":18789,"startTime":{ticks}}}"#),
        )
        .unwrap();
        let l = LockFile::read(&p).unwrap();
        assert!(!l.stale);
        assert_eq!(l.port, Some(18789));
        // pid reused by a process started at another time
        std::fs::write(&p, format!(r#"{{"pid":{me},"startTime":{}}}"#, ticks + 7)).unwrap();
        assert!(LockFile::read(&p).unwrap().stale);
        // dead pid
        let mut c = std::process::Command::new("true").spawn().unwrap();
        let dead = c.id();
        c.wait().unwrap();
        std::fs::write(&p, format!(r#"{{"pid":{dead}}}"#)).unwrap();
        assert!(LockFile::read(&p).unwrap().stale);
        std::fs::write(&p, "not json").unwrap();
        assert!(LockFile::read(&p).unwrap().unreadable);
    }

    #[test]
    fn launcher_detection() {
        let p = |args: &[&str]| ProcInfo {
            pid: 1,
            ppid: 0,
            start_ticks: None,
            started_at: None,
            cmdline: args.iter().map(|s| s.to_string()).collect(),
            cwd: None,
            exe: None,
        };
        assert!(is_launcher(&p(&[
            "node",
            "/p/bin/openclaw",
            "gateway",
            "run"
        ])));
        assert!(is_launcher(&p(&[
            "/usr/bin/node",
            "/p/lib/node_modules/openclaw/dist/index.js",
            "gateway",
            "--port",
            "1"
        ])));
        assert!(!is_launcher(&p(&["bash"])));
        assert!(!is_launcher(&p(&["node", "/p/bin/openclaw", "doctor"])));
    }
}
