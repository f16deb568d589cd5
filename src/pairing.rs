//! Read-only inspection of device pairing state, in both storage eras:
//! - JSON (up to 2026.7.x): `devices/paired.json`, `devices/pending.json`,
//!   `identity/device.json`, `identity/device-auth.json`;
//! - SQLite (from ~2026.8.1): `state/openclaw.sqlite`, which clawkit never writes; leftover JSON
//!   files there block commands until `openclaw doctor --fix`.
//!
//! Token values are compared in memory (constant time) and never leave this module.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{json, Value};

use crate::layout::Layout;
use crate::secret::Secret;
use crate::version::Version;

const PENDING_TTL_MS: u64 = 5 * 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Era {
    Json,
    Sqlite,
}

/// The pairing era of a profile. It follows the installed release (pairing moved into
/// `state/openclaw.sqlite` in 2026.8.1; earlier releases already keep other data in that database,
/// so its presence proves nothing). Without a known version, the files decide.
pub fn era(layout: &Layout, installed: Option<&Version>) -> Era {
    match installed {
        Some(v) if v >= &Version::new(2026, 8, 1) => Era::Sqlite,
        Some(_) => Era::Json,
        None if layout.state_dir.join("devices/paired.json").exists() => Era::Json,
        None if layout.state_dir.join("state/openclaw.sqlite").exists() => Era::Sqlite,
        None => Era::Json,
    }
}

/// One finding: `ok`, `warn` or `fail`, a message, and the fix.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub status: &'static str,
    pub message: String,
    pub fix: Option<String>,
    pub evidence: Value,
}

fn finding(
    status: &'static str,
    message: impl Into<String>,
    fix: Option<&str>,
    evidence: Value,
) -> Finding {
    Finding {
        status,
        message: message.into(),
        fix: fix.map(String::from),
        evidence,
    }
}

fn read_json(p: &Path) -> Option<Result<Value, String>> {
    let text = std::fs::read_to_string(p).ok()?;
    Some(
        serde_json::from_str(&text)
            .map_err(|e| format!("{} is not valid JSON (line {})", p.display(), e.line())),
    )
}

fn mode(p: &Path) -> Option<u32> {
    std::fs::metadata(p)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

pub fn inspect(layout: &Layout, installed: Option<&Version>) -> (Era, Vec<Finding>) {
    let era = era(layout, installed);
    let dir = &layout.state_dir;
    let mut out = Vec::new();
    match era {
        Era::Sqlite => {
            let leftovers: Vec<String> = [
                "identity/device.json",
                "identity/device-auth.json",
                "devices/paired.json",
                "devices/pending.json",
            ]
            .iter()
            .filter(|f| dir.join(f).exists())
            .map(|f| f.to_string())
            .collect();
            let migrated = [
                "devices/paired.json.migrated",
                "devices/pending.json.migrated",
            ]
            .iter()
            .filter(|f| dir.join(f).exists())
            .count();
            if leftovers.is_empty() {
                out.push(finding(
                    "ok",
                    "pairing state is in state/openclaw.sqlite; no legacy JSON files left",
                    None,
                    json!({"migrated_files": migrated}),
                ));
            } else {
                out.push(finding(
                    "fail",
                    format!(
                        "legacy pairing files next to the SQLite store block commands: {}",
                        leftovers.join(", ")
                    ),
                    Some("stop the gateway, then run: openclaw doctor --fix --non-interactive"),
                    json!({"files": leftovers}),
                ));
            }
        }
        Era::Json => inspect_json(dir, &mut out),
    }
    (era, out)
}

fn inspect_json(dir: &Path, out: &mut Vec<Finding>) {
    let paired_p = dir.join("devices/paired.json");
    let pending_p = dir.join("devices/pending.json");
    let device_p = dir.join("identity/device.json");
    let auth_p = dir.join("identity/device-auth.json");
    let repair =
        Some("clawkit repair pairing  (backs up and clears the pairing state, then approves once)");

    let paired = match read_json(&paired_p) {
        None => None,
        Some(Err(e)) => {
            out.push(finding("fail", e, repair, json!({"file": paired_p})));
            None
        }
        Some(Ok(Value::Object(o))) => Some(o),
        Some(Ok(Value::Array(a))) => {
            out.push(finding(
                "fail",
                format!(
                    "devices/paired.json is a legacy array ({} entries): approvals cannot be saved",
                    a.len()
                ),
                repair,
                json!({"file": paired_p, "entries": a.len()}),
            ));
            None
        }
        Some(Ok(_)) => {
            out.push(finding(
                "fail",
                "devices/paired.json is not an object",
                repair,
                json!({"file": paired_p}),
            ));
            None
        }
    };
    match read_json(&pending_p) {
        Some(Ok(Value::Object(o))) => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            let expired = o
                .values()
                .filter(|e| {
                    e.get("ts")
                        .and_then(Value::as_u64)
                        .is_some_and(|ts| now.saturating_sub(ts) > PENDING_TTL_MS)
                })
                .count();
            if expired > 0 {
                out.push(finding(
                    "warn",
                    format!("{expired} of {} pending pairing request(s) are past their 5-minute expiry", o.len()),
                    Some("ask the device to reconnect, then approve the new request: openclaw devices list"),
                    json!({"pending": o.len(), "expired": expired}),
                ));
            }
        }
        Some(Ok(_)) => out.push(finding(
            "fail",
            "devices/pending.json is not an object",
            repair,
            json!({"file": pending_p}),
        )),
        Some(Err(e)) => out.push(finding("fail", e, repair, json!({"file": pending_p}))),
        None => {}
    }

    // The CLI's own identity and cached tokens against what the gateway paired.
    let device_id = read_json(&device_p)
        .and_then(Result::ok)
        .and_then(|v| v.get("deviceId").and_then(Value::as_str).map(String::from));
    if let Some(Ok(auth)) = read_json(&auth_p) {
        let auth_id = auth
            .get("deviceId")
            .and_then(Value::as_str)
            .map(String::from);
        if device_id.is_some() && auth_id.is_some() && auth_id != device_id {
            out.push(finding(
                "fail",
                "identity/device-auth.json belongs to another device than identity/device.json: the CLI's cached tokens are ignored",
                repair,
                json!({"file": auth_p}),
            ));
        } else if let (Some(id), Some(paired)) = (&device_id, &paired) {
            let mut mismatched = Vec::new();
            let mut unpaired = false;
            match paired.get(id) {
                None => unpaired = true,
                Some(entry) => {
                    if let Some(tokens) = auth.get("tokens").and_then(Value::as_object) {
                        for (role, t) in tokens {
                            let cached = t.get("token").and_then(Value::as_str).map(Secret::new);
                            let server = entry
                                .pointer(&format!("/tokens/{role}/token"))
                                .and_then(Value::as_str)
                                .map(Secret::new);
                            if let (Some(c), Some(s)) = (cached, server) {
                                if !c.ct_eq(&s) {
                                    mismatched.push(role.clone());
                                }
                            }
                        }
                    }
                }
            }
            if unpaired {
                out.push(finding(
                    "warn",
                    "the CLI's device is not in devices/paired.json: it will ask for pairing again",
                    Some("openclaw devices list, then approve the CLI's request once"),
                    json!({"device": short(id)}),
                ));
            } else if !mismatched.is_empty() {
                out.push(finding(
                    "fail",
                    format!("the CLI's cached token differs from the paired token for role(s) {}: every request gets `device token mismatch`", mismatched.join(", ")),
                    repair,
                    json!({"device": short(id), "roles": mismatched}),
                ));
            } else {
                out.push(finding(
                    "ok",
                    "the CLI's cached tokens match its paired device",
                    None,
                    json!({"device": short(id)}),
                ));
            }
        }
    }
    for p in [&paired_p, &pending_p, &device_p, &auth_p] {
        if let Some(m) = mode(p).filter(|m| m & 0o077 != 0) {
            out.push(finding(
                "warn",
                format!(
                    "{} is mode {m:o}: other users can read device tokens",
                    p.display()
                ),
                Some(&format!("chmod 600 {}", p.display())),
                json!({"file": p, "mode": format!("{m:o}")}),
            ));
        }
    }
    if out.is_empty() {
        let status = if paired.is_some() {
            "JSON pairing files are consistent"
        } else {
            "no pairing files yet"
        };
        out.push(finding("ok", status, None, json!({})));
    }
}

/// Device ids are public keys' fingerprints, not secrets, but long: show a prefix.
fn short(id: &str) -> String {
    id.chars().take(12).collect()
}
