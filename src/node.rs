//! The Node.js that runs OpenClaw, and npm-style `engines.node` ranges.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::env::Env;
use crate::exec::Cmd;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Node {
    pub path: PathBuf,
    #[schemars(with = "Option<String>")]
    pub version: Option<semver::Version>,
}

impl Node {
    /// The `node` an `#!/usr/bin/env node` script gets: the first on PATH.
    pub fn on_path(env: &Env) -> Option<Node> {
        let path = env.get_os("PATH")?;
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let bin = which::which_in("node", Some(path), cwd).ok()?;
        Some(Node::at(&bin))
    }

    pub fn at(bin: &Path) -> Node {
        let version = Cmd::new(bin)
            .arg("--version")
            .timeout(Duration::from_secs(10))
            .run()
            .ok()
            .filter(|o| o.success())
            .and_then(|o| semver::Version::parse(o.stdout.trim().trim_start_matches('v')).ok());
        Node {
            path: bin.to_path_buf(),
            version,
        }
    }
}

/// Does `version` satisfy an npm range such as `>=24.16.0 <25 || >=26.1.0`?
/// `None` when the range is not understood (callers then say "unknown", not "no").
pub fn satisfies(range: &str, version: &semver::Version) -> Option<bool> {
    let mut any_understood = false;
    for alt in range.split("||") {
        let alt = alt.trim();
        if alt.is_empty() || alt == "*" {
            return Some(true);
        }
        // npm separates comparators with spaces; the semver crate wants commas.
        let mut comparators = Vec::new();
        let mut pending_op = String::new();
        for tok in alt.split_whitespace() {
            if matches!(tok, ">=" | "<=" | ">" | "<" | "=" | "^" | "~") {
                pending_op = tok.to_string();
                continue;
            }
            comparators.push(format!("{pending_op}{tok}"));
            pending_op.clear();
        }
        let Ok(req) = semver::VersionReq::parse(&comparators.join(", ")) else {
            continue;
        };
        any_understood = true;
        if req.matches(version) {
            return Some(true);
        }
    }
    any_understood.then_some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_ranges() {
        let v = |s: &str| semver::Version::parse(s).unwrap();
        let r = ">=24.16.0 <25 || >=26.1.0";
        assert_eq!(satisfies(r, &v("24.21.0")), Some(true));
        assert_eq!(satisfies(r, &v("24.15.0")), Some(false));
        assert_eq!(satisfies(r, &v("20.20.2")), Some(false));
        assert_eq!(satisfies(r, &v("25.0.0")), Some(false));
        assert_eq!(satisfies(r, &v("26.1.0")), Some(true));
        assert_eq!(satisfies(">=22.14", &v("22.14.0")), Some(true));
        assert_eq!(satisfies(">= 22.14", &v("22.13.9")), Some(false));
        assert_eq!(satisfies("*", &v("1.0.0")), Some(true));
        assert_eq!(satisfies("lol nope", &v("1.0.0")), None);
    }
}
