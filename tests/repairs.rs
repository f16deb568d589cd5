//! `history`, `repair lock`, `backups` and `rollback` against fake OpenClaw installs.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::{assert_no_secret, json_out, Sandbox};

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

fn running(sb: &Sandbox) -> Option<String> {
    sb.startupz()
        .filter(|v| v["status"] == "started")
        .and_then(|v| v["version"].as_str().map(String::from))
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
    let safety = Path::new(doc["safety_backup"].as_str().unwrap());
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
    let sb = Sandbox::new();
    sb.install("2026.9.4");
    sb.config();
    sb.start_gateway();
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
    assert_eq!(doc["outcome"], "done");
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
    assert!(support::wait_for(Duration::from_secs(5), || running(&sb)
        .as_deref()
        == Some("2026.9.4")));
}
