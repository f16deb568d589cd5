//! The process environment, captured once and passed down, so tests can build their own.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<OsString, OsString>,
}

impl Env {
    pub fn from_process() -> Self {
        Env {
            vars: std::env::vars_os().collect(),
        }
    }

    pub fn from_pairs<K: Into<OsString>, V: Into<OsString>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    pub fn get_os(&self, key: &str) -> Option<&OsStr> {
        self.vars.get(OsStr::new(key)).map(|v| v.as_os_str())
    }

    /// A non-empty variable as UTF-8 (empty counts as unset, as in OpenClaw).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.get_os(key)
            .and_then(|v| v.to_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    pub fn path(&self, key: &str) -> Option<PathBuf> {
        self.get_os(key)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    }

    pub fn is_true(&self, key: &str) -> bool {
        matches!(self.get(key), Some(v) if !matches!(v, "0" | "false" | "no" | "off"))
    }

    pub fn home(&self) -> Option<PathBuf> {
        self.path("HOME")
    }

    /// The program `name` as a lookup on this environment's PATH finds it.
    pub fn which(&self, name: &str) -> Option<PathBuf> {
        let path = self.get_os("PATH")?;
        which::which_in(name, Some(path), std::env::current_dir().ok()?).ok()
    }

    pub fn path_dirs(&self) -> Vec<PathBuf> {
        self.get_os("PATH")
            .map(|p| std::env::split_paths(p).collect())
            .unwrap_or_default()
    }
}
