//! Every `npm` command line clawkit runs is built here, and npm's failures are mapped to one
//! clear message each.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::exec::{Cmd, Output};
use crate::install::PACKAGE;
use crate::version::Version;

/// npm, run with a chosen node first on PATH (install scripts check `node`).
#[derive(Debug, Clone)]
pub struct Npm {
    pub bin: PathBuf,
    pub node_dir: Option<PathBuf>,
    pub registry: Option<String>,
}

/// What a user may pass as `--to`: a version or a dist-tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Version(Version),
    Tag(String),
}

impl Target {
    pub fn parse(s: &str) -> Result<Target, crate::exit::Failure> {
        let s = s.trim();
        if let Ok(v) = s.parse::<Version>() {
            return Ok(Target::Version(v));
        }
        let tag_ok = !s.is_empty()
            && s.len() <= 64
            && s.as_bytes()[0].is_ascii_alphabetic()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if tag_ok {
            Ok(Target::Tag(s.to_string()))
        } else {
            Err(crate::exit::Failure::usage(format!(
                "--to {:?} is neither an OpenClaw version (2026.9.5) nor a dist-tag (latest, beta)",
                s.chars().take(60).collect::<String>()
            )))
        }
    }

    pub fn spec(&self) -> String {
        match self {
            Target::Version(v) => format!("{PACKAGE}@{v}"),
            Target::Tag(t) => format!("{PACKAGE}@{t}"),
        }
    }
}

/// A classified npm failure.
pub fn explain(out: &Output) -> String {
    let text = format!("{}\n{}", out.stderr, out.stdout);
    let code = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("npm error code "))
        .or_else(|| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix("npm ERR! code "))
        })
        .map(str::trim)
        .unwrap_or("");
    let hint = match code {
        "E404" | "ETARGET" => "the package or version does not exist in the registry",
        "EACCES" | "EPERM" => "no permission to write the npm prefix; use a prefix you own (npm config set prefix ~/.npm-global) or run with the rights for it",
        "ENOSPC" => "the disk is full; free space and retry",
        "ETIMEDOUT" | "ECONNRESET" | "ECONNREFUSED" | "ENOTFOUND" | "EAI_AGAIN" => "the registry could not be reached; check the network or --registry",
        "EBUSY" => "a file is in use; stop whatever holds it and retry",
        "ENOTEMPTY" => "a crashed npm left a directory behind (lib/node_modules/.openclaw-*); clawkit cleans it when no npm runs",
        "EINTEGRITY" => "the download was corrupt; run `npm cache verify` and retry",
        "EBADENGINE" => "the package does not support this Node.js",
        _ => "",
    };
    let tail = out.tail(6);
    match (code, hint) {
        ("", _) => format!(
            "npm failed ({}):\n{}",
            crate::exec::describe_code(out.code),
            crate::exec::indent(&tail)
        ),
        (c, "") => format!("npm failed with {c}:\n{}", crate::exec::indent(&tail)),
        (c, h) => format!("npm failed with {c}: {h}"),
    }
}

impl Npm {
    pub fn new(bin: PathBuf, node_dir: Option<PathBuf>, registry: Option<String>) -> Self {
        Npm {
            bin,
            node_dir,
            registry,
        }
    }

    fn cmd(&self) -> Cmd {
        let mut c = Cmd::new(&self.bin);
        if let Some(dir) = &self.node_dir {
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut dirs = vec![dir.clone()];
            dirs.extend(std::env::split_paths(&path));
            if let Ok(p) = std::env::join_paths(dirs) {
                c = c.env("PATH", p);
            }
        }
        c
    }

    fn common(&self, c: Cmd) -> Cmd {
        let c = c.args(["--no-fund", "--no-audit", "--no-update-notifier"]);
        match &self.registry {
            Some(r) => c.arg(format!("--registry={r}")),
            None => c,
        }
    }

    /// `npm view <spec> version engines openclaw --json`: resolves a tag to an exact version
    /// and reads the target's requirements before anything is downloaded.
    pub fn view(&self, spec: &str, timeout: Duration) -> Result<Value> {
        let c = self.common(self.cmd().args(["view", spec, "--json"]).timeout(timeout));
        let out = c.run().context("could not run npm view")?;
        if !out.success() {
            anyhow::bail!(explain(&out));
        }
        let v: Value = serde_json::from_str(out.stdout.trim())
            .with_context(|| format!("npm view {spec} printed no JSON"))?;
        // A range or tag matching several versions gives an array: take the newest (last).
        Ok(match v {
            Value::Array(mut a) => a.pop().unwrap_or(Value::Null),
            v => v,
        })
    }

    /// `npm install -g --prefix <prefix> <spec>`.
    pub fn install(&self, prefix: &Path, spec: &str, timeout: Duration) -> Cmd {
        self.common(
            self.cmd()
                .args(["install", "--global", "--prefix"])
                .arg(prefix)
                .arg(spec)
                .timeout(timeout),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            Target::parse("latest").unwrap(),
            Target::Tag("latest".into())
        );
        assert_eq!(
            Target::parse("2026.9.5").unwrap(),
            Target::Version("2026.9.5".parse().unwrap())
        );
        for bad in ["", "$(rm -rf ~)", "a b", "latest;ls", "../x", "-g"] {
            assert!(Target::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Target::parse("beta").unwrap().spec(), "openclaw@beta");
    }

    #[test]
    fn explains_npm_codes() {
        let out = |stderr: &str| Output {
            code: Some(1),
            stdout: String::new(),
            stderr: stderr.into(),
            duration: Duration::ZERO,
        };
        assert!(
            explain(&out("npm error code E404\nnpm error 404 Not Found"))
                .contains("does not exist")
        );
        assert!(explain(&out("npm error code ENOSPC")).contains("disk is full"));
        assert!(explain(&out("npm error code EACCES")).contains("permission"));
        assert!(explain(&out("weird")).contains("weird"));
    }
}
