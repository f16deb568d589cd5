//! Reads OpenClaw's JSON-lines logs for the signs of the skew loop: `pairing required`,
//! `device token mismatch`, `gateway install changed`, `protocol mismatch`, and approvals
//! (`device pairing approved device=…`). Only the tail of each file is read; token values are
//! never kept.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::layout::Layout;

const TAIL_BYTES: u64 = 4 * 1024 * 1024;
/// An approval counts as part of a loop when `pairing required` comes back this soon after it.
const LOOP_WINDOW: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    PairingRequired,
    /// `pairing required` for a scope, role or metadata upgrade: normal flow, not the loop.
    UpgradeRequired,
    TokenMismatch,
    InstallChanged,
    ProtocolMismatch,
    Approved,
}

impl Kind {
    fn classify(text: &str) -> Option<Kind> {
        let t = text.to_ascii_lowercase();
        if t.contains("device pairing approved") || t.contains("device pairing auto-approved") {
            Some(Kind::Approved)
        } else if t.contains("pairing required")
            && [
                "more scope",
                "scope-upgrade",
                "scope upgrade",
                "role-upgrade",
                "role upgrade",
                "metadata-upgrade",
                "metadata upgrade",
            ]
            .iter()
            .any(|u| t.contains(u))
        {
            Some(Kind::UpgradeRequired)
        } else if t.contains("pairing required") {
            Some(Kind::PairingRequired)
        } else if t.contains("device token mismatch") || t.contains("auth_device_token_mismatch") {
            Some(Kind::TokenMismatch)
        } else if t.contains("gateway install changed") {
            Some(Kind::InstallChanged)
        } else if t.contains("protocol mismatch") {
            Some(Kind::ProtocolMismatch)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub kind: Kind,
    #[serde(skip)]
    pub at: SystemTime,
    pub time: String,
    pub device: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Count {
    pub count: usize,
    pub first: Option<String>,
    pub last: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Scan {
    pub files: Vec<PathBuf>,
    pub pairing_required: Count,
    pub token_mismatch: Count,
    pub install_changed: Count,
    pub protocol_mismatch: Count,
    /// Scope/role/metadata upgrades asking for approval (not errors).
    pub upgrades: Count,
    pub approvals: Count,
    /// Approvals followed by `pairing required` (same device, or unattributed) within 5 minutes.
    pub loops: usize,
    pub looping_devices: Vec<String>,
    #[serde(skip)]
    pub first_error_at: Option<SystemTime>,
}

/// Log files of this profile: `logging.file`, the shared `/tmp/openclaw/openclaw-DATE.log` of
/// today and yesterday, and `<state>/logs/*.log`.
pub fn log_files(layout: &Layout, configured: Option<&Path>) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(p) = configured {
        v.push(p.to_path_buf());
    }
    let now = SystemTime::now();
    for back in [0u64, 1] {
        let day = now - Duration::from_secs(back * 86_400);
        let date = &humantime::format_rfc3339_seconds(day).to_string()[..10];
        v.push(PathBuf::from(format!("/tmp/openclaw/openclaw-{date}.log")));
    }
    if let Ok(rd) = std::fs::read_dir(layout.state_dir.join("logs")) {
        let mut logs: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        logs.sort();
        v.extend(logs);
    }
    v.retain(|p| p.is_file());
    let mut seen = std::collections::HashSet::new();
    v.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    v
}

/// Parses `2026-11-25T13:16:50.023Z` and `2026-11-25T13:16:50.023+01:00`.
pub fn parse_time(s: &str) -> Option<SystemTime> {
    if let Ok(t) = humantime::parse_rfc3339_weak(s.trim_end_matches('Z')) {
        if s.ends_with('Z') || s.len() <= 23 {
            return Some(t);
        }
    }
    let s = s.trim();
    if s.len() < 6 {
        return None;
    }
    let (base, off) = s.split_at(s.len() - 6);
    let sign = match off.as_bytes()[0] {
        b'+' => 1i64,
        b'-' => -1,
        _ => return None,
    };
    let h: i64 = off.get(1..3)?.parse().ok()?;
    let m: i64 = off.get(4..6)?.parse().ok()?;
    let t = humantime::parse_rfc3339_weak(base).ok()?;
    let shift = Duration::from_secs(((h * 60 + m) * 60) as u64);
    Some(if sign > 0 { t - shift } else { t + shift })
}

/// One log line as an event, when it is one of the kinds clawkit looks for.
pub fn line_event(line: &str) -> Option<Event> {
    let (text, time) = match serde_json::from_str::<serde_json::Value>(line) {
        Ok(v) => {
            let text = v
                .get("message")
                .and_then(|m| m.as_str())
                .map(String::from)
                .or_else(|| v.get("msg").and_then(|m| m.as_str()).map(String::from))
                .unwrap_or_else(|| {
                    (0..4)
                        .filter_map(|i| v.get(i.to_string()).and_then(|x| x.as_str()))
                        .collect::<Vec<_>>()
                        .join(" ")
                });
            let time = v
                .get("time")
                .and_then(|t| t.as_str())
                .or_else(|| v.pointer("/_meta/date").and_then(|t| t.as_str()))
                .map(String::from);
            (text, time)
        }
        Err(_) => (line.to_string(), None),
    };
    let kind = Kind::classify(&text)?;
    let time = time?;
    let at = parse_time(&time)?;
    let device = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("device="))
        .map(|d| {
            d.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_' && c != ':')
        })
        .filter(|d| !d.is_empty() && *d != "yes" && *d != "no")
        .map(|d| d.chars().take(64).collect());
    Some(Event {
        kind,
        at,
        time,
        device,
    })
}

fn tail(path: &Path) -> String {
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    if len > TAIL_BYTES {
        let _ = f.seek(SeekFrom::Start(len - TAIL_BYTES));
    }
    let mut buf = Vec::new();
    let _ = f.take(TAIL_BYTES).read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    if len > TAIL_BYTES {
        // Drop the partial first line.
        text.split_once('\n')
            .map_or(String::new(), |(_, rest)| rest.to_string())
    } else {
        text
    }
}

/// Scans `files` for events newer than `since`.
pub fn scan(files: &[PathBuf], since: SystemTime) -> Scan {
    let mut events: Vec<Event> = files
        .iter()
        .flat_map(|f| tail(f).lines().filter_map(line_event).collect::<Vec<_>>())
        .filter(|e| e.at >= since)
        .collect();
    events.sort_by_key(|e| e.at);
    let mut s = Scan {
        files: files.to_vec(),
        ..Scan::default()
    };
    for e in &events {
        let c = match e.kind {
            Kind::PairingRequired => &mut s.pairing_required,
            Kind::TokenMismatch => &mut s.token_mismatch,
            Kind::InstallChanged => &mut s.install_changed,
            Kind::ProtocolMismatch => &mut s.protocol_mismatch,
            Kind::Approved => &mut s.approvals,
            Kind::UpgradeRequired => &mut s.upgrades,
        };
        c.count += 1;
        c.first.get_or_insert_with(|| e.time.clone());
        c.last = Some(e.time.clone());
        if !matches!(e.kind, Kind::Approved | Kind::UpgradeRequired) && s.first_error_at.is_none() {
            s.first_error_at = Some(e.at);
        }
    }
    for (i, a) in events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind == Kind::Approved)
    {
        let again = events[i + 1..]
            .iter()
            .take_while(|e| e.at <= a.at + LOOP_WINDOW)
            .any(|e| {
                matches!(e.kind, Kind::PairingRequired | Kind::TokenMismatch)
                    && (e.device.is_none() || e.device == a.device)
            });
        if again {
            s.loops += 1;
            if let Some(d) = &a.device {
                if !s.looping_devices.contains(d) {
                    s.looping_devices.push(d.clone());
                }
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(time: &str, msg: &str) -> String {
        serde_json::json!({"0": "{\"subsystem\":\"gateway\"}", "1": msg, "time": time, "message": msg}).to_string()
    }

    #[test]
    fn detects_the_approve_then_pairing_required_loop() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("openclaw.log");
        let now = humantime::format_rfc3339_millis(SystemTime::now() - Duration::from_secs(60))
            .to_string();
        let text = [
            line(&now, "device pairing approved device=abc123 role=operator"),
            line(&now, "gateway closed (1008): pairing required"),
            line(
                &now,
                "unauthorized conn=1 device=abc123 reason=device token mismatch",
            ),
            "not json at all".to_string(),
            line(
                "2020-01-01T00:00:00.000Z",
                "gateway closed (1008): pairing required",
            ),
        ]
        .join("\n");
        std::fs::write(&f, text).unwrap();
        let s = scan(&[f], SystemTime::now() - Duration::from_secs(1800));
        assert_eq!(s.approvals.count, 1);
        assert_eq!(
            s.pairing_required.count, 1,
            "the 2020 line is outside the window"
        );
        assert_eq!(s.token_mismatch.count, 1);
        assert_eq!(s.loops, 1);
        assert_eq!(s.looping_devices, ["abc123"]);
    }

    #[test]
    fn scope_upgrades_are_not_the_loop() {
        // As logged by a real 2026.6.11 gateway while the CLI asked for the pairing scope.
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("openclaw.log");
        let now = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        std::fs::write(
            &f,
            [
                line(&now, "device pairing auto-approved device=849b734c role=operator"),
                line(&now, "closed before connect conn=92cb peer=127.0.0.1:45898->127.0.0.1:57097 code=1008 reason=pairing required: device is asking for more scopes than currently approved"),
            ]
            .join("\n"),
        )
        .unwrap();
        let s = scan(&[f], SystemTime::now() - Duration::from_secs(60));
        assert_eq!(
            (s.loops, s.pairing_required.count, s.upgrades.count),
            (0, 0, 1)
        );
    }

    #[test]
    fn approvals_without_errors_are_no_loop() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("openclaw.log");
        let now = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        std::fs::write(
            &f,
            line(&now, "device pairing approved device=d1 role=operator"),
        )
        .unwrap();
        let s = scan(&[f], SystemTime::now() - Duration::from_secs(1800));
        assert_eq!((s.approvals.count, s.loops), (1, 0));
    }

    #[test]
    fn times_with_offsets() {
        let a = parse_time("2026-11-25T13:16:50.023+00:00").unwrap();
        let b = parse_time("2026-11-25T13:16:50.023Z").unwrap();
        let c = parse_time("2026-11-25T14:16:50.023+01:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert!(parse_time("garbage").is_none());
    }
}
