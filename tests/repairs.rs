//! `history`, `repair lock`, `backups` and `rollback` against fake OpenClaw installs.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::{assert_no_secret, json_out, running, Sandbox};

fn run(sb: &Sandbox, args: &[&str]) -> (i32, Value) {
    let out = sb.clawkit().args(args).arg("--json").output().unwrap();
    assert_no_secret(&out);
    (out.status.code().unwrap(), json_out(&out))
}

fn updated(from: &str, to: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.install(from);
    sb.config();
    sb.start_gateway();
    let (code, doc) = run(&sb, &["update", "--to", to, "--yes"]);
    assert_eq!(code, 0, "{doc:#}");
    sb
}

#[test]
fn history_lists_and_shows_runs() {
    let sb = Sandbox::new();
    let (code, doc) = run(&sb, &["history"]);
    assert_eq!(code, 0);
    assert_eq!(doc["entries"].as_array().unwrap().len(), 0);
    let sb = updated("2026.9.4", "2026.9.5");
    let (_, doc) = run(&sb, &["history"]);
    let e = &doc["entries"][0];
    assert_eq!(e["outcome"], "updated");
    assert_eq!(e["from"], "2026.9.4");
    assert!(e["downtime_ms"].as_u64().unwrap() > 0);
    assert!(e["duration_ms"].as_u64().unwrap() >= e["downtime_ms"].as_u64().unwrap());
    let out = sb.clawkit().args(["history", "show"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("swap packages") && text.contains("health gate"),
        "{text}"
    );
    let bad = sb
        .clawkit()
        .args(["history", "show", "nope"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn repair_lock_removes_only_stale_locks() {
    let sb = Sandbox::new();
    sb.install("2026.9.5");
    sb.config();
    let dir = sb
        .state_dir()
        .join(format!("tmp/openclaw-{}", nix::unistd::getuid()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut c = std::process::Command::new("true").spawn().unwrap();
    let dead = c.id();
    c.wait().unwrap();
    let stale = dir.join("gateway.state.lock");
    std::fs::write(&stale, format!(r#"{{"pid":{dead},"port":{}}}"#, sb.port)).unwrap();
    let (code, doc) = run(&sb, &["repair", "lock", "--dry-run"]);
    assert_eq!(code, 0);
    assert_eq!(doc["removed"].as_array().unwrap().len(), 1);
    assert!(stale.exists(), "dry run removes nothing");
    let (_, doc) = run(&sb, &["repair", "lock"]);
    assert_eq!(doc["removed"].as_array().unwrap().len(), 1);
    assert!(!stale.exists());
    // A live gateway's locks are kept.
    sb.start_gateway();
    let (_, doc) = run(&sb, &["repair", "lock"]);
    assert_eq!(doc["removed"].as_array().unwrap().len(), 0);
    assert!(!doc["kept"].as_array().unwrap().is_empty());
    assert!(running(&sb).is_some());
}

#[test]
fn repair_lock_keeps_a_dead_owner_while_its_port_is_busy() {
    let sb = Sandbox::new();
    sb.install("2026.9.5");
    sb.config();
    let dir = sb
        .state_dir()
        .join(format!("tmp/openclaw-{}", nix::unistd::getuid()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("gateway.state.lock"),
        format!(r#"{{"pid":999999,"port":{}}}"#, sb.port),
    )
    .unwrap();
    let _busy = std::net::TcpListener::bind(("127.0.0.1", sb.port)).unwrap();
    let (_, doc) = run(&sb, &["repair", "lock"]);
    assert_eq!(doc["removed"].as_array().unwrap().len(), 0);
    assert!(doc["kept"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("in use"));
}

#[test]
fn backups_list_show_and_restore_with_modes() {
    let sb = updated("2026.9.4", "2026.9.5");
    let (_, doc) = run(&sb, &["backups", "list"]);
    let list = doc["backups"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    let id = list[0]["id"].as_str().unwrap().to_string();
    assert_eq!(list[0]["reason"], "update");
    let (_, doc) = run(&sb, &["backups", "show", &id[..12]]);
    assert!(doc["manifest"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["path"] == "openclaw.json"));

    // Break the config; restoring brings back the backed-up bytes and mode, gateway running.
    let cfg = sb.state_dir().join("openclaw.json");
    let backed_up =
        std::fs::read(Path::new(doc["dir"].as_str().unwrap()).join("files/openclaw.json")).unwrap();
    let mut v: Value = serde_json::from_slice(&backed_up).unwrap();
    v["meta"] = serde_json::json!({"lastTouchedVersion": "2026.9.5"}); // keep the 9.5 binary willing
    std::fs::write(&cfg, "{ broken").unwrap();
    let refused = sb
        .clawkit()
        .args(["backups", "restore", &id])
        .output()
        .unwrap();
    assert_eq!(
        refused.status.code(),
        Some(6),
        "no --yes without a terminal"
    );
    assert_eq!(std::fs::read(&cfg).unwrap(), b"{ broken");
    let (code, doc) = run(&sb, &["backups", "restore", &id, "--yes"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(std::fs::read(&cfg).unwrap(), backed_up);
    assert!(running(&sb).is_some());
    // The restore made a safety backup of the broken state first.
    let safety = Path::new(doc["backup"].as_str().unwrap());
    assert_eq!(
        std::fs::read(safety.join("files/openclaw.json")).unwrap(),
        b"{ broken"
    );
}

#[test]
fn damaged_backup_is_refused() {
    let sb = updated("2026.9.4", "2026.9.5");
    let (_, doc) = run(&sb, &["backups", "list"]);
    let dir = Path::new(doc["backups"][0]["dir"].as_str().unwrap()).to_path_buf();
    let id = doc["backups"][0]["id"].as_str().unwrap().to_string();
    std::fs::write(dir.join("files/openclaw.json"), "tampered").unwrap();
    let (code, doc) = run(&sb, &["backups", "restore", &id, "--yes"]);
    assert_eq!(code, 6, "{doc:#}");
    assert!(doc["error"].as_str().unwrap().contains("checksum"));
}

#[test]
fn json_era_backup_is_not_restored_onto_sqlite_era() {
    let sb = Sandbox::new();
    sb.install("2026.9.5");
    sb.config();
    let s = sb.state_dir();
    std::fs::create_dir_all(s.join("devices")).unwrap();
    std::fs::write(s.join("devices/paired.json"), "{}").unwrap();
    let layout_env = clawkit::env::Env::from_pairs([("HOME", sb.home.as_os_str())]);
    let layout =
        clawkit::layout::resolve(&layout_env, &clawkit::layout::Profile::Default, None).unwrap();
    clawkit::backup::create(&layout, "20260101T000000Z-json", "test", None, None).unwrap();
    std::fs::remove_file(s.join("devices/paired.json")).unwrap();
    std::fs::create_dir_all(s.join("state")).unwrap();
    std::fs::write(s.join("state/openclaw.sqlite"), "db").unwrap();
    let (code, doc) = run(&sb, &["backups", "restore", "20260101", "--yes"]);
    assert_eq!(code, 6, "{doc:#}");
    assert!(doc["error"].as_str().unwrap().contains("JSON-era"));
}

#[test]
fn rollback_returns_to_the_previous_version_and_state() {
    let sb = support::unmanaged("2026.9.4");
    let config_before = std::fs::read(sb.state_dir().join("openclaw.json")).unwrap();
    let (code, _) = run(&sb, &["update", "--to", "2026.9.5", "--yes"]);
    assert_eq!(code, 0);
    assert_ne!(
        std::fs::read(sb.state_dir().join("openclaw.json")).unwrap(),
        config_before,
        "the migration rewrote it"
    );
    let (code, doc) = run(&sb, &["rollback", "--dry-run"]);
    assert_eq!(code, 0);
    assert_eq!(doc["to"], "2026.9.4");
    let (code, doc) = run(&sb, &["rollback", "--yes"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["outcome"], "rolled-back");
    assert_eq!(running(&sb).as_deref(), Some("2026.9.4"));
    assert_eq!(
        std::fs::read(sb.state_dir().join("openclaw.json")).unwrap(),
        config_before
    );
    // Nothing left to roll back to 9.4 from.
    let (code, doc) = run(&sb, &["rollback", "--yes"]);
    assert_eq!(code, 6, "{doc:#}");
    let (_, doc) = run(&sb, &["history"]);
    assert_eq!(doc["entries"][0]["command"], "rollback");
}

#[test]
fn rollback_reinstalls_when_the_kept_package_is_gone() {
    let sb = updated("2026.9.4", "2026.9.5");
    std::fs::remove_dir_all(sb.prefix.join("lib/clawkit/previous")).unwrap();
    let (code, doc) = run(&sb, &["rollback", "--yes"]);
    assert_eq!(code, 0, "{doc:#}");
    assert!(doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "reinstall 2026.9.4"));
    assert!(support::wait_for(Duration::from_secs(60), || running(&sb)
        .as_deref()
        == Some("2026.9.4")));
}

fn fake_cli(sb: &Sandbox, args: &[&str]) -> std::process::Output {
    std::process::Command::new("node")
        .arg(sb.prefix.join("bin/openclaw"))
        .args(args)
        .env_clear()
        .envs(sb.env())
        .output()
        .unwrap()
}

fn doctor_status(sb: &Sandbox, id: &str) -> String {
    let (_, doc) = run(sb, &["doctor"]);
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A JSON-era install whose CLI cached token no longer matches its paired entry: the loop.
fn json_era_mismatch() -> Sandbox {
    let sb = support::unmanaged("2026.7.1");
    assert!(
        fake_cli(&sb, &["gateway", "call", "status", "--json"])
            .status
            .success(),
        "first call self-pairs"
    );
    let auth = sb.state_dir().join("identity/device-auth.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&auth).unwrap()).unwrap();
    v["tokens"]["operator"]["token"] = "tok-stale-from-another-version".into();
    std::fs::write(&auth, v.to_string()).unwrap();
    let call = fake_cli(&sb, &["gateway", "call", "status", "--json"]);
    assert!(!call.status.success());
    assert!(String::from_utf8_lossy(&call.stderr).contains("device token mismatch"));
    sb
}

#[test]
fn repair_pairing_fixes_a_json_era_token_mismatch() {
    let sb = json_era_mismatch();
    assert_eq!(doctor_status(&sb, "pairing-state"), "fail");
    let paired_before = std::fs::read(sb.state_dir().join("devices/paired.json")).unwrap();
    let (code, doc) = run(&sb, &["repair", "pairing", "--yes"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["outcome"], "repaired");
    let names: Vec<&str> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for want in [
        "clear the pairing state",
        "remove stale locks",
        "verify 3 requests in a row",
    ] {
        assert!(
            names.iter().any(|n| n.starts_with(want)),
            "{want} in {names:?}"
        );
    }
    assert!(fake_cli(&sb, &["gateway", "call", "status", "--json"])
        .status
        .success());
    assert_eq!(doctor_status(&sb, "pairing-state"), "ok");
    // The old state is in the backup, byte for byte and 0600.
    let copy = Path::new(doc["backup"].as_str().unwrap()).join("files/devices/paired.json");
    assert_eq!(std::fs::read(&copy).unwrap(), paired_before);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // identity/device.json survives, so the CLI keeps its identity.
    assert!(sb.state_dir().join("identity/device.json").exists());
}

#[test]
fn repair_pairing_in_the_sqlite_era_goes_through_openclaw() {
    let sb = support::unmanaged("2026.9.5");
    assert!(fake_cli(&sb, &["gateway", "call", "status", "--json"])
        .status
        .success());
    let auth = sb.state_dir().join("identity/device-auth.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&auth).unwrap()).unwrap();
    v["tokens"]["operator"]["token"] = "tok-stale".into();
    std::fs::write(&auth, v.to_string()).unwrap();
    let (code, doc) = run(&sb, &["repair", "pairing", "--yes"]);
    assert_eq!(code, 0, "{doc:#}");
    assert!(doc["steps"].as_array().unwrap().iter().any(|s| s["name"]
        .as_str()
        .unwrap()
        .starts_with("clear paired devices (openclaw devices clear")));
    assert!(fake_cli(&sb, &["gateway", "call", "status", "--json"])
        .status
        .success());
}

#[test]
fn repair_pairing_refuses_under_skew_and_without_yes() {
    let sb = support::unmanaged("2026.9.4");
    let out = sb.clawkit().args(["repair", "pairing"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6), "no --yes without a terminal");
    std::thread::sleep(Duration::from_millis(1100));
    sb.npm_replace("2026.9.5");
    let (code, doc) = run(&sb, &["repair", "pairing", "--yes"]);
    assert_eq!(code, 6, "{doc:#}");
    assert!(doc["fix"].as_str().unwrap().contains("clawkit update"));
}

#[test]
fn repair_pairing_restores_the_state_when_the_gateway_does_not_come_back() {
    let sb = Sandbox::new();
    sb.install("2026.7.1");
    sb.config();
    let marker = sb.dir.path().join("crash-next-start");
    sb.start_gateway_with(
        &[("FAKE_OPENCLAW_CRASH_IF", marker.to_str().unwrap())],
        sb.port,
    );
    assert!(fake_cli(&sb, &["gateway", "call", "status", "--json"])
        .status
        .success());
    let paired = std::fs::read(sb.state_dir().join("devices/paired.json")).unwrap();
    std::fs::write(&marker, "").unwrap();
    let (code, doc) = run(&sb, &["repair", "pairing", "--yes"]);
    assert_eq!(code, 1, "{doc:#}");
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("restored the state from"),
        "{doc:#}"
    );
    assert!(doc["backup"].as_str().is_some());
    assert_eq!(
        std::fs::read(sb.state_dir().join("devices/paired.json")).unwrap(),
        paired
    );
}

#[test]
fn repair_pairing_with_an_unknown_request_id_names_the_pending_ones() {
    let sb = json_era_mismatch();
    let (code, doc) = run(
        &sb,
        &["repair", "pairing", "--yes", "--approve", "no-such-request"],
    );
    assert_eq!(code, 1, "{doc:#}");
    assert!(doc["error"]
        .as_str()
        .unwrap()
        .contains("no matching pending request"));
    assert!(
        running(&sb).is_some(),
        "the gateway runs after the resync even so"
    );
}

#[test]
fn reset_devices_needs_yes_backs_up_and_removes_all_device_state() {
    let sb = json_era_mismatch();
    let out = sb.clawkit().args(["reset", "devices"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&out.stderr).contains("forgets 1 paired device"));
    let (code, doc) = run(&sb, &["reset", "devices", "--dry-run"]);
    assert_eq!((code, doc["paired"].as_u64()), (0, Some(1)));
    assert!(sb.state_dir().join("devices/paired.json").exists());
    let (code, doc) = run(&sb, &["reset", "devices", "--yes"]);
    assert_eq!(code, 0, "{doc:#}");
    assert!(!sb.state_dir().join("devices").exists());
    let backup = Path::new(doc["backup"].as_str().unwrap());
    assert!(backup.join("files/devices/paired.json").exists());
    assert!(backup.join("files/identity/device-auth.json").exists());
    assert!(running(&sb).is_some());
    // The CLI pairs again from scratch.
    assert!(fake_cli(&sb, &["gateway", "call", "status", "--json"])
        .status
        .success());
}
