//! launchd agents: `~/Library/LaunchAgents/ai.openclaw.gateway[.PROFILE].plist`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};

use super::{tool, Kind, Supervisor};
use crate::env::Env;
use crate::exec::Cmd;
use crate::layout::Layout;

pub fn plist_path(env: &Env, layout: &Layout) -> Option<PathBuf> {
    Some(
        env.home()?
            .join("Library/LaunchAgents")
            .join(format!("{}.plist", layout.profile.launchd_label())),
    )
}

fn domain() -> String {
    format!("gui/{}", nix::unistd::getuid())
}

pub fn detect(env: &Env, layout: &Layout) -> Option<Supervisor> {
    let file = plist_path(env, layout)?;
    let launchctl = tool(env, "launchctl")?;
    let value = plist::Value::from_file(&file).ok()?;
    let dict = value.as_dictionary()?;
    let mut sup = Supervisor::none();
    sup.kind = Kind::Launchd;
    let label = layout.profile.launchd_label();
    sup.name = Some(label.clone());
    sup.file = Some(file);
    sup.command = dict
        .get("ProgramArguments")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_string().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    sup.tmpdir = dict
        .get("EnvironmentVariables")
        .and_then(|v| v.as_dictionary())
        .and_then(|e| e.get("TMPDIR"))
        .and_then(|v| v.as_string())
        .map(PathBuf::from);
    sup.service_version = dict
        .get("EnvironmentVariables")
        .and_then(|v| v.as_dictionary())
        .and_then(|e| e.get("OPENCLAW_SERVICE_VERSION"))
        .and_then(|v| v.as_string())
        .and_then(|s| s.parse().ok());
    sup.derive_paths();
    let out = Cmd::new(launchctl)
        .args(["print", &format!("{}/{label}", domain())])
        .timeout(Duration::from_secs(5))
        .run()
        .ok();
    match out {
        Some(o) if o.success() => {
            for line in o.stdout.lines().map(str::trim) {
                if let Some(p) = line.strip_prefix("pid = ") {
                    sup.main_pid = p.trim().parse().ok();
                } else if let Some(s) = line.strip_prefix("state = ") {
                    sup.active = Some(s.trim() == "running");
                }
            }
        }
        Some(_) => sup.active = Some(false),
        None => {}
    }
    Some(sup)
}

/// `launchctl bootout gui/UID/LABEL`.
pub fn stop_cmd(env: &Env, sup: &Supervisor) -> Result<Cmd> {
    let bin = tool(env, "launchctl").context("launchctl is not on PATH")?;
    let target = format!("{}/{}", domain(), sup.name.as_deref().unwrap_or_default());
    Ok(Cmd::new(bin)
        .args(["bootout", &target])
        .timeout(Duration::from_secs(60)))
}

/// `launchctl bootstrap gui/UID PLIST` (a `kickstart` follows when the agent is already loaded).
pub fn start_cmd(env: &Env, sup: &Supervisor) -> Result<Cmd> {
    let bin = tool(env, "launchctl").context("launchctl is not on PATH")?;
    let file = sup
        .file
        .as_ref()
        .context("the launchd plist path is unknown")?;
    Ok(Cmd::new(&bin)
        .arg("bootstrap")
        .arg(domain())
        .arg(file)
        .timeout(Duration::from_secs(60)))
}

pub fn stop(env: &Env, sup: &Supervisor) -> Result<()> {
    let cmd = stop_cmd(env, sup)?;
    let out = cmd.run()?;
    // "No such process" (3) / "not loaded" (113): already stopped.
    if !out.success() && !matches!(out.code, Some(3) | Some(113)) {
        anyhow::bail!("`{}` failed: {}", cmd.display(), out.tail(5));
    }
    Ok(())
}

pub fn start(env: &Env, sup: &Supervisor) -> Result<()> {
    let out = start_cmd(env, sup)?.run()?;
    if !out.success() {
        // Already loaded: kick it instead.
        let bin = tool(env, "launchctl").context("launchctl is not on PATH")?;
        let target = format!("{}/{}", domain(), sup.name.as_deref().unwrap_or_default());
        Cmd::new(&bin)
            .args(["kickstart", &target])
            .timeout(Duration::from_secs(60))
            .run_ok()
            .with_context(|| format!("launchctl could not start {target}"))?;
    }
    Ok(())
}

/// Is the agent running right now?
pub fn is_active(env: &Env, sup: &Supervisor) -> bool {
    let Some(bin) = tool(env, "launchctl") else {
        return false;
    };
    Cmd::new(bin)
        .args([
            "print",
            &format!("{}/{}", domain(), sup.name.as_deref().unwrap_or_default()),
        ])
        .timeout(Duration::from_secs(5))
        .run()
        .ok()
        .filter(|o| o.success())
        .is_some_and(|o| o.stdout.lines().any(|l| l.trim() == "state = running"))
}
