//! The mutating steps shared by `update`, `repair`, `reset` and `rollback`: each a small unit
//! with a deadline, recorded for the report and the journal. The rollback path lives here too.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::env::Env;
use crate::gateway::{self, Gateway};
use crate::journal::StepRecord;
use crate::layout::Layout;
use crate::openclaw::OpenClaw;
use crate::printer::Printer;
use crate::proc;
use crate::supervisor::{self, Kind, Supervisor};
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

/// Waits until the gateway serves: `/startupz` `started` (8.x+), else `/healthz` ok (4.x-7.x),
/// else a TCP accept (3.x). Fails early if an unmanaged relaunch died.
pub fn health_gate(
    m: &Member,
    deadline: Duration,
    spawned: Option<u32>,
    line: &crate::printer::StepLine,
) -> Result<String> {
    let started = Instant::now();
    let end = started + deadline;
    let mut last = String::from("no answer");
    loop {
        if let Some((code, v)) = gateway::startupz(m.port, Duration::from_millis(1000)) {
            let status = v.get("status").and_then(|s| s.as_str()).unwrap_or("?");
            if code == 200 && status == "started" {
                return Ok(format!(
                    "healthy after {:.1}s",
                    started.elapsed().as_secs_f64()
                ));
            }
            last = format!("/startupz says {status}");
        } else if gateway::healthz(m.port, Duration::from_millis(1000)) {
            return Ok(format!(
                "healthy after {:.1}s (/healthz)",
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
    lines[lines.len().saturating_sub(n)..].join("\n")
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

/// Removes a directory tree, ignoring "already gone".
pub fn remove_tree(p: &Path) -> Result<()> {
    match std::fs::remove_dir_all(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", p.display())),
    }
}

// ---------------------------------------------------------------------------------------------
// The bracket shared by update, rollback and backup restores: each function acts on every
// member and records one step per gateway. `label` prefixes step names ("rollback: ").

pub const STOP_DEADLINE: Duration = Duration::from_secs(30);

/// Stops every member that runs (or whose service is active).
pub fn stop_members(env: &Env, rec: &mut Recorder, members: &[Member], label: &str) -> Result<()> {
    for m in members
        .iter()
        .filter(|m| m.was_running || m.supervisor.active == Some(true))
    {
        rec.run(&format!("{label}stop {}", m.label()), |_| {
            Ok(((), stop(env, m, m.stop_deadline)?))
        })?;
    }
    Ok(())
}

/// Stops whatever serves each member's port now (re-probed): the new gateway on a rollback path.
pub fn stop_current(env: &Env, rec: &mut Recorder, members: &[Member], label: &str) -> Result<()> {
    for m in members {
        let now = gateway::probe(&m.layout, m.port, None);
        if now.up() || now.pid.is_some() {
            let mut current = m.clone();
            current.gateway = now;
            if current.supervisor.kind == Kind::Unmanaged {
                current.supervisor.main_pid = current.gateway.launcher.as_ref().map(|l| l.pid);
            }
            rec.run(&format!("{label}stop {}", m.label()), |_| {
                Ok(((), stop(env, &current, m.stop_deadline)?))
            })?;
        }
    }
    Ok(())
}

/// Backs up every member's state (run with the gateways stopped).
pub fn backup_members(
    rec: &mut Recorder,
    members: &[Member],
    id: &str,
    reason: &str,
    from: Option<String>,
    to: Option<String>,
) -> Result<Vec<crate::backup::Backup>> {
    let mut out = Vec::new();
    for m in members {
        let b = rec.run(&format!("back up {}", m.layout.state_dir.display()), |_| {
            let b = crate::backup::create(&m.layout, id, reason, from.clone(), to.clone())?;
            let detail = format!(
                "{} files, {} KB → {}",
                b.manifest.entries.len(),
                b.manifest.total_size() / 1024,
                b.dir.display()
            );
            Ok((b, detail))
        })?;
        out.push(b);
    }
    Ok(out)
}

/// Restores each member's state from its backup, byte for byte.
pub fn restore_members(
    rec: &mut Recorder,
    members: &[Member],
    backups: &[crate::backup::Backup],
    label: &str,
) -> Result<()> {
    for (b, m) in backups.iter().zip(members) {
        rec.run(
            &format!("{label}restore {}", m.layout.state_dir.display()),
            |_| {
                b.restore(&m.layout)?;
                Ok((
                    (),
                    format!("{} entries byte-identical", b.manifest.entries.len()),
                ))
            },
        )?;
    }
    Ok(())
}

/// Starts each member for which `which` holds and waits until it is healthy.
pub fn start_members(
    env: &Env,
    rec: &mut Recorder,
    members: &[Member],
    which: impl Fn(&Member) -> bool,
    timeout: Duration,
    label: &str,
) -> Result<()> {
    for m in members.iter().filter(|m| which(m)) {
        let spawned = rec.run(&format!("{label}start {}", m.label()), |_| {
            let pid = start(env, m)?;
            let detail = pid.map_or(format!("via {}", m.supervisor.kind.as_str()), |p| {
                format!("pid {p}")
            });
            Ok((pid, detail))
        })?;
        rec.run(&format!("{label}health gate"), |line| {
            Ok(((), health_gate(m, timeout, spawned, line)?))
        })?;
    }
    Ok(())
}

/// Starts the members that were running and are down now (nothing else changed).
pub fn restart_if_down(
    env: &Env,
    rec: &mut Recorder,
    members: &[Member],
    timeout: Duration,
) -> Result<()> {
    let down: Vec<Member> = members
        .iter()
        .filter(|m| m.was_running)
        .filter(|m| {
            !gateway::healthz(m.port, Duration::from_millis(500))
                && gateway::startupz(m.port, Duration::from_millis(500)).is_none()
        })
        .cloned()
        .collect();
    start_members(env, rec, &down, |_| true, timeout, "restart: ")
}

/// Checks that every started member's gateway reports `want` (when it reports anything).
pub fn verify_members(
    rec: &mut Recorder,
    members: &[Member],
    which: impl Fn(&Member) -> bool,
    cli: Option<&OpenClaw>,
    want: Option<&Version>,
    label: &str,
) -> Result<()> {
    for m in members.iter().filter(|m| which(m)) {
        rec.run(&format!("{label}verify {}", m.label()), |_| {
            let v = running_version(m, cli);
            let shown = |v: Option<&Version>| v.map_or("?".to_string(), |v| v.to_string());
            match (&v, want) {
                (Some(got), Some(w)) if got != w => {
                    bail!("the gateway on port {} reports {got}, expected {w}", m.port)
                }
                (None, Some(_)) => {
                    bail!("the gateway on port {} does not report its version", m.port)
                }
                _ => Ok(((), format!("gateway :{} {}", m.port, shown(v.as_ref())))),
            }
        })?;
    }
    Ok(())
}

/// The gateways an operation on `snap`'s install stops and restarts: the selected profile's,
/// and with `siblings` every other profile's gateway that runs from the same install. Refuses
/// (exit 6) when one of them could not be brought back.
pub fn members(
    env: &Env,
    snap: &crate::probe::Snapshot,
    siblings: bool,
    start: bool,
    restart: bool,
    notes: &mut Vec<String>,
) -> Result<Vec<Member>, crate::exit::Failure> {
    use crate::exit::Failure;
    let refuse = |msg: String, fix: &str| Failure::refused(msg).with_fix(fix);
    let primary = Member {
        layout: snap.layout.clone(),
        port: snap.port,
        gateway: snap.gateway.clone(),
        supervisor: snap.supervisor.clone(),
        was_running: snap.gateway.up(),
        restart: restart && (snap.gateway.up() || start),
        stop_deadline: STOP_DEADLINE,
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
    if primary.was_running
        && primary.supervisor.kind == Kind::Unmanaged
        && primary.supervisor.relaunch.is_none()
    {
        return Err(refuse(
            format!(
                "the running gateway cannot be restarted by clawkit: {}",
                primary.supervisor.relaunch_problem.as_deref().unwrap_or("unknown command line")
            ),
            "stop it yourself and use --start, or run it under a service (openclaw gateway install)",
        ));
    }
    if start && primary.supervisor.kind == Kind::None && !primary.was_running {
        return Err(refuse(
            "no gateway is running and no service is installed to start one".into(),
            "start the gateway (openclaw gateway run) or install a service (openclaw gateway install), then retry",
        ));
    }
    let mut out = vec![primary];
    if !siblings {
        return Ok(out);
    }
    for sib in crate::probe::siblings(env, snap) {
        if sib.supervisor.kind == Kind::Unmanaged && sib.supervisor.relaunch.is_none() {
            return Err(refuse(
                format!(
                    "the {} gateway (port {}) runs from this install but cannot be restarted by clawkit: {}",
                    sib.layout.profile.name().unwrap_or("default"),
                    sib.port,
                    sib.supervisor.relaunch_problem.as_deref().unwrap_or("unknown command line")
                ),
                "stop it yourself first, or run it under a service",
            ));
        }
        if sib.assumed {
            notes.push(format!(
                "the gateway of {} is assumed to run from this install (its process does not name its package)",
                sib.layout.state_dir.display()
            ));
        }
        out.push(Member {
            layout: sib.layout,
            port: sib.port,
            gateway: sib.gateway,
            supervisor: sib.supervisor,
            was_running: true,
            restart,
            stop_deadline: STOP_DEADLINE,
        });
    }
    if out.len() > 1 {
        notes.push(format!(
            "{} gateways run from this install; all are stopped before the swap and verified after",
            out.len()
        ));
    }
    Ok(out)
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

/// How a [`bracket`] ended.
pub enum Bracketed {
    Done {
        safety: Vec<crate::backup::Backup>,
    },
    /// The change failed and everything was put back (the old state runs, verified).
    Undone {
        error: String,
        safety: Vec<crate::backup::Backup>,
    },
    /// The change failed and putting it back failed too.
    Failed {
        error: String,
        safety: Vec<crate::backup::Backup>,
    },
}

/// Stop → safety backup → `change` → start → verify (`want`), and on any failure after the stop:
/// stop what runs, `undo`, restore the safety backup, start the old gateways again.
#[allow(clippy::too_many_arguments)]
pub fn bracket(
    env: &Env,
    rec: &mut Recorder,
    members: &[Member],
    safety_id: &str,
    reason: &str,
    timeout: Duration,
    want: Option<&Version>,
    cli: Option<&OpenClaw>,
    change: &mut dyn FnMut(&mut Recorder) -> Result<()>,
    undo: &mut dyn FnMut(&mut Recorder) -> Result<()>,
) -> Bracketed {
    if let Err(e) = stop_members(env, rec, members, "") {
        let error = format!("could not stop the gateway: {e:#}");
        return match restart_if_down(env, rec, members, timeout) {
            Ok(()) => Bracketed::Undone {
                error,
                safety: vec![],
            },
            Err(e2) => Bracketed::Failed {
                error: format!("{error}; restarting it failed: {e2:#}"),
                safety: vec![],
            },
        };
    }
    let safety = match backup_members(rec, members, safety_id, reason, None, None) {
        Ok(b) => b,
        Err(e) => {
            let error = format!("could not back up the current state: {e:#}");
            return match restart_if_down(env, rec, members, timeout) {
                Ok(()) => Bracketed::Undone {
                    error,
                    safety: vec![],
                },
                Err(e2) => Bracketed::Failed {
                    error: format!("{error}; restarting failed: {e2:#}"),
                    safety: vec![],
                },
            };
        }
    };
    let forward = change(rec)
        .and_then(|_| start_members(env, rec, members, |m| m.restart, timeout, ""))
        .and_then(|_| verify_members(rec, members, |m| m.restart, cli, want, ""));
    let Err(e) = forward else {
        return Bracketed::Done { safety };
    };
    let error = format!("{e:#}");
    let back = stop_current(env, rec, members, "undo: ")
        .and_then(|_| undo(rec))
        .and_then(|_| restore_members(rec, members, &safety, "undo: "))
        .and_then(|_| start_members(env, rec, members, |m| m.was_running, timeout, "undo: "));
    match back {
        Ok(()) => Bracketed::Undone { error, safety },
        Err(e2) => Bracketed::Failed {
            error: format!("{error}; undoing it failed too: {e2:#}"),
            safety,
        },
    }
}
