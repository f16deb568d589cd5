//! `clawkit doctor` against fixtures: each check's ok/warn/fail and the loop diagnosis.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use support::{assert_no_secret, json_out, Sandbox};

fn doctor(sb: &Sandbox, args: &[&str]) -> (i32, Value) {
    let out = sb
        .clawkit()
        .args(["doctor", "--json"])
        .args(args)
        .output()
        .unwrap();
    assert_no_secret(&out);
    let doc = json_out(&out);
    assert_eq!(doc["schema"], 2);
    assert_eq!(doc["command"], "doctor");
    (out.status.code().unwrap(), doc)
}

fn check<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {doc:#}"))
}

fn status(doc: &Value, id: &str) -> String {
    check(doc, id)["status"].as_str().unwrap().to_string()
}

fn log_line(msg: &str, ago: Duration) -> String {
    let t = humantime::format_rfc3339_millis(SystemTime::now() - ago).to_string();
    json!({"0": "{\"subsystem\":\"gateway\"}", "1": msg, "time": t, "message": msg}).to_string()
}

fn write_log(sb: &Sandbox, lines: &[String]) {
    let dir = sb.state_dir().join("logs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("openclaw.log"), lines.join("\n") + "\n").unwrap();
}

#[test]
fn healthy_install_is_all_ok() {
    let sb = support::unmanaged("2026.9.5");
    let (code, doc) = doctor(&sb, &[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["verdict"], "healthy");
    for c in doc["checks"].as_array().unwrap() {
        assert!(matches!(c["status"].as_str(), Some("ok" | "skip")), "{c:#}");
    }
    assert_eq!(doc["diagnosis"]["verdict"], "no-pairing-problem");
}

#[test]
fn skew_is_diagnosed_as_the_version_skew_loop() {
    let sb = support::unmanaged("2026.9.4");
    std::thread::sleep(Duration::from_millis(1100));
    sb.npm_replace("2026.9.5");
    // Then the user approves a device and it is dropped again.
    std::thread::sleep(Duration::from_millis(1100));
    write_log(
        &sb,
        &[
            log_line(
                "device pairing approved device=dev42 role=operator",
                Duration::from_millis(600),
            ),
            log_line(
                "gateway closed (1008): pairing required",
                Duration::from_millis(300),
            ),
        ],
    );
    let (code, doc) = doctor(&sb, &[]);
    assert_eq!(code, 3);
    assert_eq!(status(&doc, "version-skew"), "fail");
    assert_eq!(check(&doc, "version-skew")["fix"], "clawkit update");
    assert_eq!(status(&doc, "install-changed"), "fail");
    assert_eq!(status(&doc, "pairing-loop"), "fail");
    assert_eq!(doc["verdict"], "version-skew-loop");
    let conds = doc["diagnosis"]["conditions"].as_array().unwrap();
    assert!(conds.iter().all(|c| c["state"] == "met"), "{conds:#?}");
    assert_eq!(doc["next"], "clawkit update");
}

#[test]
fn logs_with_a_loop_but_matching_versions_are_another_problem() {
    let sb = support::unmanaged("2026.9.5");
    write_log(
        &sb,
        &[
            log_line(
                "device pairing approved device=dev7 role=operator",
                Duration::from_secs(60),
            ),
            log_line(
                "unauthorized conn=3 device=dev7 reason=device token mismatch",
                Duration::from_secs(50),
            ),
        ],
    );
    let (code, doc) = doctor(&sb, &[]);
    assert_eq!(code, 3);
    assert_eq!(status(&doc, "pairing-loop"), "fail");
    assert_eq!(
        check(&doc, "pairing-loop")["evidence"]["looping_devices"],
        json!(["dev7"])
    );
    assert_eq!(
        check(&doc, "pairing-loop")["evidence"]["approvals"]["count"],
        1,
        "each log read once"
    );
    assert_eq!(check(&doc, "pairing-loop")["evidence"]["loops"], 1);
    assert_eq!(doc["diagnosis"]["verdict"], "other-pairing-problem");
}

#[test]
fn logs_without_a_loop_are_ok() {
    let sb = support::unmanaged("2026.9.5");
    write_log(
        &sb,
        &[
            log_line(
                "device pairing approved device=dev1 role=operator",
                Duration::from_secs(60),
            ),
            log_line(
                "gateway closed (1008): pairing required",
                Duration::from_secs(7200),
            ),
        ],
    );
    let (_, doc) = doctor(&sb, &[]);
    assert_eq!(status(&doc, "pairing-loop"), "ok", "{doc:#}");
    let (_, doc) = doctor(&sb, &["--since", "3h"]);
    assert_eq!(
        status(&doc, "pairing-loop"),
        "warn",
        "the old error is inside a 3 h window"
    );
}

fn json_era(sb: &Sandbox) {
    sb.install("2026.7.1");
    sb.config();
    let s = sb.state_dir();
    for d in ["devices", "identity"] {
        std::fs::create_dir_all(s.join(d)).unwrap();
    }
    std::fs::write(
        s.join("identity/device.json"),
        r#"{"version":1,"deviceId":"cli-device-1"}"#,
    )
    .unwrap();
    std::fs::write(
        s.join("devices/paired.json"),
        r#"{"cli-device-1":{"deviceId":"cli-device-1","tokens":{"operator":{"token":"SERVER-TOKEN-aaaa"}}}}"#,
    )
    .unwrap();
    std::fs::write(
        s.join("identity/device-auth.json"),
        r#"{"version":1,"deviceId":"cli-device-1","tokens":{"operator":{"token":"CACHED-TOKEN-bbbb"}}}"#,
    )
    .unwrap();
    for f in [
        "identity/device.json",
        "devices/paired.json",
        "identity/device-auth.json",
    ] {
        std::fs::set_permissions(s.join(f), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

#[test]
fn json_era_token_mismatch_is_found_without_printing_tokens() {
    let sb = Sandbox::new();
    json_era(&sb);
    let out = sb.clawkit().args(["doctor", "--json"]).output().unwrap();
    for t in ["SERVER-TOKEN-aaaa", "CACHED-TOKEN-bbbb"] {
        assert!(!String::from_utf8_lossy(&out.stdout).contains(t));
        assert!(!String::from_utf8_lossy(&out.stderr).contains(t));
    }
    let doc = json_out(&out);
    assert_eq!(status(&doc, "pairing-state"), "fail", "{doc:#}");
    let msg = check(&doc, "pairing-state")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.starts_with("JSON era") && msg.contains("operator"),
        "{msg}"
    );
    // Matching tokens: ok.
    std::fs::write(
        sb.state_dir().join("identity/device-auth.json"),
        r#"{"version":1,"deviceId":"cli-device-1","tokens":{"operator":{"token":"SERVER-TOKEN-aaaa"}}}"#,
    )
    .unwrap();
    let (_, doc) = doctor(&sb, &[]);
    assert_eq!(status(&doc, "pairing-state"), "ok", "{doc:#}");
}

#[test]
fn json_era_legacy_array_and_loose_modes() {
    let sb = Sandbox::new();
    json_era(&sb);
    let paired = sb.state_dir().join("devices/paired.json");
    std::fs::write(&paired, r#"[{"deviceId":"x"}]"#).unwrap();
    let (code, doc) = doctor(&sb, &[]);
    assert_eq!(code, 3);
    assert_eq!(status(&doc, "pairing-state"), "fail");
    assert!(check(&doc, "pairing-state")["message"]
        .as_str()
        .unwrap()
        .contains("legacy array"));
    // A loose mode is a warning on its own.
    json_era(&sb);
    std::fs::write(
        sb.state_dir().join("identity/device-auth.json"),
        r#"{"version":1,"deviceId":"cli-device-1","tokens":{"operator":{"token":"SERVER-TOKEN-aaaa"}}}"#,
    )
    .unwrap();
    std::fs::set_permissions(&paired, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (_, doc) = doctor(&sb, &[]);
    assert_eq!(status(&doc, "pairing-state"), "warn", "{doc:#}");
    assert!(check(&doc, "pairing-state")["fix"]
        .as_str()
        .unwrap()
        .starts_with("chmod 600"));
}

#[test]
fn sqlite_era_leftover_json_blocks() {
    let sb = Sandbox::new();
    sb.install("2026.9.5");
    sb.config();
    let s = sb.state_dir();
    std::fs::create_dir_all(s.join("identity")).unwrap();
    std::fs::write(s.join("identity/device.json"), "{}").unwrap();
    let (_, doc) = doctor(&sb, &[]);
    assert_eq!(status(&doc, "pairing-state"), "fail");
    assert!(check(&doc, "pairing-state")["fix"]
        .as_str()
        .unwrap()
        .contains("openclaw doctor --fix"));
}

#[test]
fn stale_lock_is_a_warning_with_the_repair() {
    let sb = Sandbox::new();
    sb.install("2026.9.5");
    sb.config();
    let mut c = std::process::Command::new("true").spawn().unwrap();
    let dead = c.id();
    c.wait().unwrap();
    let dir = sb
        .state_dir()
        .join(format!("tmp/openclaw-{}", nix::unistd::getuid()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("gateway.state.lock"),
        format!(r#"{{"pid":{dead},"port":{}}}"#, sb.port),
    )
    .unwrap();
    let (code, doc) = doctor(&sb, &[]);
    assert_eq!(code, 3);
    assert_eq!(status(&doc, "lock"), "warn");
    assert_eq!(check(&doc, "lock")["fix"], "clawkit repair lock");
}

#[test]
fn config_newer_than_binary_fails() {
    let sb = Sandbox::new();
    sb.install("2026.9.4");
    sb.config();
    let p = sb.state_dir().join("openclaw.json");
    let mut cfg: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    cfg["meta"] = json!({"lastTouchedVersion": "2026.9.5"});
    std::fs::write(&p, cfg.to_string()).unwrap();
    let (_, doc) = doctor(&sb, &[]);
    assert_eq!(status(&doc, "config"), "fail");
    assert!(check(&doc, "config")["fix"]
        .as_str()
        .unwrap()
        .contains("clawkit update --to 2026.9.5"));
}

#[test]
fn split_brain_service_unit_fails_install() {
    let sb = Sandbox::new().with_tool("systemctl");
    sb.install("2026.9.5");
    sb.config();
    let other = Sandbox::new();
    other.install("2026.9.4");
    let unit = sb.systemd_unit("2026.9.4");
    let text = std::fs::read_to_string(&unit)
        .unwrap()
        .replace(sb.prefix.to_str().unwrap(), other.prefix.to_str().unwrap());
    std::fs::write(&unit, text).unwrap();
    let (code, doc) = doctor(&sb, &[]);
    assert_eq!(code, 3);
    assert_eq!(status(&doc, "install"), "fail");
    assert!(check(&doc, "install")["message"]
        .as_str()
        .unwrap()
        .contains("the systemd service runs"));
}

#[test]
fn missing_service_entry_fails_service() {
    let sb = Sandbox::new().with_tool("systemctl");
    sb.install("2026.9.5");
    sb.config();
    let unit = sb.systemd_unit("2026.9.5");
    let text = std::fs::read_to_string(&unit)
        .unwrap()
        .replace("openclaw.mjs", "gone/index.js");
    std::fs::write(&unit, text).unwrap();
    let (_, doc) = doctor(&sb, &[]);
    assert_eq!(status(&doc, "service"), "fail", "{doc:#}");
}

#[test]
fn npm_leftovers_warn() {
    let sb = Sandbox::new();
    sb.install("2026.9.5");
    sb.config();
    std::fs::create_dir_all(sb.prefix.join("lib/node_modules/.openclaw-AbC123")).unwrap();
    let (_, doc) = doctor(&sb, &[]);
    assert_eq!(status(&doc, "install"), "warn");
    assert!(check(&doc, "install")["message"]
        .as_str()
        .unwrap()
        .contains("ENOTEMPTY"));
}

#[test]
fn deep_folds_in_openclaws_doctor() {
    let sb = support::unmanaged("2026.9.5");
    let (code, doc) = doctor(&sb, &["--deep"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(status(&doc, "openclaw-doctor"), "ok");
    assert_eq!(
        check(&doc, "openclaw-doctor")["evidence"]["source"],
        "openclaw doctor --lint"
    );
}

#[test]
fn human_output_has_checklist_diagnosis_and_next_step() {
    let sb = Sandbox::new();
    sb.install("2026.9.5");
    sb.config();
    let out = sb
        .clawkit()
        .env("LANG", "C")
        .arg("doctor")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8(out.stderr).unwrap();
    assert!(
        text.contains("!! gateway"),
        "ASCII marks without UTF-8: {text}"
    );
    assert!(text.contains("diagnosis: pairing loop after an update?"));
    assert!(text.contains("Next step:"));
    let bad = sb
        .clawkit()
        .args(["doctor", "--since", "yesterday-ish"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
