//! Shell completion that completes values, with clap's dynamic completion.
//!
//! `clawkit completions SHELL` prints a small registration script; on every TAB the shell runs
//! `COMPLETE=SHELL clawkit -- WORDS…`, which [`answer_if_asked`] (first thing in `main`) answers
//! with candidates and exits. Values come from this host, read-only and quick:
//! - `update --to`: the dist-tags and versions of `openclaw` in the registry npm uses (or the
//!   line's `--registry`), asked with one `npm view` of at most [`timeout`] (3 s), cached an hour
//!   in `~/.cache/clawkit/versions.json`; offline, the cache however old, else the channels'
//!   dist-tags (`latest`, `extended-stable`, `beta`), and no new attempt for a minute;
//! - `backups show|restore ID`: the backup ids of the profile the line selects;
//! - `--profile`: `default` (when `~/.openclaw` exists) and every `~/.openclaw-NAME`.
//!
//! The hidden `intercept` command is left out of the completed command line.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::CommandFactory;
use clap_complete::engine::CompletionCandidate;
use serde::{Deserialize, Serialize};

use crate::cli::Cli;
use crate::env::Env;
use crate::layout::{self, Profile};
use crate::version::Version;

/// The variable the registration scripts set when they call clawkit (clap's default).
pub const VAR: &str = "COMPLETE";

/// How long a registry answer is used without asking again.
pub const FRESH: Duration = Duration::from_secs(3600);

/// After a failed attempt, how long TAB uses what it has without trying the registry again.
pub const RETRY_AFTER: Duration = Duration::from_secs(60);

/// The dist-tags offered when the registry cannot be asked: the channels' tags.
const DEFAULT_TAGS: [&str; 3] = ["latest", "extended-stable", "beta"];

/// The command line as completion sees it: every visible command, without `intercept`.
pub fn command() -> clap::Command {
    let full = Cli::command();
    clap::Command::new("clawkit")
        .version(full.get_version().unwrap_or_default().to_string())
        .propagate_version(true)
        .args(full.get_arguments().cloned())
        .subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned())
}

/// Answers a completion request (`COMPLETE=bash|zsh|fish|… clawkit -- WORDS…`) and exits;
/// returns at once when there is none. A `COMPLETE` that names no shell is not a request (it
/// belongs to someone else), so clawkit runs as usual.
pub fn answer_if_asked() {
    let shells = clap_complete::env::Shells::builtins();
    // Only the shapes the registration scripts use: `clawkit` alone (print the script) or
    // `clawkit -- WORDS…`; a COMPLETE exported for something else never hijacks a normal run.
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if !(args.is_empty() || args[0] == "--") {
        return;
    }
    let asked = std::env::var_os(VAR)
        .map(PathBuf::from)
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .is_some_and(|name| shells.completer(&name).is_some());
    if asked {
        clap_complete::CompleteEnv::with_factory(command)
            .var(VAR)
            .complete();
    }
}

/// The script `clawkit completions SHELL` prints: it registers a completion function for
/// `clawkit` that calls `completer` (this binary as it was invoked: a bare `clawkit` is looked up
/// on PATH at TAB time, a path is made absolute).
pub fn registration(shell: clap_complete::Shell, arg0: &OsStr) -> anyhow::Result<String> {
    use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};
    let adapter: &dyn EnvCompleter = match shell {
        clap_complete::Shell::Bash => &Bash,
        clap_complete::Shell::Zsh => &Zsh,
        clap_complete::Shell::Fish => &Fish,
        clap_complete::Shell::Elvish => &Elvish,
        clap_complete::Shell::PowerShell => &Powershell,
        other => anyhow::bail!("no completion support for {other}"),
    };
    let mut completer = PathBuf::from(arg0);
    if completer.components().count() > 1 {
        completer = std::path::absolute(&completer).unwrap_or(completer);
    }
    let mut buf = Vec::new();
    adapter.write_registration(
        VAR,
        "clawkit",
        "clawkit",
        &completer.to_string_lossy(),
        &mut buf,
    )?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

// ---------------------------------------------------------------------------------------------
// What the rest of the line selects.

/// The flags on the line being completed that decide where values come from.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Line {
    pub profile: Profile,
    pub registry: Option<String>,
}

impl Line {
    /// Reads `--profile NAME`, `--profile=NAME`, `--dev` and `--registry URL` from the words.
    pub fn parse(words: &[String]) -> Line {
        let mut line = Line::default();
        let mut it = words.iter();
        while let Some(w) = it.next() {
            let value = |flag: &str| -> Option<String> {
                match w.strip_prefix(flag) {
                    Some("") => it.clone().next().cloned(),
                    Some(rest) => rest.strip_prefix('=').map(String::from),
                    None => None,
                }
            };
            if w == "--" {
                break;
            } else if w == "--dev" {
                line.profile = Profile::Named("dev".into());
            } else if let Some(p) = value("--profile") {
                line.profile = Profile::parse(&p).unwrap_or_default();
            } else if let Some(r) = value("--registry") {
                line.registry = Some(r).filter(|r| !r.trim().is_empty());
            }
        }
        line
    }

    /// The line of this completion request: the words after the `--` the scripts pass.
    fn current() -> Line {
        let words: Vec<String> = std::env::args_os()
            .skip_while(|a| a != "--")
            .skip(1)
            .map(|a: OsString| a.to_string_lossy().into_owned())
            .collect();
        Line::parse(&words)
    }
}

fn starts_with(candidate: &str, current: &OsStr) -> bool {
    candidate.starts_with(current.to_string_lossy().as_ref())
}

// ---------------------------------------------------------------------------------------------
// --profile

/// `--profile`: the profiles found in the home directory.
pub fn profiles(current: &OsStr) -> Vec<CompletionCandidate> {
    profile_candidates(&Env::from_process(), current)
}

pub fn profile_candidates(env: &Env, current: &OsStr) -> Vec<CompletionCandidate> {
    let mut out = Vec::new();
    for p in crate::probe::profiles(env).unwrap_or_default() {
        let Ok(l) = layout::resolve(env, &p, None) else {
            continue;
        };
        let exists = l.state_dir.is_dir();
        let (value, help) = match p.name() {
            None if exists => ("default".to_string(), l.state_dir.display().to_string()),
            None => continue,
            Some(n) if exists => (n.to_string(), l.state_dir.display().to_string()),
            Some(n) => (
                n.to_string(),
                format!("{} (a service only)", p.systemd_unit()),
            ),
        };
        if starts_with(&value, current) {
            out.push(CompletionCandidate::new(value).help(Some(help.into())));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// backups show|restore ID

/// `backups show|restore ID`: the backups of the profile the line selects.
pub fn backup_ids(current: &OsStr) -> Vec<CompletionCandidate> {
    backup_candidates(&Env::from_process(), &Line::current(), current)
}

pub fn backup_candidates(env: &Env, line: &Line, current: &OsStr) -> Vec<CompletionCandidate> {
    let Ok(l) = layout::resolve(env, &line.profile, None) else {
        return Vec::new();
    };
    crate::backup::list(&l)
        .into_iter()
        .filter(|b| starts_with(&b.manifest.id, current))
        .map(|b| {
            let m = &b.manifest;
            let versions = match (&m.from, &m.to) {
                (Some(f), Some(t)) => format!(", {f} → {t}"),
                (Some(f), None) => format!(", {f}"),
                _ => String::new(),
            };
            let help = format!("{} {}{versions}", m.created_at, m.reason);
            CompletionCandidate::new(m.id.clone()).help(Some(help.into()))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// update --to

/// `$XDG_CACHE_HOME/clawkit/versions.json` (else `~/.cache/…`), beside `update --check`'s cache.
pub fn cache_path(env: &Env) -> Option<PathBuf> {
    env.path("XDG_CACHE_HOME")
        .or_else(|| env.home().map(|h| h.join(".cache")))
        .map(|d| d.join("clawkit/versions.json"))
}

/// How long one TAB may wait for the registry: `CLAWKIT_COMPLETE_TIMEOUT` seconds, default 3
/// (npm alone takes about a second to start and ask).
pub fn timeout(env: &Env) -> Duration {
    env.get("CLAWKIT_COMPLETE_TIMEOUT")
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(Duration::from_secs(3), |s| {
            Duration::from_secs_f64(s.min(60.0))
        })
}

/// The registry's answer as kept between TABs.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Releases {
    /// `--registry`, else npm's `npm_config_registry` from the environment, else "" (whatever
    /// npm is configured with).
    pub registry: String,
    /// Unix seconds of the last answer (0: never).
    pub fetched_at: u64,
    /// Unix seconds of the last attempt, answered or not.
    pub tried_at: u64,
    pub dist_tags: BTreeMap<String, String>,
    pub versions: Vec<String>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The registry the answer came from, as the cache names it: without credentials
/// (`https://user:token@host/` → `https://<redacted>@host/`), so that no token is written.
fn registry_key(env: &Env, line: &Line) -> String {
    let registry = line
        .registry
        .clone()
        .or_else(|| {
            ["npm_config_registry", "NPM_CONFIG_REGISTRY"]
                .iter()
                .find_map(|k| env.get(k).map(String::from))
        })
        .unwrap_or_default();
    crate::secret::redact_url(&registry)
}

fn load(env: &Env, registry: &str) -> Option<Releases> {
    let r: Releases = serde_json::from_slice(&std::fs::read(cache_path(env)?).ok()?).ok()?;
    (r.registry == registry).then_some(r)
}

fn save(env: &Env, r: &Releases) {
    let Some(path) = cache_path(env) else { return };
    if let Some(d) = path.parent() {
        let _ = std::fs::create_dir_all(d);
    }
    // Two shells completing at once each write their own file; the rename is atomic.
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    let written = {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| f.write_all(&serde_json::to_vec_pretty(r).unwrap_or_default()))
    };
    if written.is_ok() {
        let _ = std::fs::rename(&tmp, &path);
    }
    let _ = std::fs::remove_file(&tmp);
}

/// The releases to offer: the cache when fresh, else one bounded `npm view` (its answer cached),
/// else what the cache has however old (`None` when there is nothing at all).
pub fn releases(env: &Env, line: &Line) -> Option<Releases> {
    let registry = registry_key(env, line);
    let cached = load(env, &registry);
    let t = now();
    let age = |at: u64| Duration::from_secs(t.saturating_sub(at));
    if let Some(c) = &cached {
        if c.fetched_at > 0 && age(c.fetched_at) < FRESH {
            return Some(c.clone());
        }
        if age(c.tried_at) < RETRY_AFTER {
            return cached.filter(|c| c.fetched_at > 0);
        }
    }
    let answer = crate::npm::Npm::find(env, None, line.registry.clone())
        .ok_or_else(|| anyhow::anyhow!("npm is not on PATH"))
        .and_then(|npm| npm.tags_and_versions(timeout(env)));
    let mut r = cached.unwrap_or_else(|| Releases {
        registry,
        ..Releases::default()
    });
    r.tried_at = t;
    if let Ok((tags, versions)) = answer {
        r.fetched_at = t;
        r.dist_tags = tags;
        r.versions = versions;
    }
    save(env, &r);
    Some(r).filter(|r| r.fetched_at > 0)
}

/// `update --to`: dist-tags first, then versions, newest first.
pub fn targets(current: &OsStr) -> Vec<CompletionCandidate> {
    target_candidates(&Env::from_process(), &Line::current(), current)
}

pub fn target_candidates(env: &Env, line: &Line, current: &OsStr) -> Vec<CompletionCandidate> {
    let mut out = Vec::new();
    let Some(r) = releases(env, line) else {
        for tag in DEFAULT_TAGS.iter().filter(|t| starts_with(t, current)) {
            out.push(
                CompletionCandidate::new(*tag)
                    .help(Some("dist-tag (the registry did not answer)".into())),
            );
        }
        return out;
    };
    for (tag, version) in r.dist_tags.iter().filter(|(t, _)| starts_with(t, current)) {
        out.push(CompletionCandidate::new(tag).help(Some(format!("dist-tag → {version}").into())));
    }
    let mut versions: Vec<Version> = r.versions.iter().filter_map(|v| v.parse().ok()).collect();
    versions.sort_by(|a, b| b.cmp(a));
    versions.dedup();
    let tagged: BTreeMap<&str, Vec<&str>> =
        r.dist_tags
            .iter()
            .fold(BTreeMap::new(), |mut m, (tag, version)| {
                m.entry(version.as_str()).or_default().push(tag.as_str());
                m
            });
    for v in versions {
        let text = v.to_string();
        if starts_with(&text, current) {
            let help = tagged.get(text.as_str()).map(|t| t.join(", "));
            out.push(CompletionCandidate::new(text).help(help.map(Into::into)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn the_line_selects_profile_and_registry() {
        let l = Line::parse(&words("clawkit --profile work backups show x"));
        assert_eq!(l.profile, Profile::Named("work".into()));
        let l = Line::parse(&words("clawkit backups show --profile=work"));
        assert_eq!(l.profile, Profile::Named("work".into()));
        let l = Line::parse(&words("clawkit --dev backups restore"));
        assert_eq!(l.profile, Profile::Named("dev".into()));
        let l = Line::parse(&words("clawkit --profile ../x backups show"));
        assert_eq!(l.profile, Profile::Default);
        let l = Line::parse(&words("clawkit update --registry http://r.example/ --to"));
        assert_eq!(l.registry.as_deref(), Some("http://r.example/"));
        let l = Line::parse(&words("clawkit update --registry=http://r/ --to"));
        assert_eq!(l.registry.as_deref(), Some("http://r/"));
        // A flag with a longer name is not --profile.
        let l = Line::parse(&words("clawkit --profiles x"));
        assert_eq!(l, Line::default());
    }

    fn values(c: Vec<CompletionCandidate>) -> Vec<String> {
        c.iter()
            .map(|c| c.get_value().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn a_fresh_cache_answers_without_npm_tags_first_then_newest_versions() {
        let home = tempfile::tempdir().unwrap();
        // No PATH: were npm asked, there would be nothing.
        let env = Env::from_pairs([("HOME", home.path())]);
        save(
            &env,
            &Releases {
                registry: String::new(),
                fetched_at: now(),
                tried_at: now(),
                dist_tags: [("latest".into(), "2026.9.6".into())].into(),
                versions: ["2026.9.5", "2026.10.1", "2026.9.6", "not-a-version"]
                    .map(String::from)
                    .into(),
            },
        );
        let got = target_candidates(&env, &Line::default(), OsStr::new(""));
        assert_eq!(values(got), ["latest", "2026.10.1", "2026.9.6", "2026.9.5"]);
        let got = target_candidates(&env, &Line::default(), OsStr::new("2026.9"));
        assert_eq!(values(got), ["2026.9.6", "2026.9.5"]);
    }

    #[test]
    fn without_npm_or_cache_the_channel_tags_are_offered_and_the_attempt_remembered() {
        let home = tempfile::tempdir().unwrap();
        let env = Env::from_pairs([("HOME", home.path())]);
        let got = target_candidates(&env, &Line::default(), OsStr::new(""));
        assert_eq!(values(got), ["latest", "extended-stable", "beta"]);
        let kept: Releases =
            serde_json::from_slice(&std::fs::read(cache_path(&env).unwrap()).unwrap()).unwrap();
        assert_eq!(kept.fetched_at, 0);
        assert!(kept.tried_at > 0);
        // Another registry's answer is not this one's.
        let other = Line {
            registry: Some("http://other/".into()),
            ..Line::default()
        };
        assert!(load(&env, &registry_key(&env, &other)).is_none());
    }

    #[test]
    fn the_completed_command_has_no_hidden_command() {
        let cmd = command();
        assert!(cmd.find_subcommand("intercept").is_none());
        assert!(cmd.find_subcommand("update").is_some());
        cmd.debug_assert();
    }
}
