//! Which install a running gateway runs: proven from its service definition, its command line
//! or a child's command line; inferred, when the process retitled itself (9.4 and older), from
//! the `openclaw` its own PATH finds, but only when that install's version (or change time)
//! agrees with the running gateway. Read-only.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::gateway::{self, Gateway};
use crate::install::PackageJson;
use crate::proc;
use crate::supervisor::{Kind, Supervisor};

fn canon(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Where a running gateway's code comes from, and how clawkit knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case", tag = "how")]
#[schemars(deny_unknown_fields)]
pub enum Origin {
    /// Named by its service unit / plist, its command line, or a child's command line.
    Proven { root: PathBuf, from: &'static str },
    /// The process retitled itself; the `openclaw` on its own PATH is that install, and its
    /// version (or change time) agrees with the running gateway.
    Inferred { root: PathBuf, from: String },
    /// Not running, or nothing tells.
    Unknown { why: String },
}

impl Origin {
    pub fn root(&self) -> Option<&Path> {
        match self {
            Origin::Proven { root, .. } | Origin::Inferred { root, .. } => Some(root),
            Origin::Unknown { .. } => None,
        }
    }
}

/// Identifies where a running gateway's code comes from.
pub fn origin(gw: &Gateway, sup: &Supervisor) -> Origin {
    if !gw.up() && gw.pid.is_none() {
        return Origin::Unknown {
            why: "not running".into(),
        };
    }
    if matches!(sup.kind, Kind::Systemd | Kind::Launchd) {
        if let Some(root) = &sup.package_root {
            return Origin::Proven {
                root: canon(root),
                from: "its service definition",
            };
        }
    }
    let named = |p: &crate::proc::ProcInfo| gateway::package_root_of(p).map(|r| canon(&r));
    if let Some(root) = gw.launcher.as_ref().and_then(named) {
        return Origin::Proven {
            root,
            from: "its launcher's command line",
        };
    }
    if let Some(root) = gw.process.as_ref().and_then(named) {
        return Origin::Proven {
            root,
            from: "its command line",
        };
    }
    // A retitled gateway's children (9.5+'s spawn broker) still name the package.
    if let Some(root) = gw.pid.and_then(|pid| {
        proc::children(pid)
            .into_iter()
            .filter_map(proc::info)
            .find_map(|c| named(&c))
    }) {
        return Origin::Proven {
            root,
            from: "a child process's command line",
        };
    }
    let Some(p) = gw.process.as_ref() else {
        return Origin::Unknown {
            why: "its process is not visible to this user".into(),
        };
    };
    // Retitled (`openclaw-gateway`, argv overwritten): it was started by name, so the install its
    // own PATH finds is the best witness; accept it only when the facts agree.
    let Some(penv) = proc::environ(p.pid) else {
        return Origin::Unknown {
            why: format!("cannot read the environment of pid {}", p.pid),
        };
    };
    let path = penv
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone());
    let cwd = p.cwd.clone().unwrap_or_else(|| PathBuf::from("/"));
    let found = path
        .and_then(|path| which::which_in("openclaw", Some(path), &cwd).ok())
        .map(|bin| canon(&bin))
        .and_then(|real| {
            real.ancestors()
                .find(|d| {
                    d.file_name().is_some_and(|n| n == "openclaw")
                        && d.join("package.json").exists()
                })
                .map(Path::to_path_buf)
        });
    let Some(root) = found else {
        return Origin::Unknown {
            why: format!(
                "pid {} retitled itself and no `openclaw` is on its own PATH",
                p.pid
            ),
        };
    };
    let installed = PackageJson::read(&root.join("package.json"))
        .ok()
        .and_then(|pj| pj.version);
    let same_version = installed.is_some() && installed == gw.version;
    let replaced_after_start = matches!(
        (crate::install::change_time(&root), p.started_at),
        (Some(r), Some(s)) if r > s
    );
    if same_version || replaced_after_start {
        Origin::Inferred {
            root,
            from: if same_version {
                "the `openclaw` on its own PATH, same version".into()
            } else {
                "the `openclaw` on its own PATH, replaced after the gateway started".into()
            },
        }
    } else {
        Origin::Unknown {
            why: format!(
                "pid {} retitled itself; the `openclaw` on its PATH ({}) is {} but the gateway reports {}",
                p.pid,
                root.display(),
                installed.map_or("unreadable".into(), |v| v.to_string()),
                gw.version.as_ref().map_or("no version".into(), |v| v.to_string()),
            ),
        }
    }
}
