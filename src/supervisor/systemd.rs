//! systemd user units: `~/.config/systemd/user/openclaw-gateway[-PROFILE].service`.

use std::collections::BTreeMap;
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
    let props = show(env, &sup, &["MainPID", "ActiveState"]);
    sup.main_pid = props
        .get("MainPID")
        .and_then(|p| p.parse().ok())
        .filter(|p| *p > 0);
    sup.active = props.get("ActiveState").map(|s| s == "active");
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

/// `systemctl --user daemon-reload` (it takes no unit).
pub fn daemon_reload(env: &Env) -> Result<Cmd> {
    let bin = tool(env, "systemctl").context("systemctl is not on PATH")?;
    Ok(Cmd::new(bin)
        .args(["--user", "daemon-reload"])
        .timeout(Duration::from_secs(60)))
}

/// Is the unit active (or activating) right now?
pub fn is_active(env: &Env, sup: &Supervisor) -> bool {
    cmd(env, "is-active", sup)
        .ok()
        .and_then(|c| c.timeout(Duration::from_secs(10)).run().ok())
        .is_some_and(|o| matches!(o.stdout.trim(), "active" | "activating" | "reloading"))
}

/// `systemctl --user show UNIT --property=…`: the properties systemd reported (none when
/// systemctl is missing or fails).
pub fn show(env: &Env, sup: &Supervisor, props: &[&str]) -> BTreeMap<String, String> {
    show_unit(env, sup.name.as_deref().unwrap_or_default(), props)
}

/// The same for any unit by name; unset values (empty, `n/a`) are left out.
pub fn show_unit(env: &Env, unit: &str, props: &[&str]) -> BTreeMap<String, String> {
    let Some(systemctl) = tool(env, "systemctl") else {
        return BTreeMap::new();
    };
    Cmd::new(systemctl)
        .args(["--user", "show", unit])
        .arg(format!("--property={}", props.join(",")))
        .timeout(Duration::from_secs(10))
        .run()
        .ok()
        .filter(|o| o.success())
        .map(|o| {
            o.stdout
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k, v.trim()))
                .filter(|(_, v)| !v.is_empty() && *v != "n/a")
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// How many times systemd has restarted the unit's process (`NRestarts`).
pub fn restarts(env: &Env, sup: &Supervisor) -> Option<u32> {
    show(env, sup, &["NRestarts"])
        .get("NRestarts")
        .and_then(|n| n.parse().ok())
}

/// Has the unit's gateway died since it was started? systemd knows at once (the unit is
/// `failed`, or in `auto-restart`, or `NRestarts` grew past `baseline`), long before a health
/// gate would give up; waiting would only let `Restart=` burn the unit's start limit.
pub fn crashed(env: &Env, sup: &Supervisor, baseline: Option<u32>) -> Option<String> {
    let p = show(
        env,
        sup,
        &[
            "ActiveState",
            "SubState",
            "NRestarts",
            "Result",
            "ExecMainStatus",
        ],
    );
    let active = p.get("ActiveState").map(String::as_str).unwrap_or("");
    let sub = p.get("SubState").map(String::as_str).unwrap_or("");
    let restarts: Option<u32> = p.get("NRestarts").and_then(|n| n.parse().ok());
    let restarted = matches!((restarts, baseline), (Some(n), Some(b)) if n > b);
    // A gateway that restarts itself under systemd on purpose (OpenClaw exits cleanly and lets
    // `Restart=` bring it back) is not a crash: only a failed unit, or a restart after a failure.
    let clean = p.get("Result").is_none_or(|r| r == "success")
        && p.get("ExecMainStatus").is_none_or(|s| s == "0");
    if active != "failed" && !((sub == "auto-restart" || restarted) && !clean) {
        return None;
    }
    let unit = sup.name.as_deref().unwrap_or_default();
    let mut what = format!("the service {unit} crashed during startup (ActiveState={active}");
    if !sub.is_empty() {
        what.push_str(&format!(", SubState={sub}"));
    }
    if let Some(r) = p.get("Result") {
        what.push_str(&format!(", Result={r}"));
    }
    if let Some(s) = p.get("ExecMainStatus") {
        what.push_str(&format!(", exit status {s}"));
    }
    if let (Some(n), Some(b)) = (restarts, baseline) {
        what.push_str(&format!(", restarted {} time(s)", n.saturating_sub(b)));
    }
    what.push(')');
    let tail = journal_tail(env, sup, 8);
    if !tail.is_empty() {
        what.push_str(&format!(
            "; last lines of `journalctl --user -u {unit}`:\n{}",
            crate::exec::indent(&crate::secret::redact_text(&tail))
        ));
    }
    Some(what)
}

/// The unit's last `n` journal lines (empty when journalctl is missing or has none).
pub fn journal_tail(env: &Env, sup: &Supervisor, n: usize) -> String {
    let Some(journalctl) = tool(env, "journalctl") else {
        return String::new();
    };
    Cmd::new(journalctl)
        .args(["--user", "-u", sup.name.as_deref().unwrap_or_default()])
        .args(["-n", &n.to_string(), "--no-pager", "-o", "cat"])
        .timeout(Duration::from_secs(5))
        .run()
        .ok()
        .filter(|o| o.success())
        .map(|o| o.stdout.trim_end().to_string())
        .unwrap_or_default()
}
