//! Every `npm` command line clawkit runs is built here, and npm's failures are mapped to one
//! clear message each.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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
    /// The registry npm's environment names (`npm_config_registry`), for messages only.
    env_registry: Option<String>,
    /// How long the registry questions before a stop may take ([`registry_budget`]).
    pub budget: Duration,
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

/// How long the registry questions asked before an update's stop may take, all together: a
/// registry that is unreachable or silent is refused within this (issue #13). The staging
/// `npm install` is not one of them (see [`NPM_DEADLINE`]). `CLAWKIT_REGISTRY_TIMEOUT`
/// (seconds) changes it for a slow link: npm's timeout covers the body too, and OpenClaw's
/// packument is about 10 MB (measured 2026-11-26, served uncompressed here; npm fetched it in
/// 0.5-0.7 s on an idle machine, npm's whole run took 1.7-2.5 s). A try that timed out used to
/// be hidden by npm's fallback to its cache, which is now refused for a tag ([`Npm::view`]).
pub const REGISTRY_BUDGET: Duration = Duration::from_secs(20);

/// What a registry refusal suggests for a slow link.
const SLOW_LINK: &str = "on a slow link, allow more: CLAWKIT_REGISTRY_TIMEOUT=60";

/// The longest `CLAWKIT_REGISTRY_TIMEOUT` honoured.
const REGISTRY_BUDGET_MAX: Duration = Duration::from_secs(600);

/// [`REGISTRY_BUDGET`], or `CLAWKIT_REGISTRY_TIMEOUT` seconds when `env` sets a valid one.
pub fn registry_budget(env: &Env) -> Duration {
    env.get("CLAWKIT_REGISTRY_TIMEOUT")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map(|s| Duration::from_secs(s).min(REGISTRY_BUDGET_MAX))
        .unwrap_or(REGISTRY_BUDGET)
}

/// npm's own limits for a question that must be answered within `left`: one try that may take
/// nearly all of it (npm's start-up of a second or two aside), so that a slow registry still
/// answers; a quick failure (refused, reset) is retried once after a short pause. A try that
/// times out leaves no time for the retry: clawkit's deadline ends it.
pub fn fetch_limits(left: Duration) -> Vec<String> {
    let per_try = (left.as_millis() as u64).saturating_sub(2500);
    vec![
        "--fetch-retries=1".into(),
        format!("--fetch-timeout={}", per_try.max(1000)),
        "--fetch-retry-mintimeout=500".into(),
        "--fetch-retry-maxtimeout=500".into(),
    ]
}

enum Network {
    /// Connected (or trying to) but no answer in time.
    Silent,
    /// Refused, not found, reset: npm's error code.
    Unreachable(String),
}

/// Did npm fail because of the network, not the package?
fn network_failure(out: &Output) -> Option<Network> {
    let text = format!("{}\n{}", out.stderr, out.stdout);
    let code = text
        .lines()
        .find_map(|l| {
            let l = l.trim();
            l.strip_prefix("npm error code ")
                .or_else(|| l.strip_prefix("npm ERR! code "))
        })
        .map(str::trim)
        .unwrap_or("");
    match code {
        "ETIMEDOUT" | "ESOCKETTIMEDOUT" | "ERR_SOCKET_TIMEOUT" => Some(Network::Silent),
        "FETCH_ERROR" if text.contains("network timeout") => Some(Network::Silent),
        "ECONNREFUSED" | "ECONNRESET" | "ENOTFOUND" | "EAI_AGAIN" | "EHOSTUNREACH"
        | "ENETUNREACH" | "FETCH_ERROR" => Some(Network::Unreachable(code.to_string())),
        _ => None,
    }
}

/// Did npm answer from its cache because the registry did not (`--loglevel=http` prints
/// `npm http fetch GET 200 <url> <ms> (cache stale)`; a fresh cache hit says `(cache hit)`)?
fn stale_answer(out: &Output) -> bool {
    out.stderr
        .lines()
        .any(|l| l.starts_with("npm http") && l.trim_end().ends_with("(cache stale)"))
}

/// Does `spec` (`openclaw@X`) name one exact version, whose registry entry never changes?
fn exact_version(spec: &str) -> bool {
    spec.rsplit_once('@')
        .is_some_and(|(_, v)| semver::Version::parse(v).is_ok())
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
        let env_registry = ["npm_config_registry", "NPM_CONFIG_REGISTRY"]
            .iter()
            .find_map(|k| env.get(k))
            .map(String::from);
        Npm {
            bin,
            path: std::env::join_paths(dirs).ok(),
            registry,
            env_registry,
            budget: registry_budget(env),
        }
    }

    /// The registry npm asks, as a message can name it (credentials redacted).
    pub fn registry_name(&self) -> String {
        match self.registry.as_ref().or(self.env_registry.as_ref()) {
            Some(r) => crate::secret::redact_url(r),
            None => "npm's configured registry (`npm config get registry` shows it)".into(),
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
    /// requirements before anything is downloaded. Asked before the stop, it must be answered by
    /// `deadline` (the run's [`REGISTRY_BUDGET`]): npm's own limits ([`fetch_limits`]) make it
    /// give up in time, and clawkit kills it at the deadline in any case. A registry that is
    /// silent, refuses or cannot be found is named in the error. When the registry does not
    /// answer, npm quietly answers from its cache instead (exit 0, a `(cache stale)` line at
    /// the `http` log level): for an exact version that copy is as good as a fresh one (a
    /// published version does not change), for a tag or a range it may be old (`latest` may
    /// have moved), so it is refused like silence.
    pub fn view(&self, spec: &str, deadline: Instant) -> Result<Value> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left < Duration::from_millis(500) {
            anyhow::bail!(self.silent());
        }
        let c = self.common(
            self.cmd()
                .args(["view", spec, "--json", "--loglevel=http"])
                // Ask the registry even when the npmrc prefers the cache: `prefer-offline`
                // answers from any cached copy, however old, and marks it `(cache stale)`.
                .args(["--prefer-offline=false", "--offline=false"])
                .args(fetch_limits(left))
                .timeout(left),
        );
        let out = match c.run() {
            Ok(out) => out,
            Err(e)
                if e.downcast_ref::<crate::exec::RunError>()
                    .is_some_and(|r| matches!(r, crate::exec::RunError::TimedOut { .. })) =>
            {
                anyhow::bail!(self.silent())
            }
            Err(e) => return Err(e.context("could not run npm view")),
        };
        if !out.success() {
            match network_failure(&out) {
                Some(Network::Silent) => anyhow::bail!(self.silent()),
                Some(Network::Unreachable(code)) => anyhow::bail!(
                    "the registry could not be reached: {} (npm: {code})",
                    self.registry_name()
                ),
                None => anyhow::bail!(explain(&out)),
            }
        }
        if stale_answer(&out) && !exact_version(spec) {
            anyhow::bail!(
                "the registry did not answer: {}; npm offered only an earlier answer from its cache, which may be out of date for {spec} ({SLOW_LINK})",
                self.registry_name()
            );
        }
        let v: Value = serde_json::from_str(out.stdout.trim())
            .with_context(|| format!("npm view {spec} printed no JSON"))?;
        // A range or tag matching several versions gives an array: take the newest (last).
        Ok(match v {
            Value::Array(mut a) => a.pop().unwrap_or(Value::Null),
            v => v,
        })
    }

    fn silent(&self) -> String {
        format!(
            "the registry did not answer within {} s: {} ({SLOW_LINK})",
            self.budget.as_secs(),
            self.registry_name()
        )
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
    writer_on(prefix).is_some()
}

/// The npm process [`running_on`] finds, as `pid N: npm install …` (command line redacted).
pub fn writer_on(prefix: &Path) -> Option<String> {
    crate::proc::all_pids().into_iter().find_map(|pid| {
        let found = pid != std::process::id()
            && crate::proc::info(pid).is_some_and(|i| {
                let writer = retitled(&i.cmdline)
                    .and_then(|t| t.split_whitespace().next())
                    .is_some_and(writes);
                let env_prefix = || {
                    crate::proc::environ(pid).and_then(|env| {
                        env.into_iter().find_map(|(k, v)| {
                            k.to_str()
                                .is_some_and(|k| k.eq_ignore_ascii_case("npm_config_prefix"))
                                .then(|| v.to_string_lossy().into_owned())
                        })
                    })
                };
                if !writer {
                    return touches_with(&i.cmdline, env_prefix().as_deref(), prefix);
                }
                // npm 7+ once it has retitled itself: its debug log has the whole command line,
                // written a moment after the retitle (asked again for up to a second).
                for attempt in 0..10 {
                    if attempt > 0 {
                        std::thread::sleep(std::time::Duration::from_millis(100));
                    }
                    if let Some(args) = argv_from_log(pid) {
                        let full: Vec<String> =
                            std::iter::once("npm".to_string()).chain(args).collect();
                        return touches_with(&full, env_prefix().as_deref(), prefix);
                    }
                    if !Path::new(&format!("/proc/{pid}")).exists() {
                        return false; // it ended meanwhile
                    }
                }
                touches(&i.cmdline, prefix)
            });
        found.then(|| {
            let shown = crate::proc::info(pid)
                .map(|i| crate::secret::redact_args(&i.cmdline).join(" "))
                .unwrap_or_default();
            format!("pid {pid}: {shown}")
        })
    })
}

/// `npm install openclaw` as one string: the title npm 7+ gives itself (the flags dropped).
fn retitled(cmdline: &[String]) -> Option<&str> {
    match cmdline {
        [title] => title.strip_prefix("npm "),
        _ => None,
    }
}

/// A running npm's arguments from the `verbose argv "install" "--global" …` line of the debug log
/// it holds open (`<cache>/_logs/*-debug-*.log`). None when it has none (`--logs-max=0`) or the
/// line is not there yet.
#[cfg(target_os = "linux")]
fn argv_from_log(pid: u32) -> Option<Vec<String>> {
    use std::io::Read;
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
        let Ok(target) = std::fs::read_link(fd.path()) else {
            continue;
        };
        // npm removes old logs beyond `logs-max` as other npm runs start, maybe this one's
        // while it runs: the link then ends in " (deleted)", and the file is read through the fd.
        let name = target.file_name().map(|n| {
            n.to_string_lossy()
                .trim_end_matches(" (deleted)")
                .to_string()
        });
        let in_logs = target.parent().is_some_and(|d| d.ends_with("_logs"));
        if !in_logs || !name.is_some_and(|n| n.contains("-debug-") && n.ends_with(".log")) {
            continue;
        }
        let mut head = Vec::new();
        std::fs::File::open(fd.path())
            .ok()?
            .take(256 * 1024)
            .read_to_end(&mut head)
            .ok()?;
        let text = String::from_utf8_lossy(&head);
        let rest = text
            .lines()
            .find_map(|l| l.split_once(" verbose argv ").map(|(_, r)| r))?;
        // Each argument is a JSON string, separated by spaces.
        return serde_json::Deserializer::from_str(rest)
            .into_iter::<String>()
            .collect::<Result<Vec<_>, _>>()
            .ok();
    }
    None
}

#[cfg(not(target_os = "linux"))]
fn argv_from_log(_pid: u32) -> Option<Vec<String>> {
    None
}

pub fn touches(cmdline: &[String], prefix: &Path) -> bool {
    touches_with(cmdline, None, prefix)
}

/// [`touches`], with the process's own `npm_config_prefix` (its environment) standing in for a
/// `--prefix` its command line does not have.
pub fn touches_with(cmdline: &[String], env_prefix: Option<&str>, prefix: &Path) -> bool {
    // npm 7+ retitles itself as it starts: /proc then shows one string, `npm install openclaw`,
    // with the flags gone. Whether it is global or where its prefix is cannot be told any more,
    // so a command that writes counts (a refusal before any change is the safe side).
    // Retitled, and its log not readable: a command that writes OpenClaw (named, or every
    // global package by a bare `npm update`) counts; where it writes cannot be told any more, so
    // this errs on the side of a refusal before any change.
    if let Some(rest) = retitled(cmdline) {
        let mut words = rest.split_whitespace();
        let Some(verb) = words.next().filter(|v| writes(v)) else {
            return false;
        };
        let packages: Vec<&str> = words.collect();
        return packages.iter().any(|p| p.contains(PACKAGE))
            || (packages.is_empty() && ["update", "up", "upgrade", "udpate"].contains(&verb));
    }
    let Some(start) = cmdline
        .iter()
        .take(2)
        .position(|a| a.ends_with("npm-cli.js") || a.ends_with("/npm") || a == "npm")
    else {
        return false;
    };
    let args = &cmdline[start + 1..];
    let command = subcommand(args);
    if command.is_some_and(|c| READ_ONLY.contains(&c)) {
        return false;
    }
    // `npm link` (in a package directory) always writes the global prefix, without -g.
    if command.is_some_and(|c| matches!(c, "link" | "ln")) {
        return true;
    }
    let global = args.iter().enumerate().any(|(i, a)| match a.as_str() {
        "-g" | "--global" | "--global=true" | "--location=global" => true,
        "--location" | "-L" => args.get(i + 1).is_some_and(|v| v == "global"),
        // Combined short flags, read as npm reads them: `-gf`.
        s => s.len() > 2 && s.starts_with('-') && !s.starts_with("--") && s[1..].contains('g'),
    });
    let npm_prefix = args
        .iter()
        .position(|a| a == "--prefix")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| {
            args.iter()
                .find_map(|a| a.strip_prefix("--prefix=").map(String::from))
        })
        .or_else(|| env_prefix.filter(|p| !p.is_empty()).map(String::from));
    match npm_prefix {
        Some(p) => Path::new(&p).starts_with(prefix),
        None => global,
    }
}

/// Does this npm command (or its alias or abbreviation) write packages?
fn writes(command: &str) -> bool {
    const WRITERS: &[&str] = &[
        "install",
        "i",
        "in",
        "ins",
        "isnt",
        "add",
        "ci",
        "clean-install",
        "ic",
        "install-clean",
        "install-test",
        "it",
        "cit",
        "clean-install-test",
        "sit",
        "uninstall",
        "unlink",
        "remove",
        "rm",
        "r",
        "un",
        "update",
        "up",
        "upgrade",
        "udpate",
        "link",
        "ln",
        "rebuild",
        "rb",
        "dedupe",
        "ddp",
        "prune",
    ];
    WRITERS.contains(&command)
        || (command.len() >= 3
            && ["install", "uninstall", "update", "upgrade"]
                .iter()
                .any(|w| w.starts_with(command)))
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
    fn registry_budget_follows_the_environment() {
        let env = |v: &str| {
            Env::from_pairs(vec![(
                "CLAWKIT_REGISTRY_TIMEOUT".to_string(),
                v.to_string(),
            )])
        };
        assert_eq!(
            registry_budget(&Env::from_pairs(Vec::<(String, String)>::new())),
            REGISTRY_BUDGET
        );
        assert_eq!(registry_budget(&env("60")), Duration::from_secs(60));
        assert_eq!(registry_budget(&env(" 45 ")), Duration::from_secs(45));
        assert_eq!(registry_budget(&env("99999")), REGISTRY_BUDGET_MAX);
        for bad in ["0", "-5", "ten", ""] {
            assert_eq!(registry_budget(&env(bad)), REGISTRY_BUDGET, "{bad:?}");
        }
    }

    #[test]
    fn registry_failures_are_told_from_package_failures() {
        let out = |stderr: &str| Output {
            code: Some(1),
            stdout: String::new(),
            stderr: stderr.into(),
            duration: Duration::ZERO,
        };
        let silent = out("npm error code FETCH_ERROR\nnpm error errno FETCH_ERROR\nnpm error network timeout at: http://127.0.0.1:4/openclaw");
        assert!(matches!(network_failure(&silent), Some(Network::Silent)));
        let refused = out("npm error code ECONNREFUSED\nnpm error errno ECONNREFUSED");
        assert!(
            matches!(network_failure(&refused), Some(Network::Unreachable(c)) if c == "ECONNREFUSED")
        );
        assert!(network_failure(&out("npm error code E404\nnpm error 404 Not Found")).is_none());
        assert!(network_failure(&out("npm error code ETARGET")).is_none());
        // npm's own limits leave it time to give up before the deadline, start-up included.
        let limits = fetch_limits(REGISTRY_BUDGET);
        assert!(limits.contains(&"--fetch-retries=1".to_string()));
        assert!(limits.contains(&"--fetch-timeout=17500".to_string()));
        assert!(fetch_limits(Duration::from_secs(2)).contains(&"--fetch-timeout=1000".to_string()));
        assert!(exact_version("openclaw@2026.9.5"));
        assert!(exact_version("openclaw@2026.9.5-beta.1"));
        for not in [
            "openclaw@latest",
            "openclaw@^2026.9",
            "openclaw@2026.9",
            "openclaw",
        ] {
            assert!(!exact_version(not), "{not}");
        }
    }

    #[test]
    fn the_registry_is_named_without_credentials() {
        let env = Env::from_pairs([("npm_config_registry", "https://u:pw@r.example/")]);
        let npm = Npm::new("/x/npm".into(), None, None, &env);
        assert!(
            !npm.registry_name().contains("pw"),
            "{}",
            npm.registry_name()
        );
        assert!(npm.registry_name().contains("r.example"));
        let npm = Npm::new(
            "/x/npm".into(),
            None,
            Some("http://127.0.0.1:9".into()),
            &env,
        );
        assert!(npm.registry_name().contains("127.0.0.1:9"));
        let npm = Npm::new(
            "/x/npm".into(),
            None,
            None,
            &Env::from_pairs([("HOME", "/h")]),
        );
        assert!(npm.registry_name().contains("npm config get registry"));
    }

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
        // Other ways of saying global, and npm link.
        assert!(touches(&v("npm --location global i openclaw"), p));
        assert!(touches(&v("npm i --global=true openclaw"), p));
        assert!(touches(&v("npm i -gf openclaw"), p));
        assert!(touches(&v("npm link"), p));
        // A global npm whose environment names another prefix does not count; this one does.
        let g = v("npm install -g openclaw");
        assert!(!touches_with(&g, Some("/other"), p));
        assert!(touches_with(&g, Some("/opt/oc"), p));
        assert!(touches_with(&g, None, p));
        // npm 7+ as /proc shows it once it has retitled itself (one string, flags gone) when
        // its debug log cannot be read: what writes OpenClaw counts.
        let titled = |s: &str| vec![s.to_string()];
        assert!(touches(&titled("npm install openclaw@latest"), p));
        assert!(touches(&titled("npm inst openclaw"), p));
        assert!(touches(&titled("npm update"), p));
        assert!(!touches(&titled("npm install"), p));
        assert!(!touches(&titled("npm install left-pad"), p));
        assert!(!touches(&titled("npm root"), p));
        assert!(!touches(&titled("npm run dev"), p));
        assert!(!touches(&titled("npm exec vite"), p));
        assert!(!touches(&titled("npm"), p));
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
