//! Gateways no service manager owns (containers, tmux, `nohup`): stopped by pid, relaunched
//! detached with the launcher's own command line, cwd and environment.
//!
//! OpenClaw 9.5+ keeps a launcher process (`node …/openclaw gateway run`) above the gateway;
//! 9.4 and older retitle the one process `openclaw-gateway`, which overwrites its argv. Then
//! the command line is rebuilt from `/proc/PID/exe` (node), the install's entry and the port.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use super::{Kind, Relaunch, Supervisor};
use crate::gateway::{is_launcher, Gateway};
use crate::layout::Layout;
use crate::proc::{self, ProcInfo};

const PID1: &str = "the gateway is PID 1 of this container: stopping it stops the container; rebuild the image with the new OpenClaw instead";

fn pin(env: &mut Vec<(std::ffi::OsString, std::ffi::OsString)>, key: &str, value: &Path) {
    if !env.iter().any(|(k, _)| k == key) {
        env.push((key.into(), value.as_os_str().to_os_string()));
    }
}

pub fn detect(gw: &Gateway, layout: &Layout, install_root: Option<&Path>) -> Supervisor {
    let mut sup = Supervisor::none();
    sup.kind = Kind::Unmanaged;
    let launcher = gw
        .launcher
        .clone()
        .or_else(|| gw.process.clone().filter(is_launcher));
    let (source, argv, reconstructed): (Option<ProcInfo>, Option<Vec<String>>, bool) =
        match launcher {
            Some(p) => {
                let argv = p.cmdline.clone();
                (Some(p), Some(argv), false)
            }
            None => {
                let p = gw.process.clone();
                let argv = p
                    .as_ref()
                    .and_then(|p| rebuild_argv(p, install_root, gw.port));
                (p, argv, true)
            }
        };
    match (source, argv) {
        (Some(p), _) if p.pid == 1 || gw.pid == Some(1) => {
            sup.command = p.cmdline.clone();
            sup.relaunch_problem = Some(PID1.into());
        }
        (Some(p), Some(argv)) => {
            sup.command = argv.clone();
            sup.main_pid = Some(p.pid);
            match (proc::environ(p.pid), p.cwd.clone()) {
                (Some(mut env), Some(cwd)) => {
                    if reconstructed {
                        // The rebuilt command line has no `--profile`: pin the state instead.
                        pin(&mut env, "OPENCLAW_STATE_DIR", &layout.state_dir);
                        pin(&mut env, "OPENCLAW_CONFIG_PATH", &layout.config_path);
                    }
                    sup.tmpdir = env
                        .iter()
                        .find(|(k, _)| k == "TMPDIR")
                        .map(|(_, v)| std::path::PathBuf::from(v));
                    sup.relaunch = Some(Relaunch {
                        argv,
                        cwd,
                        env,
                        log: proc::stdout_file(p.pid),
                        reconstructed,
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
        (Some(p), None) => {
            sup.command = p.cmdline.clone();
            sup.relaunch_problem = Some(format!(
                "pid {} does not show the command line that started it, and no OpenClaw install was found to rebuild it",
                p.pid
            ));
        }
        (None, _) => {
            sup.relaunch_problem = Some("the gateway's process is not visible to this user".into())
        }
    }
    sup.derive_paths();
    sup
}

/// `[node, <root>/openclaw.mjs, gateway, run, --port, N]` for a process whose argv was retitled.
fn rebuild_argv(p: &ProcInfo, install_root: Option<&Path>, port: u16) -> Option<Vec<String>> {
    let exe = p.exe.as_ref()?;
    let root = install_root?;
    let is_node = exe
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("node"));
    if !is_node {
        return None;
    }
    Some(vec![
        exe.to_string_lossy().into_owned(),
        root.join("openclaw.mjs").to_string_lossy().into_owned(),
        "gateway".into(),
        "run".into(),
        "--port".into(),
        port.to_string(),
    ])
}

/// SIGTERM to the gateway's processes. Only processes that are OpenClaw gateways (a launcher,
/// or a process retitled `openclaw-gateway`) are signalled: a pid that was reused by another
/// program, or a stranger on the port, is never touched.
pub fn stop(pids: &[u32]) {
    for p in pids {
        if proc::info(*p).is_some_and(|i| crate::gateway::is_gateway_process(&i)) {
            proc::signal(*p, nix::sys::signal::Signal::SIGTERM);
        }
    }
}

/// Where a relaunched gateway's output goes when its old output was not a file.
pub fn log_path(layout: &Layout) -> PathBuf {
    layout.state_dir.join("logs").join("clawkit-gateway.log")
}

/// The log a relaunch writes to.
pub fn relaunch_log(r: Option<&Relaunch>, layout: &Layout) -> PathBuf {
    r.and_then(|r| r.log.clone())
        .unwrap_or_else(|| log_path(layout))
}

/// Starts the gateway in its own session, detached from clawkit; returns its pid.
pub fn start(r: &Relaunch, layout: &Layout) -> Result<u32> {
    let log = relaunch_log(Some(r), layout);
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
