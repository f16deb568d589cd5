//! Every `npm` command line clawkit runs is built here, and npm's failures are mapped to one
//! clear message each.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::env::Env;
use crate::exec::{Cmd, Output};
use crate::install::PACKAGE;
use crate::version::Version;

/// npm, run with a chosen node first on PATH (install scripts check `node`).
#[derive(Debug, Clone)]
pub struct Npm {
    pub bin: PathBuf,
    /// The PATH npm runs with: the chosen node's directory first, then the caller's PATH.
    path: Option<std::ffi::OsString>,
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

/// How long one `npm install` may take.
pub const NPM_DEADLINE: Duration = Duration::from_secs(15 * 60);

/// Runs an install command; its failure explained in one line.
pub fn run_install(cmd: &Cmd) -> Result<()> {
    let out = cmd.run()?;
    if !out.success() {
        anyhow::bail!(explain(&out));
    }
    Ok(())
}

impl Npm {
    /// npm at `bin`, run with `node_dir` first on the PATH of `env` (install scripts run `node`).
    pub fn new(
        bin: PathBuf,
        node_dir: Option<PathBuf>,
        registry: Option<String>,
        env: &Env,
    ) -> Self {
        let mut dirs: Vec<PathBuf> = node_dir.into_iter().collect();
        dirs.extend(env.path_dirs());
        Npm {
            bin,
            path: std::env::join_paths(dirs).ok(),
            registry,
        }
    }

    /// npm from `env`'s PATH.
    pub fn find(env: &Env, node_dir: Option<PathBuf>, registry: Option<String>) -> Option<Npm> {
        env.which("npm")
            .map(|b| Npm::new(b, node_dir, registry, env))
    }

    fn cmd(&self) -> Cmd {
        let c = Cmd::new(&self.bin);
        match &self.path {
            Some(p) => c.env("PATH", p),
            None => c,
        }
    }

    fn common(&self, c: Cmd) -> Cmd {
        let c = c.args(["--no-fund", "--no-audit", "--no-update-notifier"]);
        match &self.registry {
            Some(r) => c.arg(format!("--registry={r}")),
            None => c,
        }
    }

    /// `npm view <spec> --json`: resolves a tag to an exact version and reads the target's
    /// requirements before anything is downloaded. An unreachable registry is refused within
    /// seconds (one retry, short back-off), not after npm's minute of retries.
    pub fn view(&self, spec: &str, timeout: Duration) -> Result<Value> {
        let c = self.common(
            self.cmd()
                .args(["view", spec, "--json"])
                .args([
                    "--fetch-retries=1",
                    "--fetch-retry-mintimeout=500",
                    "--fetch-retry-maxtimeout=2000",
                ])
                .timeout(timeout),
        );
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

    /// `npm view openclaw dist-tags versions --json` for shell completion: one try, no retry,
    /// npm's own fetch bounded too, so an unreachable registry costs `timeout` and no more.
    /// Returns the dist-tags (tag → version) and every published version as the registry lists
    /// them.
    pub fn tags_and_versions(
        &self,
        timeout: Duration,
    ) -> Result<(std::collections::BTreeMap<String, String>, Vec<String>)> {
        let c = self.common(
            self.cmd()
                .args(["view", PACKAGE, "dist-tags", "versions", "--json"])
                .arg("--fetch-retries=0")
                .arg(format!("--fetch-timeout={}", timeout.as_millis().max(1)))
                .timeout(timeout),
        );
        let out = c.run().context("could not run npm view")?;
        if !out.success() {
            anyhow::bail!(explain(&out));
        }
        let v: Value = serde_json::from_str(out.stdout.trim())
            .with_context(|| format!("npm view {PACKAGE} printed no JSON"))?;
        let tags = v
            .get("dist-tags")
            .and_then(Value::as_object)
            .map(|o| {
                o.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        // One version comes back as a string, several as an array.
        let versions = match v.get("versions") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        };
        Ok((tags, versions))
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

    /// `npm prefix --global`: where a plain `npm install -g` puts packages.
    pub fn global_prefix(&self) -> Result<PathBuf> {
        let out = self
            .cmd()
            .args(["prefix", "--global"])
            .timeout(Duration::from_secs(30))
            .run_ok()
            .context("cannot ask npm for its global prefix")?;
        Ok(PathBuf::from(out.stdout.trim()))
    }
}

/// `lib/node_modules/.openclaw-*` directories a crashed npm left behind.
pub fn leftovers(prefix: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(prefix.join("lib/node_modules"))
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(".openclaw-"))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// Is an npm process working on `prefix`'s global packages? A global npm without `--prefix`
/// (it may use this one) or one whose `--prefix` lies inside it. Other npm runs do not count,
/// nor do read-only commands (`npm root -g`, `npm ls -g`, `npm view`): OpenClaw's own gateway
/// runs `npm root -g` in the background to learn how it was installed.
pub fn running_on(prefix: &Path) -> bool {
    crate::proc::all_pids().into_iter().any(|pid| {
        pid != std::process::id()
            && crate::proc::info(pid).is_some_and(|i| touches(&i.cmdline, prefix))
    })
}

pub fn touches(cmdline: &[String], prefix: &Path) -> bool {
    let Some(start) = cmdline
        .iter()
        .take(2)
        .position(|a| a.ends_with("npm-cli.js") || a.ends_with("/npm") || a == "npm")
    else {
        return false;
    };
    let args = &cmdline[start + 1..];
    if subcommand(args).is_some_and(|c| READ_ONLY.contains(&c)) {
        return false;
    }
    let global = args
        .iter()
        .any(|a| matches!(a.as_str(), "-g" | "--global" | "--location=global"));
    let npm_prefix = args
        .iter()
        .position(|a| a == "--prefix")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| {
            args.iter()
                .find_map(|a| a.strip_prefix("--prefix=").map(String::from))
        });
    match npm_prefix {
        Some(p) => Path::new(&p).starts_with(prefix),
        None => global,
    }
}

/// npm commands that never write to a global tree. Anything else (including an unknown or
/// abbreviated command: npm accepts `npm inst`) counts as a possible writer.
const READ_ONLY: &[&str] = &[
    "root", "bin", "prefix", "ls", "list", "la", "ll", "view", "v", "info", "show", "config", "c",
    "get", "outdated", "explain", "why", "help", "doctor", "ping", "search", "whoami", "query",
    "fund",
];

/// npm's command: the first argument that is neither an option nor an option's value.
fn subcommand(args: &[String]) -> Option<&str> {
    const TAKES_VALUE: &[&str] = &[
        "--prefix",
        "--registry",
        "--cache",
        "--userconfig",
        "--globalconfig",
        "--location",
        "--loglevel",
        "-C",
    ];
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if TAKES_VALUE.contains(&a.as_str()) {
            it.next();
        } else if !a.starts_with('-') {
            return Some(a);
        }
    }
    None
}

/// What an npm package tarball says about itself.
pub struct TarballFacts {
    pub version: Version,
    pub engines: Option<String>,
    pub schemas: Option<Value>,
}

/// Reads `package/package.json` from an OpenClaw tarball (`--package ./openclaw-X.tgz`).
pub fn read_tarball(path: &Path) -> Result<TarballFacts, crate::exit::Failure> {
    use crate::exit::Failure;
    let refuse = |m: String, f: &str| Failure::refused(m).with_fix(f);
    let out = Cmd::new("tar")
        .arg("-xzOf")
        .arg(path)
        .arg("package/package.json")
        .timeout(Duration::from_secs(60))
        .run()
        .map_err(|e| {
            refuse(
                format!("cannot read {}: {e:#}", path.display()),
                "check the file",
            )
        })?;
    if !out.success() {
        return Err(refuse(
            format!("{} is not an npm package tarball", path.display()),
            "create one with `npm pack openclaw@VERSION`",
        ));
    }
    let v: Value = serde_json::from_str(&out.stdout).map_err(|_| {
        refuse(
            "the tarball's package.json is not JSON".into(),
            "repack it with npm pack",
        )
    })?;
    if v.get("name").and_then(Value::as_str) != Some(PACKAGE) {
        return Err(refuse(
            format!("{} is not the openclaw package", path.display()),
            "pass an openclaw tarball",
        ));
    }
    let version: Version = v
        .get("version")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            refuse(
                "the tarball has no OpenClaw version".into(),
                "repack it with npm pack",
            )
        })?;
    Ok(TarballFacts {
        version,
        engines: v
            .pointer("/engines/node")
            .and_then(Value::as_str)
            .map(String::from),
        schemas: v.pointer("/openclaw/schemaVersions").cloned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_runs_with_the_injected_path_not_the_process_path() {
        let env = Env::from_pairs([("PATH", "/env/bin:/usr/bin")]);
        let npm = Npm::new("/x/npm".into(), Some("/node/bin".into()), None, &env);
        assert_eq!(
            npm.path.as_deref(),
            Some(std::ffi::OsStr::new("/node/bin:/env/bin:/usr/bin"))
        );
    }

    #[test]
    fn which_npm_runs_touch_a_prefix() {
        let v = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        let p = Path::new("/opt/oc");
        assert!(touches(
            &v("node /usr/lib/npm-cli.js install -g openclaw"),
            p
        ));
        assert!(touches(
            &v("npm install --global --prefix /opt/oc/lib/clawkit/staging-1 openclaw@1"),
            p
        ));
        assert!(!touches(
            &v("npm install --global --prefix /other openclaw"),
            p
        ));
        assert!(!touches(&v("npm install left-pad"), p));
        // Read-only probes (OpenClaw's gateway runs `npm root -g` in the background).
        assert!(!touches(&v("npm root -g"), p));
        assert!(!touches(&v("node /usr/lib/npm-cli.js ls -g --json"), p));
        assert!(!touches(
            &v("npm --prefix /opt/oc view openclaw version"),
            p
        ));
        assert!(touches(&v("npm --prefix /opt/oc inst -g openclaw"), p));
        assert!(touches(&v("npm -g uninstall openclaw"), p));
        assert!(!touches(&v("node server.js"), p));
    }

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
