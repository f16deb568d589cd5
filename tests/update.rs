//! `clawkit update` end to end against fake OpenClaw releases from a local registry (real npm).

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::{cli_version, json_out, running, state_hash, unmanaged, update, wait_for, Sandbox};

fn step_status<'a>(doc: &'a Value, name: &str) -> Option<&'a str> {
    doc["steps"]
        .as_array()?
        .iter()
        .find(|s| s["name"].as_str().is_some_and(|n| n.starts_with(name)))
        .and_then(|s| s["status"].as_str())
}

#[test]
fn happy_path_unmanaged() {
    let sb = unmanaged("2026.9.4");
    let config_before = std::fs::read(sb.state_dir().join("openclaw.json")).unwrap();
    let (code, doc, _) = update(&sb, &["--to", "2026.9.5"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["outcome"], "updated");
    assert_eq!(doc["from"], "2026.9.4");
    assert_eq!(doc["to"], "2026.9.5");
    assert_eq!(doc["cli_version"], "2026.9.5");
    assert_eq!(doc["gateway_version"], "2026.9.5");
    assert_eq!(doc["supervisor"], "unmanaged");
    assert_eq!(running(&sb).as_deref(), Some("2026.9.5"));
    assert_eq!(cli_version(&sb), "2026.9.5");
    // The migration ran (schema 17 -> 18) with the new binary and the gateway stopped.
    assert_eq!(step_status(&doc, "migrate"), Some("ok"));
    let cfg: Value =
        serde_json::from_slice(&std::fs::read(sb.state_dir().join("openclaw.json")).unwrap())
            .unwrap();
    assert_eq!(cfg["meta"]["lastTouchedVersion"], "2026.9.5");
    let before: Value = serde_json::from_slice(&config_before).unwrap();
    assert_eq!(
        cfg["gateway"]["auth"]["token"],
        before["gateway"]["auth"]["token"]
    );
    // Backup with manifest, journal entry, previous package kept, staging gone.
    let backup = Path::new(doc["backup"].as_str().unwrap());
    assert!(backup.join("manifest.json").exists());
    let journal = std::fs::read_to_string(doc["journal"].as_str().unwrap()).unwrap();
    let last: Value = serde_json::from_str(journal.lines().last().unwrap()).unwrap();
    assert_eq!(last["outcome"], "updated");
    assert!(last["downtime_ms"].as_u64().unwrap() > 0);
    assert_eq!(
        last["steps"].as_array().unwrap().len(),
        doc["steps"].as_array().unwrap().len()
    );
    let work = sb.prefix.join("lib/clawkit");
    assert_eq!(std::fs::read_dir(work.join("previous")).unwrap().count(), 1);
    assert!(!std::fs::read_dir(&work)
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("staging")));
    // Outage: the npm download (staging) happened before it, while the old gateway served.
    let steps = doc["steps"].as_array().unwrap();
    assert!(
        steps[0]["name"].as_str().unwrap().starts_with("stage"),
        "{doc:#}"
    );
    let stage_ms = steps[0]["duration_ms"].as_u64().unwrap();
    let downtime = doc["downtime_ms"].as_u64().unwrap();
    let total = doc["duration_ms"].as_u64().unwrap();
    assert!(
        stage_ms + downtime <= total,
        "staging is outside the outage: {doc:#}"
    );
    let outage_steps: u64 = steps
        .iter()
        .skip_while(|s| !s["name"].as_str().unwrap().starts_with("stop"))
        .take_while(|s| !s["name"].as_str().unwrap().starts_with("verify"))
        .map(|s| s["duration_ms"].as_u64().unwrap())
        .sum();
    assert!(
        downtime <= outage_steps + 1000,
        "outage {downtime} ms vs its steps {outage_steps} ms"
    );
}

#[test]
fn happy_path_systemd() {
    let sb = Sandbox::new().with_tool("systemctl");
    sb.install("2026.9.4");
    sb.config();
    sb.systemd_unit("2026.9.4");
    sb.tool("systemctl", &["--user", "start", "openclaw-gateway"]);
    assert!(wait_for(Duration::from_secs(60), || running(&sb).is_some()));
    let (code, doc, _) = update(&sb, &["--to", "2026.9.5"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["supervisor"], "systemd");
    assert_eq!(running(&sb).as_deref(), Some("2026.9.5"));
    let calls = std::fs::read_to_string(sb.home.join(".fake-systemd/calls.log")).unwrap();
    assert!(
        calls.contains("--user stop openclaw-gateway.service"),
        "{calls}"
    );
    assert!(
        calls.contains("--user start openclaw-gateway.service"),
        "{calls}"
    );
}

/// A release that crashes at start under systemd (docs/systemd.md, bugs 1-3): the health gate
/// reads the unit's failure at once instead of waiting out its timeout, the rollback's start is
/// preceded by `reset-failed` (a crash loop's start limit would refuse it), and the unit the new
/// release's migration rewrote is put back as it was.
#[test]
fn systemd_crash_at_start_fails_fast_and_the_rollback_puts_the_unit_back() {
    let sb = Sandbox::new().with_tool("systemctl");
    sb.install("2026.9.4");
    sb.config();
    let unit = sb.systemd_unit("2026.9.4");
    let unit_before = std::fs::read(&unit).unwrap();
    sb.tool("systemctl", &["--user", "start", "openclaw-gateway"]);
    assert!(wait_for(Duration::from_secs(60), || running(&sb).is_some()));
    let (code, doc, _) = update(&sb, &["--to", "2026.10.1", "--no-rehearsal"]);
    assert_eq!(code, 4, "{doc:#}");
    assert_eq!(running(&sb).as_deref(), Some("2026.9.4"));
    let gate = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "health gate")
        .unwrap();
    assert_eq!(gate["status"], "failed", "{doc:#}");
    assert!(
        gate["detail"]
            .as_str()
            .unwrap()
            .contains("openclaw-gateway.service crashed during startup"),
        "{gate:#}"
    );
    assert_eq!(std::fs::read(&unit).unwrap(), unit_before, "unit put back");
    assert_eq!(
        step_status(&doc, "undo: restore the service definition"),
        Some("ok"),
        "{doc:#}"
    );
    // `daemon-reload` takes no unit (the real systemctl refuses one, as the fake does now).
    let restore = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["name"]
                .as_str()
                .unwrap()
                .starts_with("undo: restore the service definition")
        })
        .unwrap();
    assert!(
        !restore["detail"].as_str().unwrap().contains("failed"),
        "{restore:#}"
    );
    let calls = std::fs::read_to_string(sb.home.join(".fake-systemd/calls.log")).unwrap();
    let last_start = calls
        .rfind("--user start openclaw-gateway.service")
        .unwrap();
    let reset = calls[..last_start].rfind("--user reset-failed openclaw-gateway.service");
    assert!(reset.is_some(), "{calls}");
    assert!(calls[..last_start].contains("daemon-reload"), "{calls}");
}

#[test]
fn happy_path_launchd() {
    let sb = Sandbox::new().with_tool("launchctl");
    sb.install("2026.9.4");
    sb.config();
    let plist = sb.launchd_plist("2026.9.4");
    let uid = nix::unistd::getuid();
    sb.tool(
        "launchctl",
        &["bootstrap", &format!("gui/{uid}"), plist.to_str().unwrap()],
    );
    assert!(wait_for(Duration::from_secs(60), || running(&sb).is_some()));
    let (code, doc, _) = update(&sb, &["--to", "2026.9.5"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["supervisor"], "launchd");
    assert_eq!(running(&sb).as_deref(), Some("2026.9.5"));
    let calls = std::fs::read_to_string(sb.home.join(".fake-launchd/calls.log")).unwrap();
    assert!(calls.contains("bootout"), "{calls}");
}

#[test]
fn to_latest_resolves_the_tag() {
    let sb = unmanaged("2026.9.5");
    let (code, doc, _) = update(&sb, &[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["to"], support::LATEST);
    assert_eq!(running(&sb).as_deref(), Some(support::LATEST));
    // 9.5 -> 9.6 share a schema: no migration in the outage.
    assert_eq!(step_status(&doc, "migrate"), Some("skipped"));
}

#[test]
fn already_current_touches_nothing() {
    let sb = unmanaged("2026.9.5");
    let before = Sandbox::tree_hash(sb.dir.path());
    let pid = sb.startupz().unwrap();
    let (code, doc, _) = update(&sb, &["--to", "2026.9.5"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["outcome"], "already-current");
    assert_eq!(sb.startupz().unwrap()["version"], pid["version"]);
    let mut after = Sandbox::tree_hash(sb.dir.path());
    // The lock file is clawkit's only trace.
    after.retain(|(p, _, _)| !p.ends_with("clawkit/lock") && !p.ends_with("/clawkit"));
    let mut before = before;
    before.retain(|(p, _, _)| !p.ends_with("/clawkit"));
    assert_eq!(before, after);
}

#[test]
fn dry_run_changes_nothing() {
    let sb = unmanaged("2026.9.4");
    let before = Sandbox::tree_hash(sb.dir.path());
    let out = sb
        .clawkit()
        .args(["update", "--to", "2026.9.5", "--dry-run", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc = json_out(&out);
    assert_eq!(doc["outcome"], "planned");
    let steps: Vec<String> = doc["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["command"].as_str().unwrap().to_string())
        .collect();
    assert!(
        steps[0].contains("npm install --global --prefix"),
        "{steps:?}"
    );
    assert!(steps
        .iter()
        .any(|s| s.contains("doctor --fix --non-interactive")));
    assert_eq!(Sandbox::tree_hash(sb.dir.path()), before);
    assert_eq!(running(&sb).as_deref(), Some("2026.9.4"));
}

#[test]
fn unknown_version_is_refused_and_gateway_untouched() {
    let sb = unmanaged("2026.9.4");
    let before = sb.startupz().unwrap();
    let (code, doc, _) = update(&sb, &["--to", "2026.99.99"]);
    assert_eq!(code, 6, "{doc:#}");
    assert_eq!(doc["outcome"], "refused");
    assert!(
        doc["error"].as_str().unwrap().contains("does not exist"),
        "{doc:#}"
    );
    let now = sb.startupz().unwrap();
    assert_eq!(now["version"], "2026.9.4");
    assert!(
        now["uptimeMs"].as_u64() > before["uptimeMs"].as_u64(),
        "same process kept running"
    );
}

#[test]
fn engines_mismatch_is_refused_before_download() {
    let sb = unmanaged("2026.9.4");
    let (code, doc, _) = update(&sb, &["--to", "2026.11.1"]);
    assert_eq!(code, 6, "{doc:#}");
    assert!(
        doc["error"].as_str().unwrap().contains("needs Node >=99"),
        "{doc:#}"
    );
    assert!(staging_dirs(&sb).is_empty(), "nothing was staged");
    assert_eq!(running(&sb).as_deref(), Some("2026.9.4"));
}

/// `lib/clawkit/staging-*` directories (the install's lock lives beside them).
fn staging_dirs(sb: &Sandbox) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(sb.prefix.join("lib/clawkit"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("staging-"))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn npm_failure_while_staging_never_stops_the_gateway() {
    let sb = unmanaged("2026.9.4");
    let before = sb.startupz().unwrap();
    let (code, doc, _) = update(&sb, &["--to", "2026.10.7"]);
    assert_eq!(code, 6, "{doc:#}");
    assert_eq!(step_status(&doc, "stage"), Some("failed"));
    assert!(doc["error"]
        .as_str()
        .unwrap()
        .contains("the gateway was not touched"));
    assert!(!doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"].as_str().unwrap().starts_with("stop")));
    let now = sb.startupz().unwrap();
    assert!(now["uptimeMs"].as_u64() > before["uptimeMs"].as_u64());
    assert!(staging_dirs(&sb).is_empty(), "staging cleaned up");
}

fn assert_rolled_back(
    sb: &Sandbox,
    to: &str,
    extra: &[&str],
    state_before: &[(String, u32, String)],
) -> Value {
    // The rehearsal would refuse these releases before the stop (tests/rehearsal.rs); here the
    // real start is what reveals them, so the rollback path runs.
    let mut args = vec!["--to", to, "--no-rehearsal"];
    args.extend_from_slice(extra);
    let (code, doc, _) = update(sb, &args);
    assert_eq!(code, 4, "{doc:#}");
    assert_eq!(doc["outcome"], "rolled-back");
    assert_eq!(running(sb).as_deref(), Some("2026.9.4"));
    assert_eq!(cli_version(sb), "2026.9.4");
    assert_eq!(
        state_hash(&sb.state_dir()),
        state_before,
        "state restored byte for byte"
    );
    let journal = std::fs::read_to_string(doc["journal"].as_str().unwrap()).unwrap();
    let last: Value = serde_json::from_str(journal.lines().last().unwrap()).unwrap();
    assert_eq!(last["outcome"], "rolled-back");
    doc
}

#[test]
fn crash_at_start_rolls_back() {
    let sb = unmanaged("2026.9.4");
    let before = state_hash(&sb.state_dir());
    let doc = assert_rolled_back(&sb, "2026.10.1", &[], &before);
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("exited during startup"),
        "{doc:#}"
    );
}

#[test]
fn never_healthy_rolls_back_after_deadline() {
    let sb = unmanaged("2026.9.4");
    let before = state_hash(&sb.state_dir());
    let doc = assert_rolled_back(&sb, "2026.10.2", &["--timeout", "3"], &before);
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("did not become healthy within 3s"),
        "{doc:#}"
    );
}

#[test]
fn version_mismatch_after_start_rolls_back() {
    let sb = unmanaged("2026.9.4");
    let before = state_hash(&sb.state_dir());
    let doc = assert_rolled_back(&sb, "2026.10.3", &[], &before);
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("reports 2026.10.2, expected 2026.10.3"),
        "{doc:#}"
    );
}

#[test]
fn migration_failure_rolls_back() {
    let sb = unmanaged("2026.9.4");
    // JSON-era pairing files with token modes: they must come back byte- and mode-identical.
    let devices = sb.state_dir().join("devices");
    std::fs::create_dir_all(&devices).unwrap();
    std::fs::write(
        devices.join("paired.json"),
        r#"{"dev1":{"tokens":{"operator":{"token":"x"}}}}"#,
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        devices.join("paired.json"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let before = state_hash(&sb.state_dir());
    let doc = assert_rolled_back(&sb, "2026.10.4", &[], &before);
    assert_eq!(step_status(&doc, "migrate"), Some("failed"));
    let mode = std::fs::metadata(devices.join("paired.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn staged_package_with_wrong_version_is_refused() {
    let sb = unmanaged("2026.9.4");
    let (code, doc, _) = update(&sb, &["--to", "2026.10.5"]);
    assert_eq!(code, 6, "{doc:#}");
    assert!(
        doc["error"].as_str().unwrap().contains("2026.10.6"),
        "{doc:#}"
    );
    assert_eq!(running(&sb).as_deref(), Some("2026.9.4"));
}

#[test]
fn lock_held_exits_5_and_changes_nothing() {
    let sb = unmanaged("2026.9.4");
    let f = support::hold_lock(&sb.state_dir().join("clawkit"));
    let (code, doc, _) = update(&sb, &["--to", "2026.9.5"]);
    assert_eq!(code, 5, "{doc:#}");
    assert_eq!(doc["outcome"], "locked");
    assert_eq!(running(&sb).as_deref(), Some("2026.9.4"));
    drop(f);
}

#[test]
fn downgrade_needs_a_flag() {
    let sb = unmanaged("2026.9.5");
    let (code, doc, _) = update(&sb, &["--to", "2026.9.4"]);
    assert_eq!(code, 6, "{doc:#}");
    assert!(doc["fix"].as_str().unwrap().contains("--allow-downgrade"));
    let (code, doc, _) = update(&sb, &["--to", "2026.9.4", "--allow-downgrade"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(running(&sb).as_deref(), Some("2026.9.4"));
}

#[test]
fn newer_config_is_refused() {
    let sb = unmanaged("2026.9.4");
    let cfg_path = sb.state_dir().join("openclaw.json");
    let mut cfg: Value = serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    cfg["meta"] = serde_json::json!({"lastTouchedVersion": "2026.9.6"});
    std::fs::write(&cfg_path, cfg.to_string()).unwrap();
    let (code, doc, _) = update(&sb, &["--to", "2026.9.5"]);
    assert_eq!(code, 6, "{doc:#}");
    assert!(doc["error"]
        .as_str()
        .unwrap()
        .contains("last written by OpenClaw 2026.9.6"));
}

#[test]
fn repairs_skew_after_naive_npm_install() {
    let sb = unmanaged("2026.9.4");
    std::thread::sleep(Duration::from_millis(1100));
    sb.npm_replace("2026.9.5");
    let status = sb.clawkit().args(["status", "--json"]).output().unwrap();
    assert_eq!(status.status.code(), Some(3));
    let (code, doc, _) = update(&sb, &["--to", "2026.9.5"]);
    assert_eq!(code, 0, "{doc:#}");
    // The CLI already was on 2026.9.5: only the gateway was restarted (and journalled so, which
    // keeps it out of `clawkit rollback`'s way).
    assert_eq!(doc["outcome"], "restarted");
    assert_eq!(doc["mode"], "restart-only");
    assert_eq!(running(&sb).as_deref(), Some("2026.9.5"));
    let status = sb.clawkit().args(["status", "--json"]).output().unwrap();
    assert_eq!(
        status.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
}

#[test]
fn fresh_machine_installs_and_verifies_cli() {
    let sb = Sandbox::new();
    let prefix = sb.prefix.to_str().unwrap().to_string();
    // Without --install an empty prefix is refused: a typo must not install OpenClaw elsewhere.
    let (code, doc, _) = update(&sb, &["--to", "2026.9.5", "--prefix", &prefix]);
    assert_eq!(code, 6, "{doc:#}");
    assert!(
        doc["fix"].as_str().unwrap().contains("--install"),
        "{doc:#}"
    );
    assert!(!sb.prefix.join("lib/node_modules/openclaw").exists());
    let (code, doc, out) = update(&sb, &["--to", "2026.9.5", "--prefix", &prefix, "--install"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["from"], Value::Null);
    assert_eq!(cli_version(&sb), "2026.9.5");
    assert!(sb.prefix.join("bin/openclaw").exists());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no gateway"), "{err}");
}

#[test]
fn ctrl_c_while_staging_changes_nothing() {
    let sb = unmanaged("2026.9.4");
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("clawkit"));
    cmd.env_clear()
        .envs(sb.env())
        .args(["update", "--yes", "--json", "--to", "2026.10.8"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    assert!(wait_for(Duration::from_secs(60), || !staging_dirs(&sb).is_empty()));
    std::thread::sleep(Duration::from_millis(500));
    support::sigint(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json_out(&out);
    assert!(
        doc["error"].as_str().unwrap().contains("interrupted"),
        "{doc:#}"
    );
    assert_eq!(running(&sb).as_deref(), Some("2026.9.4"));
    assert!(staging_dirs(&sb).is_empty(), "staging removed");
}

#[test]
fn ctrl_c_in_the_outage_window_undoes_to_a_running_gateway() {
    let sb = unmanaged("2026.9.4");
    let state_before = state_hash(&sb.state_dir());
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("clawkit"));
    cmd.env_clear()
        .envs(sb.env())
        .args(["update", "--yes", "--json", "--to", "2026.10.9"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    // Wait for the outage (the gateway goes down), then interrupt during the slow migration.
    assert!(wait_for(Duration::from_secs(60), || sb
        .startupz()
        .is_none()));
    std::thread::sleep(Duration::from_millis(300));
    support::sigint(&child);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains("undoing the changes so the gateway is not left stopped"),
        "{err}"
    );
    let doc = json_out(&out);
    assert_eq!(doc["outcome"], "rolled-back", "{doc:#}");
    assert!(doc["error"].as_str().unwrap().contains("SIGINT"), "{doc:#}");
    assert_eq!(running(&sb).as_deref(), Some("2026.9.4"));
    assert_eq!(cli_version(&sb), "2026.9.4");
    assert_eq!(state_hash(&sb.state_dir()), state_before);
}

#[test]
fn bad_arguments_are_refused_before_anything_runs() {
    // An interrupted update is waiting: any real run of `update` would resume it first (stop the
    // gateway, restore, restart). A usage error must be found before that, so nothing runs.
    let sb = unmanaged("2026.9.4");
    let mut child = support::spawn(&sb, &["update", "--yes", "--json", "--to", "2026.10.9"]);
    let record = support::install_record(&sb);
    assert!(wait_for(Duration::from_secs(60), || {
        support::record_changes(&record)
            .last()
            .is_some_and(|c| c == "state…")
    }));
    child.kill().unwrap();
    child.wait().unwrap();
    let record_before = std::fs::read(&record).unwrap();
    let journal = sb.state_dir().join("clawkit/journal.jsonl");
    let journal_before = std::fs::read(&journal).unwrap();
    for args in [
        vec!["--to", "$(id)"],
        vec!["--to", "latest; rm -rf ~"],
        vec!["--registry", "file:///etc"],
        vec!["--registry", "not a url"],
        vec!["--package", "/nonexistent/openclaw.tgz"],
        vec!["--timeout", "0"],
        vec!["--keep", "-1"],
    ] {
        let out = sb
            .clawkit()
            .arg("update")
            .arg("--yes")
            .args(&args)
            .output()
            .unwrap();
        let code = out.status.code().unwrap();
        assert_eq!(
            code,
            2,
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stderr.is_empty());
        assert_eq!(
            std::fs::read(&record).unwrap(),
            record_before,
            "{args:?}: nothing resumed"
        );
        assert_eq!(
            std::fs::read(&journal).unwrap(),
            journal_before,
            "{args:?}: nothing journalled"
        );
    }
    // The gateway is still down, exactly as the killed update left it; resume finishes it.
    assert!(running(&sb).is_none());
    let out = sb.clawkit().args(["resume"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(running(&sb).as_deref(), Some("2026.9.4"));
}

/// `--dry-run` prints the very commands the supervisors run: with a (fake) systemd unit, the
/// stop and start lines are the systemctl command lines, with the systemctl found on PATH.
#[test]
fn dry_run_prints_the_supervisors_own_commands() {
    let sb = Sandbox::new().with_tool("systemctl");
    sb.install("2026.9.4");
    sb.config();
    sb.systemd_unit("2026.9.4");
    sb.tool(
        "systemctl",
        &["--user", "start", "openclaw-gateway.service"],
    );
    assert!(wait_for(Duration::from_secs(60), || running(&sb).is_some()));
    let out = sb
        .clawkit()
        .args(["update", "--to", "2026.9.5", "--dry-run", "--json"])
        .output()
        .unwrap();
    let doc = json_out(&out);
    let systemctl = sb.tools.join("systemctl");
    let commands: Vec<(String, String)> = doc["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap().to_string(),
                s["command"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let stop = commands
        .iter()
        .find(|(s, _)| s.starts_with("stop "))
        .unwrap();
    assert!(
        stop.1.starts_with(&format!(
            "{} --user stop openclaw-gateway.service",
            systemctl.display()
        )),
        "{commands:?}"
    );
    let start = commands
        .iter()
        .find(|(s, _)| s.starts_with("start "))
        .unwrap();
    // reset-failed first: a crash loop's start limit must not refuse the start (docs/systemd.md).
    assert_eq!(
        start.1,
        format!(
            "{s} --user reset-failed openclaw-gateway.service; {s} --user start openclaw-gateway.service",
            s = systemctl.display()
        )
    );
    sb.tool("systemctl", &["--user", "stop", "openclaw-gateway.service"]);
}

#[test]
fn two_profiles_from_one_install_are_both_updated() {
    let sb = unmanaged("2026.9.4");
    let work = sb.home.join(".openclaw-work");
    let work_port = support::free_port();
    sb.write_config(&work, work_port);
    sb.start_gateway_args(&["--profile", "work"], &[], work_port);
    let (code, doc, _) = update(&sb, &["--to", "2026.9.5"]);
    assert_eq!(code, 0, "{doc:#}");
    let stops = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"].as_str().unwrap().starts_with("stop "))
        .count();
    assert_eq!(stops, 2, "{doc:#}");
    assert_eq!(running(&sb).as_deref(), Some("2026.9.5"));
    assert_eq!(support::startupz(work_port).unwrap()["version"], "2026.9.5");
    let gws = doc["gateways"].as_array().unwrap();
    assert_eq!(gws.len(), 2, "{doc:#}");
    assert!(gws
        .iter()
        .all(|g| g["version_before"] == "2026.9.4" && g["version_now"] == "2026.9.5"));
    assert!(gws.iter().any(|g| g["profile"] == "work"));
    // Each profile was migrated with its own state and backed up on its own.
    assert!(work.join("state/schema.json").exists());
    assert!(sb.state_dir().join("state/schema.json").exists());
    assert!(work.join("clawkit/backups").exists());
    // The work gateway came back on its own state dir, not the default one.
    let lock = std::fs::read_dir(work.join(format!("tmp/openclaw-{}", nix::unistd::getuid())))
        .unwrap()
        .count();
    assert!(lock >= 1);
}

/// A PATH without any `openclaw` (node and the system only): a gateway started with it that
/// retitles itself (`openclaw-gateway`) names its install nowhere, neither on its command line
/// nor through the `openclaw` its own PATH finds.
fn path_without_openclaw() -> String {
    std::env::join_paths([
        Sandbox::node_dir(),
        Path::new("/usr/bin").into(),
        Path::new("/bin").into(),
    ])
    .unwrap()
    .into_string()
    .unwrap()
}

/// Checks that an update refused before any change left the install and its gateways alone.
fn assert_nothing_changed(sb: &Sandbox, before: &[(String, u32, String)]) {
    assert_eq!(cli_version(sb), "2026.9.4");
    assert_eq!(state_hash(&sb.state_dir()), before);
    assert!(!support::install_record(sb).exists(), "no record");
    assert!(
        !sb.state_dir().join("clawkit/backups").exists()
            || std::fs::read_dir(sb.state_dir().join("clawkit/backups"))
                .unwrap()
                .next()
                .is_none(),
        "no backup was taken"
    );
    support::assert_unlocked(sb);
}

/// Issue 13 ("never act on a gateway you have not proven is yours"): the profile's own gateway
/// cannot be tied to an install: refused (exit 6) before anything is stopped.
#[test]
fn unidentified_gateway_is_refused_before_any_change() {
    let sb = Sandbox::new();
    sb.install("2026.9.4");
    sb.config();
    sb.start_gateway_with(&[("PATH", &path_without_openclaw())], sb.port);
    let before = state_hash(&sb.state_dir());
    let up = support::witness(sb.port);
    let (code, doc, _) = update(&sb, &["--to", "2026.9.5"]);
    assert_eq!(code, 6, "{doc:#}");
    assert_eq!(doc["outcome"], "refused", "{doc:#}");
    let error = doc["error"].as_str().unwrap();
    assert!(
        error.contains(&format!(
            "the gateway on port {} cannot be identified",
            sb.port
        )) && error.contains("no `openclaw` is on its own PATH")
            && error.contains("clawkit does not act on a gateway it cannot tie to an install"),
        "{doc:#}"
    );
    assert!(doc["fix"].as_str().unwrap().contains("--start"), "{doc:#}");
    up.assert_same("the gateway was not touched");
    assert_nothing_changed(&sb, &before);
}

/// The same for another profile's gateway that reports the installed version: it may run from
/// this install, so swapping the package under it is refused (exit 6) before any stop.
#[test]
fn unidentified_sibling_gateway_is_refused_before_any_change() {
    let sb = unmanaged("2026.9.4");
    let work = sb.home.join(".openclaw-work");
    let work_port = support::free_port();
    sb.write_config(&work, work_port);
    sb.start_gateway_args(
        &["--profile", "work"],
        &[("PATH", &path_without_openclaw())],
        work_port,
    );
    let before = state_hash(&sb.state_dir());
    let work_before = state_hash(&work);
    let up = support::witness(sb.port);
    let work_up = support::witness(work_port);
    let (code, doc, _) = update(&sb, &["--to", "2026.9.5"]);
    assert_eq!(code, 6, "{doc:#}");
    assert_eq!(doc["outcome"], "refused", "{doc:#}");
    assert!(
        doc["error"].as_str().unwrap().contains(&format!(
            "a gateway of {} (port {work_port}) may run from this install but cannot be identified",
            work.display()
        )),
        "{doc:#}"
    );
    up.assert_same("the profile's gateway was not touched");
    work_up.assert_same("the sibling gateway was not touched");
    assert_eq!(state_hash(&work), work_before);
    assert_nothing_changed(&sb, &before);
}
