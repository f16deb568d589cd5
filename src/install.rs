//! Finding OpenClaw installs: every `openclaw` on PATH (or the one under `--prefix`), each
//! resolved through symlinks to its package root and npm prefix, with its `package.json` facts.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;
use serde_json::Value;

use crate::env::Env;
use crate::version::Version;

pub const PACKAGE: &str = "openclaw";

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Install {
    /// The `openclaw` executable as found (PATH entry or `<prefix>/bin/openclaw`).
    pub bin: PathBuf,
    pub package_root: Option<PathBuf>,
    /// The npm prefix, when laid out as `<prefix>/lib/node_modules/openclaw`.
    pub prefix: Option<PathBuf>,
    pub version: Option<Version>,
    pub engines_node: Option<String>,
    pub schema_versions: Option<Value>,
    /// When the package directory was (re)placed: its change time.
    #[serde(skip)]
    pub replaced_at: Option<SystemTime>,
    /// Why this install could not be read (symlink loop, missing package.json, ...).
    pub error: Option<String>,
}

/// What clawkit reads from an OpenClaw `package.json`.
#[derive(Debug, Clone, Default)]
pub struct PackageJson {
    pub name: Option<String>,
    pub version: Option<Version>,
    pub engines_node: Option<String>,
    pub schema_versions: Option<Value>,
}

impl PackageJson {
    pub fn read(path: &Path) -> Result<PackageJson, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not valid JSON: {e}", path.display()))?;
        Ok(PackageJson {
            name: v.get("name").and_then(Value::as_str).map(String::from),
            version: v
                .get("version")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok()),
            engines_node: v
                .pointer("/engines/node")
                .and_then(Value::as_str)
                .map(String::from),
            schema_versions: v.pointer("/openclaw/schemaVersions").cloned(),
        })
    }
}

impl Install {
    /// Reads the install whose package lives at `root`.
    pub fn at_package_root(bin: PathBuf, root: &Path) -> Install {
        let mut inst = Install {
            bin,
            package_root: Some(root.to_path_buf()),
            prefix: prefix_of(root),
            version: None,
            engines_node: None,
            schema_versions: None,
            replaced_at: change_time(root),
            error: None,
        };
        match PackageJson::read(&root.join("package.json")) {
            Ok(p) => {
                if p.version.is_none() {
                    inst.error = Some(format!(
                        "{} has no OpenClaw version",
                        root.join("package.json").display()
                    ));
                }
                inst.version = p.version;
                inst.engines_node = p.engines_node;
                inst.schema_versions = p.schema_versions;
            }
            Err(e) => inst.error = Some(e),
        }
        inst
    }

    /// Resolves an `openclaw` executable to its install.
    pub fn from_bin(bin: &Path) -> Install {
        let broken = |error: String| Install {
            bin: bin.to_path_buf(),
            package_root: None,
            prefix: None,
            version: None,
            engines_node: None,
            schema_versions: None,
            replaced_at: None,
            error: Some(error),
        };
        let real = match std::fs::canonicalize(bin) {
            Ok(r) => r,
            Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => {
                return broken(format!(
                    "{} is a symlink loop; remove it or point it at <prefix>/lib/node_modules/openclaw/openclaw.mjs",
                    bin.display()
                ))
            }
            Err(e) => return broken(format!("cannot resolve {}: {e}", bin.display())),
        };
        match find_package_root(&real) {
            Some(root) => Install::at_package_root(bin.to_path_buf(), &root),
            None => broken(format!(
                "{} (-> {}) is not inside an OpenClaw package",
                bin.display(),
                real.display()
            )),
        }
    }

    /// The install under an npm prefix (`--prefix DIR`).
    pub fn in_prefix(prefix: &Path) -> Install {
        let root = prefix.join("lib/node_modules").join(PACKAGE);
        let bin = prefix.join("bin").join(PACKAGE);
        if root.join("package.json").exists() {
            let mut i = Install::at_package_root(bin, &root);
            i.prefix = Some(prefix.to_path_buf());
            i
        } else {
            Install {
                bin,
                package_root: None,
                prefix: Some(prefix.to_path_buf()),
                version: None,
                engines_node: None,
                schema_versions: None,
                replaced_at: None,
                error: Some(format!("no OpenClaw installed under {}", prefix.display())),
            }
        }
    }

    pub fn usable(&self) -> bool {
        self.error.is_none() && self.version.is_some()
    }
}

pub fn change_time(p: &Path) -> Option<SystemTime> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(p).ok()?;
    let secs = m.ctime();
    let nanos = m.ctime_nsec();
    (secs >= 0).then(|| {
        SystemTime::UNIX_EPOCH
            + std::time::Duration::new(secs as u64, nanos.clamp(0, 999_999_999) as u32)
    })
}

/// `<prefix>/lib/node_modules/openclaw` → `<prefix>`.
pub fn prefix_of(root: &Path) -> Option<PathBuf> {
    let nm = root.parent()?;
    let lib = nm.parent()?;
    (nm.file_name()? == "node_modules" && lib.file_name()? == "lib")
        .then(|| lib.parent().map(Path::to_path_buf))
        .flatten()
}

/// Walks up from the resolved executable to the directory whose package.json names `openclaw`.
fn find_package_root(real: &Path) -> Option<PathBuf> {
    real.ancestors().skip(1).take(6).find_map(|dir| {
        let pj = dir.join("package.json");
        let p = PackageJson::read(&pj).ok()?;
        (p.name.as_deref() == Some(PACKAGE)).then(|| dir.to_path_buf())
    })
}

/// Every distinct OpenClaw install reachable as `openclaw` on PATH, in PATH order.
pub fn discover(env: &Env) -> Vec<Install> {
    let mut found: Vec<Install> = Vec::new();
    for dir in env.path_dirs() {
        let bin = dir.join(PACKAGE);
        // symlink_metadata: a dangling link or a loop is still an install the user has.
        if std::fs::symlink_metadata(&bin).is_err() {
            continue;
        }
        let inst = Install::from_bin(&bin);
        let duplicate = found
            .iter()
            .any(|f| f.package_root.is_some() && f.package_root == inst.package_root);
        let same_bin = found.iter().any(|f| f.bin == inst.bin);
        if !duplicate && !same_bin {
            found.push(inst);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_pkg(prefix: &Path, version: &str) {
        let root = prefix.join("lib/node_modules/openclaw");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(
            root.join("package.json"),
            format!(r#"{{"name":"openclaw","version":"{version}","engines":{{"node":">=24.16.0 <25"}},"openclaw":{{"schemaVersions":{{"state":17}}}}}}"#),
        )
        .unwrap();
        std::fs::write(root.join("openclaw.mjs"), "#!/usr/bin/env node\n").unwrap();
        std::fs::create_dir_all(prefix.join("bin")).unwrap();
        std::os::unix::fs::symlink(
            "../lib/node_modules/openclaw/openclaw.mjs",
            prefix.join("bin/openclaw"),
        )
        .unwrap();
    }

    #[test]
    fn resolves_npm_layout_and_dedupes() {
        let t = tempfile::tempdir().unwrap();
        let (a, b) = (t.path().join("a"), t.path().join("b"));
        fake_pkg(&a, "2026.9.4");
        fake_pkg(&b, "2026.9.5");
        let path = std::env::join_paths([a.join("bin"), a.join("bin"), b.join("bin")]).unwrap();
        let found = discover(&Env::from_pairs([("PATH", path)]));
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].version, Some("2026.9.4".parse().unwrap()));
        assert_eq!(found[0].prefix.as_deref(), Some(a.as_path()));
        assert_eq!(found[0].engines_node.as_deref(), Some(">=24.16.0 <25"));
        assert_eq!(found[1].version, Some("2026.9.5".parse().unwrap()));
        assert!(found[0].usable());
    }

    #[test]
    fn symlink_loop_is_reported_not_fatal() {
        let t = tempfile::tempdir().unwrap();
        let bin = t.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(bin.join("openclaw"), bin.join("openclaw")).unwrap();
        let found = discover(&Env::from_pairs([("PATH", bin.as_os_str())]));
        assert_eq!(found.len(), 1);
        assert!(found[0].error.as_ref().unwrap().contains("symlink loop"));
        assert!(!found[0].usable());
    }

    #[test]
    fn prefix_flag() {
        let t = tempfile::tempdir().unwrap();
        fake_pkg(t.path(), "2026.9.5");
        let i = Install::in_prefix(t.path());
        assert!(i.usable());
        let missing = Install::in_prefix(&t.path().join("nope"));
        assert!(missing.error.unwrap().contains("no OpenClaw installed"));
    }
}
