//! Gateways no service manager owns (containers, tmux, `nohup`): stopped by pid, relaunched
//! detached with the launcher's own command line, cwd and environment.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use super::{Kind, Relaunch, Supervisor};
use crate::gateway::{is_launcher, Gateway};
use crate::layout::Layout;
use crate::proc;

pub fn detect(gw: &Gateway) -> Supervisor {
    let mut sup = Supervisor::none();
    sup.kind = Kind::Unmanaged;
    // The launcher when there is one; else the gateway itself if its argv still says what it is.
    let source = gw
        .launcher
        .clone()
        .or_else(|| gw.process.clone().filter(is_launcher));
    match source {
        Some(p) if p.pid == 1 => {
            sup.command = p.cmdline.clone();
            sup.relaunch_problem = Some(
                "the gateway is PID 1 of this container: stopping it stops the container; rebuild the image with the new OpenClaw instead".into(),
            );
        }
        Some(p) => {
            sup.command = p.cmdline.clone();
            sup.main_pid = Some(p.pid);
            match (proc::environ(p.pid), p.cwd.clone()) {
                (Some(env), Some(cwd)) => {
                    sup.relaunch = Some(Relaunch {
                        argv: p.cmdline.clone(),
                        cwd,
                        env,
                    })
                }
                _ => {
                    sup.relaunch_problem = Some(format!(
                        "cannot read the environment or cwd of pid {} (another user's process?)",
                        p.pid
                    ))
                }
            }
        }
        None => {
            sup.relaunch_problem = Some(match gw.pid {
                Some(1) => "the gateway is PID 1 of this container: rebuild the image with the new OpenClaw instead".into(),
                Some(pid) => format!("pid {pid} does not show the command line that started it"),
                None => "the gateway's process is not visible to this user".into(),
            })
        }
    }
    sup.derive_paths();
    sup
}

pub fn stop(pids: &[u32]) {
    for p in pids {
        proc::signal(*p, nix::sys::signal::Signal::SIGTERM);
    }
}

/// Where a relaunched gateway's output goes.
pub fn log_path(layout: &Layout) -> PathBuf {
    layout.state_dir.join("logs").join("clawkit-gateway.log")
}

/// Starts the gateway in its own session, detached from clawkit; returns its pid.
pub fn start(r: &Relaunch, layout: &Layout) -> Result<u32> {
    let log = log_path(layout);
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let open = || {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .with_context(|| format!("cannot open {}", log.display()))
    };
    let (program, args) = r.argv.split_first().context("empty gateway command line")?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(&r.cwd)
        .env_clear()
        .envs(r.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(open()?)
        .stderr(open()?);
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot relaunch the gateway ({program})"))?;
    Ok(child.id())
}
