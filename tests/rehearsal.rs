//! The rehearsal (issue #16) against the fake OpenClaw: a broken release is refused before the
//! gateway is stopped, with zero outage, the state untouched and nothing written outside the
//! private copy; a healthy one passes, and a migration shown to change nothing is skipped in the
//! outage. The real-OpenClaw versions are `scripts/e2e rehearsal_*`.

mod support;

use serde_json::Value;
use support::{cli_version, running, state_hash, unmanaged, update, Sandbox};

fn uptime(sb: &Sandbox) -> u64 {
    sb.startupz()
        .and_then(|v| v["uptimeMs"].as_u64())
        .unwrap_or(0)
}

fn step<'a>(doc: &'a Value, prefix: &str) -> Option<&'a Value> {
    doc["steps"]
        .as_array()?
        .iter()
        .find(|s| s["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
}

/// Every file under HOME except clawkit's own records (journal, locks).
fn home_tree(sb: &Sandbox) -> Vec<(String, u32, String)> {
    let mut v = Sandbox::tree_hash(&sb.home);
    v.retain(|(p, _, _)| !p.contains(".openclaw/clawkit") && !p.contains("/logs/"));
    v
}

/// The broken releases: each refused by the rehearsal, exit 6, the same gateway serving
/// throughout, nothing stopped, the staging and the private copy gone, the state and HOME
/// untouched, and a journal entry naming the failed rehearsal step with its last log lines.
#[test]
fn broken_releases_are_refused_with_zero_outage() {
    // The health timeout: short where it is the case (never healthy), long elsewhere, so that a
    // loaded machine's slow start is not taken for the failure under test.
    for (to, step_name, words, timeout) in [
        ("2026.10.1", "boot", "exited during startup", "60"),
        (
            "2026.10.4",
            "migrate",
            "doctor --fix --non-interactive` failed",
            "60",
        ),
        ("2026.10.2", "health", "did not become healthy", "5"),
        (
            "2026.10.3",
            "version",
            "reports 2026.10.2, expected 2026.10.3",
            "60",
        ),
    ] {
        let sb = unmanaged("2026.9.4");
        let state = state_hash(&sb.state_dir());
        let home = home_tree(&sb);
        let up = uptime(&sb);
        let (code, doc, _) = update(&sb, &["--to", to, "--timeout", timeout]);
        assert_eq!(code, 6, "{to}: {doc:#}");
        assert_eq!(doc["outcome"], "refused");
        assert_eq!(doc["rehearsal"]["result"], "failed", "{to}: {doc:#}");
        assert_eq!(doc["rehearsal"]["step"], step_name, "{to}: {doc:#}");
        let error = doc["error"].as_str().unwrap();
        assert!(error.contains(words), "{to}: {error}");
        assert!(
            error.contains("the gateway was never stopped"),
            "{to}: {error}"
        );
        assert!(
            !doc["steps"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["name"].as_str().unwrap().starts_with("stop ")),
            "{to}: nothing stopped: {doc:#}"
        );
        assert!(uptime(&sb) > up, "{to}: the same gateway kept serving");
        assert_eq!(running(&sb).as_deref(), Some("2026.9.4"));
        assert_eq!(cli_version(&sb), "2026.9.4");
        assert_eq!(state_hash(&sb.state_dir()), state, "{to}: state untouched");
        assert_eq!(
            home_tree(&sb),
            home,
            "{to}: nothing written outside the copy"
        );
        assert!(
            support::staging_dirs(&sb).is_empty(),
            "{to}: staging removed"
        );
        let leftovers: Vec<_> = std::fs::read_dir(sb.state_dir().join("clawkit"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("rehearsal-"))
            .collect();
        assert!(leftovers.is_empty(), "{to}: the private copy is deleted");
        let journal =
            std::fs::read_to_string(sb.state_dir().join("clawkit/journal.jsonl")).unwrap();
        let last: Value = serde_json::from_str(journal.lines().last().unwrap()).unwrap();
        assert_eq!(last["outcome"], "refused", "{to}: {last:#}");
        assert!(
            last["steps"].as_array().unwrap().iter().any(|s| s["name"]
                .as_str()
                .unwrap()
                .starts_with("rehearse")
                && s["status"] == "failed"),
            "{to}: {last:#}"
        );
        assert!(
            last["error"].as_str().unwrap().contains(words),
            "{to}: {last:#}"
        );
    }
}

/// A crash at start is only seen in the start's log: the refusal quotes it.
#[test]
fn the_refusal_shows_the_candidates_last_log_lines() {
    let sb = unmanaged("2026.9.4");
    let (code, doc, _) = update(&sb, &["--to", "2026.10.1"]);
    assert_eq!(code, 6, "{doc:#}");
    assert!(
        doc["rehearsal"]["log_tail"]
            .as_str()
            .unwrap()
            .contains("crashes at start"),
        "{doc:#}"
    );
    assert!(doc["error"].as_str().unwrap().contains("crashes at start"));
}

/// A healthy release: the rehearsal passes on a copy, then the real update runs; the report has
/// the rehearsal and the outage in parts.
#[test]
fn a_healthy_release_is_rehearsed_then_installed() {
    let sb = unmanaged("2026.9.4");
    let (code, doc, _) = update(&sb, &["--to", "2026.9.5"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["rehearsal"]["result"], "passed", "{doc:#}");
    let p = &doc["rehearsal"]["profiles"][0];
    assert_eq!(p["migration_changes"], true, "schema 17 -> 18: {doc:#}");
    assert_eq!(p["canary"], true, "2026.9.4+ boots with --update-canary");
    // The rehearsal ran before the stop.
    let names: Vec<&str> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    let rehearse = names
        .iter()
        .position(|n| n.starts_with("rehearse"))
        .unwrap();
    let stop = names.iter().position(|n| n.starts_with("stop ")).unwrap();
    assert!(rehearse < stop, "{names:?}");
    assert!(step(&doc, "migrate default").is_some(), "{names:?}");
    let o = &doc["outage"];
    assert!(
        o["stop_ms"].is_u64() && o["start_to_healthy_ms"].is_u64(),
        "{doc:#}"
    );
    assert_eq!(running(&sb).as_deref(), Some("2026.9.5"));
}

/// The rehearsal shows that the migration changes nothing: the outage skips it.
#[test]
fn a_migration_that_changes_nothing_is_skipped_in_the_outage() {
    let sb = unmanaged("2026.9.6");
    let (code, doc, _) = update(&sb, &["--to", "2026.9.7"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(
        doc["rehearsal"]["profiles"][0]["migration_changes"], false,
        "{doc:#}"
    );
    let migrate = step(&doc, "migrate").unwrap();
    assert_eq!(migrate["status"], "skipped", "{doc:#}");
    assert!(
        migrate["detail"].as_str().unwrap().contains("rehearsal"),
        "{doc:#}"
    );
    assert_eq!(doc["outage"]["migrate_ms"], 0);
    assert_eq!(running(&sb).as_deref(), Some("2026.9.7"));
    // Without the rehearsal the migration runs (nothing proves it unnecessary).
    let sb = unmanaged("2026.9.6");
    let (code, doc, _) = update(&sb, &["--to", "2026.9.7", "--no-rehearsal"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(step(&doc, "migrate default").unwrap()["status"], "ok");
    assert_eq!(doc["rehearsal"], Value::Null);
}

/// `--dry-run` names the rehearsal and its commands; `--no-rehearsal` says it is skipped.
#[test]
fn the_plan_shows_the_rehearsal() {
    let sb = unmanaged("2026.9.4");
    let out = sb
        .clawkit()
        .args(["update", "--to", "2026.9.5", "--dry-run", "--json"])
        .output()
        .unwrap();
    let doc = support::json_out(&out);
    let steps = doc["plan"]["steps"].as_array().unwrap();
    let r = steps
        .iter()
        .find(|s| s["step"].as_str().unwrap().starts_with("rehearse"))
        .unwrap();
    let cmd = r["command"].as_str().unwrap();
    assert!(
        cmd.contains("doctor --fix --non-interactive")
            && cmd.contains("gateway run --bind loopback"),
        "{cmd}"
    );
    assert_eq!(doc["plan"]["rehearsal"], Value::Null);
    let out = sb
        .clawkit()
        .args([
            "update",
            "--to",
            "2026.9.5",
            "--dry-run",
            "--json",
            "--no-rehearsal",
        ])
        .output()
        .unwrap();
    let doc = support::json_out(&out);
    assert_eq!(doc["plan"]["rehearsal"], "--no-rehearsal");
}
