//! Where an OpenClaw profile keeps its state, resolved exactly as OpenClaw 2026.9 does
//! (`src/config/paths.ts`, `src/cli/profile-utils.ts`, `src/cli/profile.ts`).

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use crate::env::Env;
use crate::exit::Failure;

pub const DEFAULT_PORT: u16 = 18789;
pub const DEV_PORT: u16 = 19001;

/// Which profile the user asked for (`--profile NAME`, `--dev`, or neither).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "name")]
pub enum Profile {
    #[default]
    Default,
    Named(String),
}

impl Profile {
    /// Validates a profile name like OpenClaw (`^[a-z0-9][a-z0-9_-]{0,63}$`, any case).
    pub fn parse(name: &str) -> Result<Profile, Failure> {
        let n = name.trim();
        let valid = !n.is_empty()
            && n.len() <= 64
            && n.as_bytes()[0].is_ascii_alphanumeric()
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            let shown: String = n.chars().take(40).collect();
            return Err(Failure::usage(format!(
                "invalid profile name {shown:?}: use 1-64 letters, digits, '-' or '_', starting with a letter or digit"
            )));
        }
        if n.eq_ignore_ascii_case("default") {
            Ok(Profile::Default)
        } else {
            Ok(Profile::Named(n.to_string()))
        }
    }

    pub fn name(&self) -> Option<&str> {
        match self {
            Profile::Default => None,
            Profile::Named(n) => Some(n),
        }
    }

    pub fn is_dev(&self) -> bool {
        self.name() == Some("dev")
    }

    /// `openclaw-gateway.service` / `openclaw-gateway-NAME.service`.
    pub fn systemd_unit(&self) -> String {
        match self.name() {
            None => "openclaw-gateway.service".into(),
            Some(n) => format!("openclaw-gateway-{}.service", n.to_ascii_lowercase()),
        }
    }

    /// `ai.openclaw.gateway` / `ai.openclaw.NAME`.
    pub fn launchd_label(&self) -> String {
        match self.name() {
            None => "ai.openclaw.gateway".into(),
            Some(n) => format!("ai.openclaw.{}", n.to_ascii_lowercase()),
        }
    }
}

/// A resolved profile: state dir, config path, port, and where each came from.
#[derive(Debug, Clone, Serialize)]
pub struct Layout {
    pub profile: Profile,
    pub home: PathBuf,
    pub state_dir: PathBuf,
    pub state_dir_from: &'static str,
    pub config_path: PathBuf,
    pub config_path_from: &'static str,
    /// The port from the environment or the command line; the config may set it too
    /// (see [`crate::config::Config::port`]), which the probe folds in.
    pub port_override: Option<(u16, &'static str)>,
}

/// The effective home: `OPENCLAW_HOME`, `HOME`, `USERPROFILE`, else the cwd.
pub fn home_dir(env: &Env) -> Result<PathBuf> {
    for key in ["OPENCLAW_HOME", "HOME", "USERPROFILE"] {
        if let Some(p) = env.get(key) {
            return Ok(absolute(&expand_tilde(p, None)));
        }
    }
    std::env::current_dir().map_err(|_| {
        Failure::usage("cannot find a home directory")
            .with_fix("set HOME or OPENCLAW_HOME")
            .into()
    })
}

fn expand_tilde(p: &str, home: Option<&Path>) -> PathBuf {
    match (p.strip_prefix('~'), home) {
        (Some(rest), Some(h)) if rest.is_empty() || rest.starts_with('/') => {
            h.join(rest.trim_start_matches('/'))
        }
        _ => PathBuf::from(p),
    }
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

fn user_path(value: &str, home: &Path) -> PathBuf {
    absolute(&expand_tilde(value, Some(home)))
}

pub fn parse_port(value: &str, what: &str) -> Result<u16, Failure> {
    match value.trim().parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(Failure::usage(format!(
            "{what} is {:?}, which is not a TCP port (1-65535)",
            value.chars().take(20).collect::<String>()
        ))),
    }
}

/// Resolves state dir and config path for `profile` as OpenClaw's CLI would.
pub fn resolve(env: &Env, profile: &Profile, port_flag: Option<u16>) -> Result<Layout> {
    let home = home_dir(env)?;
    let default_state = home.join(".openclaw");
    let env_state = env.get("OPENCLAW_STATE_DIR").map(|s| user_path(s, &home));
    let env_config = env.get("OPENCLAW_CONFIG_PATH").map(|s| user_path(s, &home));

    let (state_dir, state_dir_from, config_override) = match profile.name() {
        Some(name) => {
            // `--profile` keeps an explicit OPENCLAW_STATE_DIR unless it pointed at the default
            // profile's dir, and keeps OPENCLAW_CONFIG_PATH unless it was the default config.
            let profile_dir = home.join(format!(".openclaw-{name}"));
            let (state, from) = match env_state {
                Some(s) if s != default_state => (s, "OPENCLAW_STATE_DIR"),
                _ => (profile_dir, "--profile"),
            };
            let config = env_config.filter(|c| *c != default_state.join("openclaw.json"));
            (state, from, config)
        }
        None => match env_state {
            Some(s) => (s, "OPENCLAW_STATE_DIR", env_config),
            None => {
                let legacy = home.join(".clawdbot");
                if !default_state.exists() && legacy.exists() {
                    (legacy, "legacy ~/.clawdbot", env_config)
                } else {
                    (default_state, "default", env_config)
                }
            }
        },
    };

    let (config_path, config_path_from) = match config_override {
        Some(c) => (c, "OPENCLAW_CONFIG_PATH"),
        None => {
            let legacy = state_dir.join("clawdbot.json");
            let canonical = state_dir.join("openclaw.json");
            if !canonical.exists() && legacy.exists() {
                (legacy, "legacy clawdbot.json")
            } else {
                (canonical, "state dir")
            }
        }
    };

    let port_override = match (port_flag, env.get("OPENCLAW_GATEWAY_PORT")) {
        (Some(p), _) => Some((p, "--port")),
        (None, Some(v)) => Some((
            parse_port(v, "OPENCLAW_GATEWAY_PORT")?,
            "OPENCLAW_GATEWAY_PORT",
        )),
        (None, None) if profile.is_dev() => Some((DEV_PORT, "--dev")),
        _ => None,
    };

    Ok(Layout {
        profile: profile.clone(),
        home,
        state_dir,
        state_dir_from,
        config_path,
        config_path_from,
        port_override,
    })
}

impl Layout {
    /// The layout of another profile's state dir, as found on disk (`~/.openclaw-NAME`) or in a
    /// running gateway's lock file.
    pub fn for_state_dir(home: &Path, state_dir: &Path, config_path: Option<PathBuf>) -> Layout {
        let profile = state_dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix(".openclaw-"))
            .filter(|_| state_dir.parent() == Some(home))
            .and_then(|n| Profile::parse(n).ok())
            .unwrap_or_default();
        Layout {
            profile,
            home: home.to_path_buf(),
            state_dir: state_dir.to_path_buf(),
            state_dir_from: "discovered",
            config_path: config_path.unwrap_or_else(|| state_dir.join("openclaw.json")),
            config_path_from: "discovered",
            port_override: None,
        }
    }

    /// OpenClaw 8.x/9.x keep their gateway locks here.
    pub fn lock_dir(&self) -> PathBuf {
        self.state_dir
            .join("tmp")
            .join(format!("openclaw-{}", nix::unistd::getuid()))
    }

    /// `gateway.<sha256(config path)[..8]>.lock`, the per-config lock name of every era.
    pub fn config_lock_name(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(self.config_path.to_string_lossy().as_bytes());
        format!("gateway.{}.lock", &hex::encode(digest)[..8])
    }

    /// Where clawkit keeps its own files for this profile.
    pub fn clawkit_dir(&self) -> PathBuf {
        self.state_dir.join("clawkit")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn default_profile() {
        let l = resolve(&env(&[("HOME", "/h")]), &Profile::Default, None).unwrap();
        assert_eq!(l.state_dir, Path::new("/h/.openclaw"));
        assert_eq!(l.config_path, Path::new("/h/.openclaw/openclaw.json"));
        assert_eq!(l.port_override, None);
    }

    #[test]
    fn openclaw_home_wins_over_home() {
        let l = resolve(
            &env(&[("HOME", "/h"), ("OPENCLAW_HOME", "/oc")]),
            &Profile::Default,
            None,
        )
        .unwrap();
        assert_eq!(l.state_dir, Path::new("/oc/.openclaw"));
    }

    #[test]
    fn state_dir_and_config_env() {
        let l = resolve(
            &env(&[
                ("HOME", "/h"),
                ("OPENCLAW_STATE_DIR", "~/s"),
                ("OPENCLAW_CONFIG_PATH", "/c/x.json"),
            ]),
            &Profile::Default,
            None,
        )
        .unwrap();
        assert_eq!(l.state_dir, Path::new("/h/s"));
        assert_eq!(l.config_path, Path::new("/c/x.json"));
        assert_eq!(l.state_dir_from, "OPENCLAW_STATE_DIR");
    }

    #[test]
    fn named_and_dev_profiles() {
        let p = Profile::parse("work").unwrap();
        let l = resolve(&env(&[("HOME", "/h")]), &p, None).unwrap();
        assert_eq!(l.state_dir, Path::new("/h/.openclaw-work"));
        assert_eq!(l.config_path, Path::new("/h/.openclaw-work/openclaw.json"));
        assert_eq!(p.systemd_unit(), "openclaw-gateway-work.service");
        assert_eq!(p.launchd_label(), "ai.openclaw.work");

        let dev = Profile::parse("dev").unwrap();
        let l = resolve(&env(&[("HOME", "/h")]), &dev, None).unwrap();
        assert_eq!(l.state_dir, Path::new("/h/.openclaw-dev"));
        assert_eq!(l.port_override, Some((DEV_PORT, "--dev")));
        assert_eq!(Profile::parse("Default").unwrap(), Profile::Default);
    }

    #[test]
    fn profile_keeps_explicit_foreign_state_dir() {
        let p = Profile::parse("work").unwrap();
        let l = resolve(
            &env(&[("HOME", "/h"), ("OPENCLAW_STATE_DIR", "/h/.openclaw")]),
            &p,
            None,
        )
        .unwrap();
        assert_eq!(l.state_dir, Path::new("/h/.openclaw-work"));
        let l = resolve(
            &env(&[("HOME", "/h"), ("OPENCLAW_STATE_DIR", "/elsewhere")]),
            &p,
            None,
        )
        .unwrap();
        assert_eq!(l.state_dir, Path::new("/elsewhere"));
    }

    #[test]
    fn port_precedence() {
        let e = env(&[("HOME", "/h"), ("OPENCLAW_GATEWAY_PORT", "20000")]);
        let l = resolve(&e, &Profile::Default, None).unwrap();
        assert_eq!(l.port_override, Some((20000, "OPENCLAW_GATEWAY_PORT")));
        let l = resolve(&e, &Profile::Default, Some(30000)).unwrap();
        assert_eq!(l.port_override, Some((30000, "--port")));
        let bad = env(&[("HOME", "/h"), ("OPENCLAW_GATEWAY_PORT", "http")]);
        let err = resolve(&bad, &Profile::Default, None).unwrap_err();
        assert_eq!(crate::exit::exit_for(&err), crate::exit::Exit::Usage);
    }

    #[test]
    fn bad_profile_names() {
        for bad in ["", "-x", "a b", "a/b", "../x", "x;rm", &"a".repeat(65), "é"] {
            assert!(Profile::parse(bad).is_err(), "{bad:?}");
        }
        for good in ["a", "A1", "my_work-2", &"a".repeat(64)] {
            assert!(Profile::parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn lock_name_is_sha256_prefix_of_config_path() {
        let l = resolve(&env(&[("HOME", "/h")]), &Profile::Default, None).unwrap();
        // sha256("/h/.openclaw/openclaw.json")
        let name = l.config_lock_name();
        assert!(name.starts_with("gateway.") && name.ends_with(".lock"));
        assert_eq!(name.len(), "gateway.".len() + 8 + ".lock".len());
    }
}
