//! The primitive steps every mutating command is built from (stop, start, health gate, verify,
//! swap, link): each a small unit with a deadline, recorded for the report and the journal by
//! the [`Recorder`]. The transaction (`txn`) decides their order and undoes them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::env::Env;
use crate::gateway;
use crate::journal::StepRecord;
use crate::layout::Layout;
use crate::member::Member;
use crate::openclaw::OpenClaw;
use crate::printer::Printer;
use crate::proc;
use crate::supervisor::{self, Kind};
use crate::version::Version;

/// Records each step's outcome and duration, and shows it as it happens.
pub struct Recorder<'p> {
    pub printer: &'p Printer,
    pub steps: Vec<StepRecord>,
}

impl<'p> Recorder<'p> {
    pub fn new(printer: &'p Printer) -> Self {
        Recorder {
            printer,
            steps: Vec::new(),
        }
    }

    /// Runs one step. `f` returns a short detail for the report.
    pub fn run<T>(
        &mut self,
        name: &str,
        f: impl FnOnce(&crate::printer::StepLine) -> Result<(T, String)>,
    ) -> Result<T> {
        let line = self.printer.step(name);
        let started = Instant::now();
        let result = f(&line);
        let duration_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok((value, detail)) => {
                line.finish("ok", &detail);
                self.steps.push(StepRecord {
                    name: name.into(),
                    status: "ok".into(),
                    duration_ms,
                    detail,
                });
                Ok(value)
            }
            Err(e) => {
                let detail = format!("{e:#}");
                line.finish("fail", detail.lines().next().unwrap_or_default());
                self.steps.push(StepRecord {
                    name: name.into(),
                    status: "failed".into(),
                    duration_ms,
                    detail,
                });
                Err(e)
            }
        }
    }

    pub fn skip(&mut self, name: &str, why: &str) {
        self.printer.step(name).finish("skip", why);
        self.steps.push(StepRecord {
            name: name.into(),
            status: "skipped".into(),
            duration_ms: 0,
            detail: why.into(),
        });
    }
}

/// Stops a member's gateway and proves it is gone (pid dead, port free).
pub fn stop(env: &Env, m: &Member, deadline: Duration) -> Result<String> {
    if !m.gateway.up() && m.supervisor.kind != Kind::Systemd && m.supervisor.kind != Kind::Launchd {
        return Ok("was not running".into());
    }
    supervisor::stop(env, &m.supervisor, &m.gateway, deadline)?;
    Ok(format!(
        "{} stopped, port {} free",
        m.gateway
            .pid
            .map_or("gateway".to_string(), |p| format!("pid {p}")),
        m.port
    ))
}

/// Stops whatever serves a member's port now (re-probed): the new gateway on an undo path.
pub fn stop_current(env: &Env, rec: &mut Recorder, m: &Member, label: &str) -> Result<()> {
    let now = gateway::probe(&m.layout, m.port, None);
    let service_active = matches!(m.supervisor.kind, Kind::Systemd | Kind::Launchd)
        && supervisor::is_active(env, &m.supervisor);
    if now.up() || now.pid.is_some() || service_active {
        let mut current = m.clone();
        current.gateway = now;
        if current.supervisor.kind == Kind::Unmanaged {
            current.supervisor.main_pid = current.gateway.launcher.as_ref().map(|l| l.pid);
        }
        rec.run(&format!("{label}stop {}", m.label()), |_| {
            supervisor::stop(env, &current.supervisor, &current.gateway, m.stop_deadline)?;
            Ok(((), format!("port {} free", m.port)))
        })?;
    }
    Ok(())
}

/// Starts a member's gateway through its supervisor; returns the pid clawkit spawned, if any.
pub fn start(env: &Env, m: &Member) -> Result<Option<u32>> {
    if proc::port_open(m.port) {
        let by = proc::listener_pid(m.port)
            .map(|p| format!(" by pid {p}"))
            .unwrap_or_default();
        bail!(
            "port {} is already in use{by}: another program took it while the gateway was stopped",
            m.port
        );
    }
    supervisor::start(env, &m.supervisor, &m.layout)
}

/// Waits until the gateway serves: `/startupz` `started` (8.x+), else `/healthz` ok (4.x-7.x).
/// Fails early if an unmanaged relaunch died, and when `cancel` is set.
pub fn health_gate(
    env: &Env,
    m: &Member,
    deadline: Duration,
    spawned: Option<u32>,
    line: &crate::printer::StepLine,
    cancel: Option<&std::sync::Arc<std::sync::atomic::AtomicBool>>,
) -> Result<String> {
    let started = Instant::now();
    let end = started + deadline;
    let mut last;
    // systemd knows of a crash at once: fail then, before `Restart=` burns the start limit.
    let systemd = m.supervisor.kind == supervisor::Kind::Systemd;
    let baseline = systemd
        .then(|| supervisor::systemd::restarts(env, &m.supervisor))
        .flatten();
    let mut polls = 0u32;
    loop {
        let (ready, what) = gateway::Startup::ready(m.port, Duration::from_millis(1000));
        let healthy = ready.then(|| {
            if what == "/healthz" {
                " (/healthz)"
            } else {
                ""
            }
        });
        last = what;
        if let Some(how) = healthy {
            // A gateway clawkit spawned itself must be the one answering: another program (or
            // gateway) that took the port meanwhile is not a healthy restart.
            if let Some(pid) = spawned {
                let listener = proc::listener_pid(m.port);
                if listener.is_some_and(|l| !proc::descends_from(l, pid)) {
                    bail!(
                        "port {} answers, but from pid {} and not from the gateway clawkit started (pid {pid}): another program took the port while the gateway was stopped",
                        m.port,
                        listener.unwrap_or_default()
                    );
                }
            }
            return Ok(format!(
                "healthy after {:.1}s{how}",
                started.elapsed().as_secs_f64()
            ));
        }
        line.set(&last);
        if let Some(pid) = spawned.filter(|p| !proc::alive(*p)) {
            let log =
                supervisor::unmanaged::relaunch_log(m.supervisor.relaunch.as_ref(), &m.layout);
            bail!(
                "the gateway (pid {pid}) exited during startup; last lines of {}:\n{}",
                log.display(),
                crate::exec::indent(&tail_file(&log, 8))
            );
        }
        polls += 1;
        if systemd && polls % 3 == 0 {
            if let Some(why) = supervisor::systemd::crashed(env, &m.supervisor, baseline) {
                bail!("{why}");
            }
        }
        if cancel.is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst)) {
            bail!("interrupted while waiting for the gateway to become healthy");
        }
        if Instant::now() >= end {
            bail!(
                "the gateway did not become healthy within {}s ({last})",
                deadline.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn tail_file(p: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(p).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    crate::secret::redact_text(&lines[lines.len().saturating_sub(n)..].join("\n"))
}

/// The version the running gateway reports, from the cheapest source that answers.
pub fn running_version(m: &Member, cli: Option<&OpenClaw>) -> Option<Version> {
    let token = m
        .layout
        .config_path
        .exists()
        .then(|| crate::config::Config::load(&m.layout.config_path).token)
        .flatten();
    let gw = gateway::probe(&m.layout, m.port, token.as_ref());
    gw.version
        .or_else(|| cli.and_then(|c| c.gateway_runtime_version(&m.layout, m.port)))
}

/// Checks that a member's gateway reports `want` (any version when `want` is `None`).
pub fn verify_version(
    m: &Member,
    cli: Option<&OpenClaw>,
    want: Option<&Version>,
) -> Result<String> {
    let v = running_version(m, cli);
    match (&v, want) {
        (Some(got), Some(w)) if got != w => {
            bail!("the gateway on port {} reports {got}, expected {w}", m.port)
        }
        (None, Some(_)) => {
            bail!("the gateway on port {} does not report its version", m.port)
        }
        _ => Ok(format!(
            "gateway :{} {}",
            m.port,
            v.map_or("?".to_string(), |v| v.to_string())
        )),
    }
}

/// Renames `from` to `to`, creating `to`'s parent. Same filesystem only (that is the point).
pub fn rename(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::rename(from, to)
        .with_context(|| format!("cannot move {} to {}", from.display(), to.display()))
}

/// Points `<prefix>/bin/openclaw` at the package's bin entry (relative, as npm does).
pub fn link_bin(prefix: &Path, bin_entry: &str) -> Result<Option<String>> {
    let bin_dir = prefix.join("bin");
    std::fs::create_dir_all(&bin_dir)?;
    let link = bin_dir.join("openclaw");
    let want = PathBuf::from("../lib/node_modules/openclaw").join(bin_entry);
    if std::fs::read_link(&link).ok().as_deref() == Some(want.as_path()) {
        return Ok(None);
    }
    let tmp = bin_dir.join(".openclaw.clawkit-link");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&want, &tmp)?;
    std::fs::rename(&tmp, &link)?;
    Ok(Some(format!("bin/openclaw -> {}", want.display())))
}

/// The package's `bin.openclaw` entry (`openclaw.mjs` when unreadable).
pub fn bin_entry(root: &Path) -> String {
    std::fs::read_to_string(root.join("package.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| match v.get("bin") {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Object(o)) => o
                .get(crate::install::PACKAGE)
                .and_then(serde_json::Value::as_str)
                .map(String::from),
            _ => None,
        })
        .map(|s| s.trim_start_matches("./").to_string())
        .unwrap_or_else(|| "openclaw.mjs".into())
}

/// Removes a directory tree, ignoring "already gone".
pub fn remove_tree(p: &Path) -> Result<()> {
    match std::fs::remove_dir_all(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", p.display())),
    }
}

/// OpenClaw CLI processes (`openclaw … <verb> …`) working on `state_dir`: clawkit pins
/// `OPENCLAW_STATE_DIR` in every command it runs, so its own children are found by it.
pub fn openclaw_processes(state_dir: &Path, verb: &str) -> Vec<u32> {
    let me = std::process::id();
    proc::all_pids()
        .into_iter()
        .filter(|pid| *pid != me)
        .filter(|pid| {
            proc::info(*pid).is_some_and(|i| {
                i.cmdline
                    .iter()
                    .take(3)
                    .any(|a| a.ends_with("openclaw.mjs") || a.ends_with("/openclaw"))
                    && i.cmdline.iter().any(|a| a == verb)
            })
        })
        .filter(|pid| {
            proc::environ(*pid).is_some_and(|env| {
                env.iter()
                    .any(|(k, v)| k == "OPENCLAW_STATE_DIR" && Path::new(v) == state_dir)
            })
        })
        .collect()
}

/// Ends OpenClaw commands a killed clawkit left running on this state (a migration runs on in
/// its own process group): SIGTERM, then SIGKILL after 10 s.
pub fn end_orphans(rec: &mut Recorder, layout: &Layout, label: &str) -> Result<()> {
    let orphans: Vec<u32> = ["doctor", "devices"]
        .iter()
        .flat_map(|verb| openclaw_processes(&layout.state_dir, verb))
        .collect();
    if orphans.is_empty() {
        return Ok(());
    }
    rec.run(
        &format!("{label}stop the orphaned OpenClaw command"),
        |_| {
            for pid in &orphans {
                proc::signal(*pid, nix::sys::signal::Signal::SIGTERM);
            }
            let gone = supervisor::wait_until(Instant::now() + Duration::from_secs(10), || {
                orphans.iter().all(|p| !proc::alive(*p))
            });
            if !gone {
                for pid in &orphans {
                    proc::signal(*pid, nix::sys::signal::Signal::SIGKILL);
                }
            }
            Ok(((), format!("pid(s) {orphans:?}")))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn member(port: u16) -> Member {
        let dir = std::env::temp_dir();
        let layout = Layout::for_state_dir(&dir, &dir.join("clawkit-steps-test"), None);
        Member {
            gateway: gateway::probe(&layout, port, None),
            layout,
            port,
            supervisor: supervisor::Supervisor::restored(Kind::Unmanaged, None, None, vec![], None),
            was_running: true,
            restart: true,
            stop_deadline: Duration::from_secs(1),
            origin: crate::identify::Origin::Unknown { why: "test".into() },
        }
    }

    /// A healthy answer on the port from a process that is not the gateway clawkit spawned is
    /// not a healthy restart (another program took the port while the gateway was stopped).
    #[test]
    fn health_gate_wants_the_spawned_gateway_on_the_port() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                let mut s = s;
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let body = r#"{"ok":true,"status":"started","version":"2026.9.4"}"#;
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        let mut other = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let printer = Printer::new(false, true, &Env::default());
        let line = printer.step("health gate");
        let err = health_gate(
            &Env::default(),
            &member(port),
            Duration::from_secs(5),
            Some(other.id()),
            &line,
            None,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("not from the gateway clawkit started"),
            "{err}"
        );
        // The answering process itself (here: this test) is accepted.
        let line = printer.step("health gate");
        health_gate(
            &Env::default(),
            &member(port),
            Duration::from_secs(5),
            Some(std::process::id()),
            &line,
            None,
        )
        .unwrap();
        let _ = other.kill();
        let _ = other.wait();
        assert!(proc::descends_from(other.id(), other.id()));
        assert!(!proc::descends_from(std::process::id(), other.id()));
    }
}
