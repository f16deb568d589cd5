//! The parts of OpenClaw's JSON5 config that clawkit reads. It never writes the config.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::secret::Secret;
use crate::version::Version;

/// What the probe learned from the config file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Config {
    pub exists: bool,
    /// Why it could not be read or parsed (the file is left alone).
    pub error: Option<String>,
    pub port: Option<u16>,
    pub mode: Option<String>,
    /// `meta.lastTouchedVersion`: the newest OpenClaw that wrote this config.
    pub last_touched_version: Option<Version>,
    pub log_file: Option<PathBuf>,
    #[serde(skip)]
    pub token: Option<Secret>,
    pub has_token: bool,
}

impl Config {
    pub fn load(path: &Path) -> Config {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Config::default(),
            Err(e) => {
                return Config {
                    exists: true,
                    error: Some(format!("cannot read {}: {e}", path.display())),
                    ..Config::default()
                }
            }
        };
        match Self::parse(&text) {
            Ok(c) => c,
            Err(e) => Config {
                exists: true,
                error: Some(format!("cannot parse {} as JSON5: {e}", path.display())),
                ..Config::default()
            },
        }
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        let v: Value = if text.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            json5::from_str(text).map_err(|e| {
                // json5 errors may quote the input: keep only the position part.
                let msg = e.to_string();
                msg.split_once(" at ")
                    .map_or("syntax error".to_string(), |(_, pos)| {
                        format!("syntax error at {pos}")
                    })
            })?
        };
        if !v.is_object() {
            return Err("the top level is not an object".into());
        }
        let at = |path: &[&str]| path.iter().try_fold(&v, |node, k| node.get(k));
        let port = at(&["gateway", "port"]).and_then(|p| match p {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        });
        let token = at(&["gateway", "auth", "token"])
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(Secret::new);
        Ok(Config {
            exists: true,
            error: None,
            port: port.and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0),
            mode: at(&["gateway", "mode"])
                .and_then(Value::as_str)
                .map(String::from),
            last_touched_version: at(&["meta", "lastTouchedVersion"])
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok()),
            log_file: at(&["logging", "file"])
                .and_then(Value::as_str)
                .map(PathBuf::from),
            has_token: token.is_some(),
            token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json5() {
        let c = Config::parse(
            "// comment\n{gateway: {port: 19100, mode: 'local', auth: {token: 'abc',},}, meta: {lastTouchedVersion: '2026.9.5'}}",
        )
        .unwrap();
        assert_eq!(c.port, Some(19100));
        assert_eq!(c.mode.as_deref(), Some("local"));
        assert_eq!(c.last_touched_version, Some("2026.9.5".parse().unwrap()));
        assert!(c.has_token);
        assert!(!serde_json::to_string(&c).unwrap().contains("abc"));
        assert!(!format!("{c:?}").contains("abc"));
    }

    #[test]
    fn bad_configs_do_not_leak_content() {
        let err = Config::parse("{gateway: {auth: {token: 'sekrit' ").unwrap_err();
        assert!(!err.contains("sekrit"), "{err}");
        assert!(Config::parse("[1,2]").is_err());
        assert_eq!(Config::parse("").unwrap().port, None);
        assert_eq!(Config::parse("{gateway:{port: 70000}}").unwrap().port, None);
    }
}
