//! systemd user units: `~/.config/systemd/user/openclaw-gateway[-PROFILE].service`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};

use super::{split_command, tool, Kind, Supervisor};
use crate::env::Env;
use crate::exec::Cmd;
use crate::layout::Layout;

pub fn unit_path(env: &Env, layout: &Layout) -> Option<PathBuf> {
    let config_home = env
        .path("XDG_CONFIG_HOME")
        .or_else(|| env.home().map(|h| h.join(".config")))?;
    Some(
        config_home
            .join("systemd/user")
            .join(layout.profile.systemd_unit()),
    )
}

pub fn detect(env: &Env, layout: &Layout) -> Option<Supervisor> {
    let file = unit_path(env, layout)?;
    let text = std::fs::read_to_string(&file).ok()?;
    let mut sup = Supervisor::none();
    sup.kind = Kind::Systemd;
    sup.name = Some(layout.profile.systemd_unit());
    sup.file = Some(file);
    for line in text.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("ExecStart=") {
            sup.command = split_command(v.trim_start_matches(['-', '@', '+', '!']));
        } else if let Some(v) = line.strip_prefix("Environment=") {
            for kv in split_command(v) {
                if let Some(ver) = kv.strip_prefix("OPENCLAW_SERVICE_VERSION=") {
                    sup.service_version = ver.parse().ok();
                } else if let Some(t) = kv.strip_prefix("TMPDIR=") {
                    sup.tmpdir = Some(t.into());
                }
            }
        }
    }
    sup.derive_paths();
    if let Some(systemctl) = tool(env, "systemctl") {
        let out = Cmd::new(systemctl)
            .args(["--user", "show", sup.name.as_deref().unwrap_or_default()])
            .arg("--property=MainPID,ActiveState")
            .timeout(Duration::from_secs(5))
            .run()
            .ok()
            .filter(|o| o.success());
        if let Some(out) = out {
            for line in out.stdout.lines() {
                if let Some(p) = line.strip_prefix("MainPID=") {
                    sup.main_pid = p.trim().parse().ok().filter(|p| *p > 0);
                } else if let Some(s) = line.strip_prefix("ActiveState=") {
                    sup.active = Some(s.trim() == "active");
                }
            }
        }
    }
    Some(sup)
}

/// `systemctl --user VERB UNIT`: the command clawkit runs (and `--dry-run` prints).
pub fn cmd(env: &Env, verb: &str, sup: &Supervisor) -> Result<Cmd> {
    let bin = tool(env, "systemctl").context("systemctl is not on PATH")?;
    let unit = sup.name.as_deref().unwrap_or_default();
    Ok(Cmd::new(bin)
        .args(["--user", verb, unit])
        .timeout(Duration::from_secs(90)))
}

/// Is the unit active (or activating) right now?
pub fn is_active(env: &Env, sup: &Supervisor) -> bool {
    cmd(env, "is-active", sup)
        .ok()
        .and_then(|c| c.timeout(Duration::from_secs(10)).run().ok())
        .is_some_and(|o| matches!(o.stdout.trim(), "active" | "activating" | "reloading"))
}
