//! clawkit's own settings: `$XDG_CONFIG_HOME/clawkit/config.toml` (or `CLAWKIT_CONFIG`), each
//! key also an environment variable and a flag. A flag beats the environment, which beats the
//! file, which beats the default; `clawkit config show` prints the effective value of each key
//! and where it came from. A bad file or value is a usage error (exit 2) that names the key and
//! the file, before anything runs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::env::Env;
use crate::exit::Failure;
use crate::version::Version;

/// OpenClaw's update channels, mapped to the npm dist-tags OpenClaw's own `openclaw update
/// --channel` uses (`channelToNpmTag` in its code): stable → `latest`, extended-stable →
/// `extended-stable`, beta → the newer of `beta` and `latest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    Stable,
    ExtendedStable,
    Beta,
}

impl Channel {
    pub fn parse(s: &str) -> Option<Channel> {
        match s.trim().to_ascii_lowercase().as_str() {
            "stable" | "latest" => Some(Channel::Stable),
            "extended-stable" => Some(Channel::ExtendedStable),
            "beta" => Some(Channel::Beta),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Stable => "stable",
            Channel::ExtendedStable => "extended-stable",
            Channel::Beta => "beta",
        }
    }

    /// The dist-tag this channel follows.
    pub fn tag(self) -> &'static str {
        match self {
            Channel::Stable => "latest",
            Channel::ExtendedStable => "extended-stable",
            Channel::Beta => "beta",
        }
    }
}

/// A version or an npm-style range (`2026.9`, `~2026.9.5`, `>=2026.9.4 <2026.10`) that `update`
/// will not leave.
#[derive(Debug, Clone)]
pub struct Pin {
    pub text: String,
    range: nodejs_semver::Range,
}

impl Pin {
    pub fn parse(s: &str) -> Result<Pin, String> {
        let text = s.trim().to_string();
        if text.is_empty() {
            return Err("the pin is empty".into());
        }
        let range = nodejs_semver::Range::parse(&text).map_err(|e| format!("{e}"))?;
        Ok(Pin { text, range })
    }

    /// In the pin? npm ranges read OpenClaw's corrections (`2026.9.5-1`, after 2026.9.5) as
    /// prereleases (before it): a correction is judged by its release instead, so `<2026.9.6`
    /// does not let `2026.9.6-1` through and `~2026.9.5` keeps `2026.9.5-1`.
    pub fn allows(&self, v: &Version) -> bool {
        let judged = if !v.is_prerelease() && v != &v.base() {
            v.base()
        } else {
            v.clone()
        };
        nodejs_semver::Version::parse(judged.to_string())
            .is_ok_and(|v| v.satisfies_with_prerelease(&self.range, true))
    }
}

/// The keys of the config file (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    channel: Option<String>,
    pin: Option<String>,
    min_release_age: Option<u64>,
    notify: Option<String>,
    keep: Option<u64>,
    timeout: Option<u64>,
    rehearsal: Option<bool>,
}

/// A value and where it came from: `default`, `file`, `env CLAWKIT_…` or `flag --…`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Sourced<T> {
    pub value: T,
    pub source: String,
}

/// What the flags of one command say (None: not given).
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub channel: Option<Channel>,
    pub pin: Option<String>,
    pub min_release_age: Option<u64>,
    pub notify: Option<String>,
    pub keep: Option<u64>,
    pub timeout: Option<u64>,
    pub rehearsal: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub file: PathBuf,
    pub file_exists: bool,
    pub channel: Sourced<Channel>,
    pub pin: Sourced<Option<Pin>>,
    /// Hours a release must have been published before `update` takes it from a tag.
    pub min_release_age: Sourced<u64>,
    pub notify: Sourced<Option<String>>,
    pub keep: Sourced<u64>,
    pub timeout: Sourced<u64>,
    pub rehearsal: Sourced<bool>,
}

/// Where the config file is: `CLAWKIT_CONFIG`, else `$XDG_CONFIG_HOME/clawkit/config.toml`, else
/// `~/.config/clawkit/config.toml`.
pub fn config_path(env: &Env) -> PathBuf {
    if let Some(p) = env.path("CLAWKIT_CONFIG") {
        return p;
    }
    env.path("XDG_CONFIG_HOME")
        .or_else(|| env.home().map(|h| h.join(".config")))
        .unwrap_or_else(|| PathBuf::from(".config"))
        .join("clawkit/config.toml")
}

fn bad(what: String, fix: &str) -> Failure {
    Failure::usage(what).with_fix(fix.to_string())
}

fn read_file(path: &Path) -> Result<(File, bool), Failure> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((File::default(), false)),
        Err(e) => {
            return Err(bad(
                format!("cannot read the clawkit config {}: {e}", path.display()),
                "fix its permissions, or point CLAWKIT_CONFIG at another file",
            ))
        }
    };
    let file: File = toml::from_str(&text).map_err(|e| {
        bad(
            format!(
                "the clawkit config {} is not valid: {}",
                path.display(),
                e.message()
            ),
            "keys: channel, pin, min_release_age, notify, keep, timeout, rehearsal (see `clawkit config show --help`)",
        )
    })?;
    Ok((file, true))
}

/// One key, resolved: flag, then env, then file, then default. `parse` validates env and file
/// values the same way (flags were validated by clap).
fn pick<T: Clone>(
    flag: Option<T>,
    flag_name: &str,
    env: &Env,
    var: &str,
    file: Option<T>,
    default: T,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Sourced<T>, Failure> {
    if let Some(v) = flag {
        return Ok(Sourced {
            value: v,
            source: format!("flag {flag_name}"),
        });
    }
    if let Some(raw) = env.get(var) {
        let value = parse(raw).map_err(|e| {
            let shown = if var == "CLAWKIT_NOTIFY" {
                String::new()
            } else {
                format!("={raw:?}")
            };
            bad(
                format!("{var}{shown} is not valid: {e}"),
                &format!("fix or unset {var}"),
            )
        })?;
        return Ok(Sourced {
            value,
            source: format!("env {var}"),
        });
    }
    if let Some(v) = file {
        return Ok(Sourced {
            value: v,
            source: "file".into(),
        });
    }
    Ok(Sourced {
        value: default,
        source: "default".into(),
    })
}

fn number(max: u64) -> impl Fn(&str) -> Result<u64, String> {
    move |s| {
        s.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| format!("expected a whole number from 0 to {max}"))
    }
}

/// A notify command line: non-empty and splittable like a shell would (never run by a shell).
fn command_line(s: &str) -> Result<Option<String>, String> {
    match shlex::split(s) {
        Some(words) if !words.is_empty() => Ok(Some(s.trim().to_string())),
        Some(_) => Err("the command is empty".into()),
        None => Err("not a command line (unbalanced quotes?)".into()),
    }
}

fn boolean(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

pub const DEFAULT_TIMEOUT: u64 = 120;
pub const DEFAULT_KEEP: u64 = 1;

/// The effective settings for one command.
pub fn load(env: &Env, flags: &Flags) -> Result<Settings, Failure> {
    let path = config_path(env);
    let (file, file_exists) = read_file(&path)?;
    let in_file = |key: &str, e: String| {
        bad(
            format!("{key} in {} is not valid: {e}", path.display()),
            &format!("fix `{key}` in {}", path.display()),
        )
    };
    let file_channel = file
        .channel
        .as_deref()
        .map(|c| {
            Channel::parse(c).ok_or_else(|| {
                in_file(
                    "channel",
                    format!("{c:?}: expected stable, extended-stable or beta"),
                )
            })
        })
        .transpose()?;
    let file_pin = file
        .pin
        .as_deref()
        .map(|p| Pin::parse(p).map_err(|e| in_file("pin", e)))
        .transpose()?;
    for (key, v, max) in [
        ("keep", file.keep, 20),
        ("timeout", file.timeout, 3600),
        ("min_release_age", file.min_release_age, 24 * 365),
    ] {
        if v.is_some_and(|v| v > max || (key == "timeout" && v == 0)) {
            return Err(in_file(key, format!("expected a number up to {max}")));
        }
    }
    let flag_pin = flags
        .pin
        .as_deref()
        .map(|p| {
            Pin::parse(p).map_err(|e| {
                bad(
                    format!("--pin {p:?} is not valid: {e}"),
                    "pass a version (2026.9.5) or a range (2026.9, >=2026.9.4 <2026.10)",
                )
            })
        })
        .transpose()?;
    Ok(Settings {
        channel: pick(
            flags.channel,
            "--channel",
            env,
            "CLAWKIT_CHANNEL",
            file_channel,
            Channel::Stable,
            |s| Channel::parse(s).ok_or_else(|| "expected stable, extended-stable or beta".into()),
        )?,
        pin: pick(
            flag_pin.map(Some),
            "--pin",
            env,
            "CLAWKIT_PIN",
            file_pin.map(Some),
            None,
            |s| Pin::parse(s).map(Some),
        )?,
        min_release_age: pick(
            flags.min_release_age,
            "--min-release-age",
            env,
            "CLAWKIT_MIN_RELEASE_AGE",
            file.min_release_age,
            0,
            number(24 * 365),
        )?,
        notify: pick(
            flags
                .notify
                .as_deref()
                .map(|n| {
                    command_line(n).map_err(|e| {
                        bad(
                            format!("--notify is not valid: {e}"),
                            "pass a command line, e.g. --notify '/usr/local/bin/notify-me --quiet'",
                        )
                    })
                })
                .transpose()?,
            "--notify",
            env,
            "CLAWKIT_NOTIFY",
            file.notify
                .as_deref()
                .map(|n| command_line(n).map_err(|e| in_file("notify", e)))
                .transpose()?,
            None,
            command_line,
        )?,
        keep: pick(
            flags.keep,
            "--keep",
            env,
            "CLAWKIT_KEEP",
            file.keep,
            DEFAULT_KEEP,
            number(20),
        )?,
        timeout: pick(
            flags.timeout,
            "--timeout",
            env,
            "CLAWKIT_TIMEOUT",
            file.timeout,
            DEFAULT_TIMEOUT,
            |s| {
                number(3600)(s).and_then(|n| {
                    if n == 0 {
                        Err("expected 1 to 3600".into())
                    } else {
                        Ok(n)
                    }
                })
            },
        )?,
        rehearsal: pick(
            flags.rehearsal,
            if flags.rehearsal == Some(false) {
                "--no-rehearsal"
            } else {
                "--rehearsal"
            },
            env,
            "CLAWKIT_REHEARSAL",
            file.rehearsal,
            true,
            boolean,
        )?,
        file: path,
        file_exists,
    })
}

/// What `config show` prints and `--json` holds.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Shown {
    pub file: PathBuf,
    pub file_exists: bool,
    pub channel: Sourced<Channel>,
    pub channel_tag: String,
    pub pin: Sourced<Option<String>>,
    pub min_release_age_hours: Sourced<u64>,
    /// The command only (it may hold a webhook URL with a key: shown redacted).
    pub notify: Sourced<Option<String>>,
    pub keep: Sourced<u64>,
    pub timeout_secs: Sourced<u64>,
    pub rehearsal: Sourced<bool>,
}

impl Settings {
    pub fn shown(&self) -> Shown {
        // The program only: its arguments may hold a webhook key or a bearer token in forms no
        // redaction rule knows.
        let map = |s: &Sourced<Option<String>>| Sourced {
            value: s.value.as_deref().map(|c| {
                let words = shlex::split(c).unwrap_or_default();
                match words.split_first() {
                    Some((prog, [])) => prog.clone(),
                    Some((prog, rest)) => format!("{prog} ({} arguments hidden)", rest.len()),
                    None => String::new(),
                }
            }),
            source: s.source.clone(),
        };
        Shown {
            file: self.file.clone(),
            file_exists: self.file_exists,
            channel: self.channel.clone(),
            channel_tag: self.channel.value.tag().into(),
            pin: Sourced {
                value: self.pin.value.as_ref().map(|p| p.text.clone()),
                source: self.pin.source.clone(),
            },
            min_release_age_hours: self.min_release_age.clone(),
            notify: map(&self.notify),
            keep: self.keep.clone(),
            timeout_secs: self.timeout.clone(),
            rehearsal: self.rehearsal.clone(),
        }
    }

    /// Runs the `notify` command with `doc` (the command's JSON report) on stdin. A failing
    /// notifier is reported, never fatal: the update itself is what counts.
    pub fn notify(&self, env: &Env, doc: &serde_json::Value) -> Option<String> {
        let cmdline = self.notify.value.as_deref()?;
        let argv = shlex::split(cmdline).unwrap_or_default();
        let Some((prog, rest)) = argv.split_first() else {
            return Some("notify: the command line is empty or unbalanced".into());
        };
        let prog = if prog.contains('/') {
            PathBuf::from(prog)
        } else {
            match env.which(prog) {
                Some(p) => p,
                None => return Some(format!("notify: {prog} is not on PATH")),
            }
        };
        let out = crate::exec::Cmd::new(&prog)
            .args(rest.iter().map(String::as_str))
            .stdin_bytes(serde_json::to_vec_pretty(doc).unwrap_or_default())
            .timeout(Duration::from_secs(60))
            .run();
        match out {
            Ok(o) if o.success() => None,
            Ok(o) => Some(format!(
                "notify: {prog} exited {}",
                o.code.map_or("by a signal".into(), |c| c.to_string()),
                prog = prog.file_name().map_or_else(
                    || prog.display().to_string(),
                    |n| n.to_string_lossy().into()
                ),
            )),
            Err(e) => Some(format!("notify: {e:#}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(file: Option<&str>, vars: &[(&str, &str)]) -> (tempfile::TempDir, Env) {
        let t = tempfile::tempdir().unwrap();
        let cfg = t.path().join("config.toml");
        if let Some(text) = file {
            std::fs::write(&cfg, text).unwrap();
        }
        let mut pairs: Vec<(String, String)> =
            vec![("CLAWKIT_CONFIG".into(), cfg.to_string_lossy().into_owned())];
        pairs.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        (t, Env::from_pairs(pairs))
    }

    #[test]
    fn flag_beats_env_beats_file_beats_default() {
        let (_t, env) = env_with(
            Some("channel = \"beta\"\ntimeout = 60\nkeep = 3\n"),
            &[("CLAWKIT_TIMEOUT", "90")],
        );
        let s = load(
            &env,
            &Flags {
                keep: Some(5),
                ..Flags::default()
            },
        )
        .unwrap();
        assert_eq!(
            (s.channel.value, s.channel.source.as_str()),
            (Channel::Beta, "file")
        );
        assert_eq!(
            (s.timeout.value, s.timeout.source.as_str()),
            (90, "env CLAWKIT_TIMEOUT")
        );
        assert_eq!((s.keep.value, s.keep.source.as_str()), (5, "flag --keep"));
        assert_eq!(
            (s.rehearsal.value, s.rehearsal.source.as_str()),
            (true, "default")
        );
    }

    #[test]
    fn bad_values_are_usage_errors_that_name_the_key() {
        for (file, vars, want) in [
            (Some("chanel = \"beta\"\n"), vec![], "chanel"),
            (Some("channel = \"nightly\"\n"), vec![], "channel"),
            (Some("pin = \">>2026\"\n"), vec![], "pin"),
            (Some("timeout = 0\n"), vec![], "timeout"),
            (None, vec![("CLAWKIT_KEEP", "many")], "CLAWKIT_KEEP"),
            (
                None,
                vec![("CLAWKIT_NOTIFY", "curl 'unclosed")],
                "CLAWKIT_NOTIFY",
            ),
        ] {
            let (_t, env) = env_with(file, &vars);
            let e = load(&env, &Flags::default()).unwrap_err();
            assert_eq!(e.exit, crate::exit::Exit::Usage);
            assert!(e.message.contains(want), "{want}: {}", e.message);
        }
    }

    #[test]
    fn pins_are_npm_ranges() {
        let v = |s: &str| s.parse::<Version>().unwrap();
        let p = Pin::parse("2026.9").unwrap();
        assert!(p.allows(&v("2026.9.6")) && !p.allows(&v("2026.10.1")));
        let p = Pin::parse(">=2026.9.4 <2026.9.6").unwrap();
        assert!(p.allows(&v("2026.9.5")) && !p.allows(&v("2026.9.6")));
        // Corrections come after their release (OpenClaw's order, not semver's).
        assert!(!p.allows(&v("2026.9.6-1")) && p.allows(&v("2026.9.5-1")));
        assert!(Pin::parse("~2026.9.5").unwrap().allows(&v("2026.9.5-2")));
        assert!(Pin::parse("2026.9.5").unwrap().allows(&v("2026.9.5")));
    }

    #[test]
    fn notify_gets_the_report_on_stdin_and_its_secrets_stay_hidden() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("got.json");
        let (_t, env) = env_with(
            None,
            &[
                ("PATH", "/usr/bin:/bin"),
                (
                    "CLAWKIT_NOTIFY",
                    &format!("sh -c 'cat > {}' --token=abc", out.display()),
                ),
            ],
        );
        let s = load(&env, &Flags::default()).unwrap();
        assert_eq!(
            s.notify(&env, &serde_json::json!({"outcome": "updated"})),
            None
        );
        let got: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert_eq!(got["outcome"], "updated");
        let shown = serde_json::to_string(&s.shown()).unwrap();
        assert!(!shown.contains("abc"), "{shown}");
    }
}
