//! Every `openclaw` command line clawkit runs is built here. The CLI is always run as
//! `<node> <package_root>/openclaw.mjs …` with the node chosen by the caller, and with the
//! profile's state dir and config path pinned in its environment.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::exec::{Cmd, Output};
use crate::layout::Layout;
use crate::version::Version;

/// One OpenClaw CLI: a package root and the node that runs it.
#[derive(Debug, Clone)]
pub struct OpenClaw {
    pub node: PathBuf,
    pub package_root: PathBuf,
    /// The PATH its commands run with: the node's directory first, then `env`'s PATH.
    path: Option<std::ffi::OsString>,
}

impl OpenClaw {
    pub fn new(node: &Path, package_root: &Path, env: &crate::env::Env) -> Self {
        // Child `node` lookups (install scripts, spawn brokers) get the same node.
        let mut dirs: Vec<PathBuf> = node.parent().map(Path::to_path_buf).into_iter().collect();
        dirs.extend(env.path_dirs());
        OpenClaw {
            node: node.to_path_buf(),
            package_root: package_root.to_path_buf(),
            path: std::env::join_paths(dirs).ok(),
        }
    }

    fn entry(&self) -> PathBuf {
        self.package_root.join("openclaw.mjs")
    }

    /// A command for this CLI, scoped to `layout` and quiet about updates and telemetry.
    pub fn cmd(&self, layout: Option<&Layout>, port: Option<u16>) -> Cmd {
        let mut c = Cmd::new(&self.node)
            .arg(self.entry())
            .env("OPENCLAW_NO_AUTO_UPDATE", "1")
            .env("NO_COLOR", "1")
            .env("FORCE_COLOR", "0");
        if let Some(p) = &self.path {
            c = c.env("PATH", p);
        }
        if let Some(l) = layout {
            c = c
                .env("OPENCLAW_STATE_DIR", &l.state_dir)
                .env("OPENCLAW_CONFIG_PATH", &l.config_path);
        }
        if let Some(p) = port {
            c = c.env("OPENCLAW_GATEWAY_PORT", p.to_string());
        }
        c
    }

    /// `openclaw --version`.
    pub fn version(&self) -> Result<Version> {
        let out = self
            .cmd(None, None)
            .arg("--version")
            .timeout(Duration::from_secs(30))
            .run_ok()?;
        Version::find_in(&out.stdout).with_context(|| {
            format!(
                "`openclaw --version` printed no version: {:?}",
                out.stdout.trim()
            )
        })
    }

    /// `openclaw gateway call status --json` → `runtimeVersion` (a Node start, ~1.3 s).
    pub fn gateway_runtime_version(&self, layout: &Layout, port: u16) -> Option<Version> {
        let out = self
            .cmd(Some(layout), Some(port))
            .args(["gateway", "call", "status", "--json"])
            .timeout(Duration::from_secs(20))
            .run()
            .ok()
            .filter(Output::success)?;
        last_json(&out.stdout)?
            .get("runtimeVersion")?
            .as_str()?
            .parse()
            .ok()
    }

    /// `openclaw devices list --json` → `{pending: [...], paired: [...]}`.
    pub fn devices_list(&self, layout: &Layout, port: u16) -> Result<Value> {
        let out = self
            .cmd(Some(layout), Some(port))
            .args(["devices", "list", "--json"])
            .timeout(Duration::from_secs(60))
            .run_ok()?;
        last_json(&out.stdout).context("`openclaw devices list --json` printed no JSON")
    }

    /// `openclaw devices approve <requestId>` (an exact id: `--latest` only shows one).
    pub fn devices_approve(&self, layout: &Layout, port: u16, request_id: &str) -> Result<()> {
        self.cmd(Some(layout), Some(port))
            .args(["devices", "approve", request_id])
            .timeout(Duration::from_secs(60))
            .run_ok()?;
        Ok(())
    }

    /// `openclaw devices clear --yes [--pending]`.
    pub fn devices_clear(&self, layout: &Layout, port: u16, pending: bool) -> Result<()> {
        let mut c = self
            .cmd(Some(layout), Some(port))
            .args(["devices", "clear", "--yes"])
            .timeout(Duration::from_secs(60));
        if pending {
            c = c.arg("--pending");
        }
        c.run_ok()?;
        Ok(())
    }

    /// One RPC through the CLI's own device pairing: `openclaw gateway call status --json`.
    pub fn gateway_call(&self, layout: &Layout, port: u16) -> Result<()> {
        self.cmd(Some(layout), Some(port))
            .args(["gateway", "call", "status", "--json"])
            .timeout(Duration::from_secs(30))
            .run_ok()?;
        Ok(())
    }

    /// `openclaw doctor --help`, to see which flags this release has.
    pub fn doctor_help(&self) -> Result<String> {
        let out = self
            .cmd(None, None)
            .args(["doctor", "--help"])
            .timeout(Duration::from_secs(60))
            .run()?;
        Ok(out.stdout + &out.stderr)
    }

    /// `openclaw doctor --fix --non-interactive` (applies migrations; refuses beside a live gateway).
    pub fn doctor_fix(&self, layout: &Layout, timeout: Duration) -> Cmd {
        self.cmd(Some(layout), None)
            .args(["doctor", "--fix", "--non-interactive"])
            .timeout(timeout)
    }

    /// `openclaw doctor --lint --json --severity-min error`.
    pub fn doctor_lint(&self, layout: &Layout, port: u16, timeout: Duration) -> Cmd {
        self.cmd(Some(layout), Some(port))
            .args(["doctor", "--lint", "--json", "--severity-min", "error"])
            .timeout(timeout)
    }
}

/// The `findings` of a `doctor --lint --json` run (empty when it printed none).
pub fn lint_findings(out: &Output) -> Vec<Value> {
    last_json(&out.stdout)
        .as_ref()
        .and_then(|d| d.get("findings"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// OpenClaw sometimes prints text before its JSON: take the last line that starts with `{`
/// and everything after it, or the whole text.
pub fn last_json(text: &str) -> Option<Value> {
    if let Ok(v) = serde_json::from_str(text.trim()) {
        return Some(v);
    }
    let lines: Vec<&str> = text.lines().collect();
    (0..lines.len()).rev().find_map(|i| {
        lines[i]
            .starts_with('{')
            .then(|| serde_json::from_str(&lines[i..].join("\n")).ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openclaw_runs_with_the_injected_path_not_the_process_path() {
        let env = crate::env::Env::from_pairs([("PATH", "/env/bin")]);
        let oc = OpenClaw::new(Path::new("/n/bin/node"), Path::new("/p/openclaw"), &env);
        assert_eq!(
            oc.path.as_deref(),
            Some(std::ffi::OsStr::new("/n/bin:/env/bin"))
        );
    }

    #[test]
    fn finds_json_after_boxed_text() {
        let text = "┌ Doctor ─┐\n│ ok │\n└─────┘\n{\"ok\":true,\n\"findings\":[]}\n";
        assert_eq!(last_json(text).unwrap()["ok"], true);
        assert_eq!(last_json("{\"a\":1}").unwrap()["a"], 1);
        assert!(last_json("nothing here").is_none());
    }
}
