//! Every `--json` document validates against its schema in `schemas/`, in success and failure;
//! `schemas/` is generated from the document types (`src/report.rs`).
//!
//! `UPDATE_SCHEMAS=1 cargo test --test schemas checked_in` rewrites `schemas/` from the types.

mod support;

use std::path::PathBuf;

use serde_json::Value;
use support::{json_out, Sandbox};

fn schema_dir() -> PathBuf {
    support::repo().join("schemas")
}

#[test]
fn checked_in_schemas_are_generated_from_the_types() {
    let generated = clawkit::report::schemas();
    let update = std::env::var_os("UPDATE_SCHEMAS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for (name, schema) in &generated {
        let path = schema_dir().join(format!("{name}.json"));
        let text = clawkit::report::schema_text(schema);
        if update {
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(format!("{} differs from the types", path.display()));
        }
    }
    for e in std::fs::read_dir(schema_dir()).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let stem = name.trim_end_matches(".json");
        if !generated.iter().any(|(n, _)| *n == stem) {
            if update {
                std::fs::remove_file(e.path()).unwrap();
            } else {
                stale.push(format!("{name} is no document's schema"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "{stale:#?}\nregenerate: UPDATE_SCHEMAS=1 cargo test --test schemas checked_in"
    );
}

fn validate(schema: &str, doc: &Value) {
    let path = support::repo()
        .join("schemas")
        .join(format!("{schema}.json"));
    let schema_doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let v = jsonschema::validator_for(&schema_doc).unwrap();
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{schema}: {errors:#?}\n{doc:#}");
}

fn json(sb: &Sandbox, args: &[&str]) -> Value {
    let out = sb.clawkit().args(args).arg("--json").output().unwrap();
    json_out(&out)
}

#[test]
fn every_json_document_matches_its_schema() {
    let sb = Sandbox::new();
    // Failure documents too: not installed, usage, refusal.
    validate("status", &json(&sb, &["status"]));
    validate("doctor", &json(&sb, &["doctor"]));
    validate("history", &json(&sb, &["history"]));
    sb.install("2026.9.4");
    sb.config();
    sb.start_gateway();
    validate("status", &json(&sb, &["status"]));
    validate("doctor", &json(&sb, &["doctor"]));
    validate("status", &json(&sb, &["status", "--all-profiles"]));
    validate("doctor", &json(&sb, &["doctor", "--all-profiles"]));
    validate(
        "update",
        &json(&sb, &["update", "--to", "2026.9.5", "--dry-run"]),
    );
    validate(
        "update",
        &json(&sb, &["update", "--to", "2026.99.99", "--yes"]),
    );
    validate(
        "update",
        &json(&sb, &["update", "--to", "2026.10.1", "--yes"]),
    );
    validate(
        "update",
        &json(
            &sb,
            &["update", "--to", "2026.10.1", "--yes", "--no-rehearsal"],
        ),
    );
    validate("rollback", &json(&sb, &["rollback", "--yes"]));
    validate(
        "update",
        &json(&sb, &["update", "--to", "2026.9.5", "--yes"]),
    );
    validate(
        "update",
        &json(&sb, &["update", "--to", "2026.9.5", "--yes"]),
    );
    validate("history", &json(&sb, &["history"]));
    validate("history", &json(&sb, &["history", "show"]));
    let list = json(&sb, &["backups", "list"]);
    validate("backups-list", &list);
    let id = list["backups"][0]["id"].as_str().unwrap().to_string();
    validate("backups-show", &json(&sb, &["backups", "show", &id]));
    validate(
        "backups-restore",
        &json(&sb, &["backups", "restore", &id, "--dry-run"]),
    );
    validate(
        "backups-restore",
        &json(&sb, &["backups", "restore", "no-such-id", "--yes"]),
    );
    validate("repair-lock", &json(&sb, &["repair", "lock"]));
    validate("rollback", &json(&sb, &["rollback", "--dry-run"]));
    validate("rollback", &json(&sb, &["rollback", "--yes"]));
    validate(
        "repair-pairing",
        &json(&sb, &["repair", "pairing", "--dry-run"]),
    );
    validate(
        "repair-pairing",
        &json(&sb, &["repair", "pairing", "--yes"]),
    );
    validate("repair-pairing", &json(&sb, &["repair", "pairing"]));
    validate(
        "reset-devices",
        &json(&sb, &["reset", "devices", "--dry-run"]),
    );
    validate("reset-devices", &json(&sb, &["reset", "devices"]));
    validate("reset-devices", &json(&sb, &["reset", "devices", "--yes"]));
}

/// Under a real terminal (a pty from `script`), `CI=true` alone means: no prompt, no spinner,
/// no colour. Without the CI rule clawkit would ask "[y/N]" (and, reading EOF, cancel) and paint.
#[test]
fn update_in_ci_mode_has_no_prompt_and_no_escape_codes() {
    if which::which("script").is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run this test: install util-linux (`script`)"
        );
        eprintln!("SKIPPED: util-linux `script` (for a pty) is not installed");
        return;
    }
    let sb = Sandbox::new();
    sb.install("2026.9.4");
    sb.config();
    sb.start_gateway();
    let bin = assert_cmd::cargo::cargo_bin("clawkit");
    let cmd = format!("'{}' update --to 2026.9.5", bin.display());
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_clear()
        .envs(sb.env())
        .env("CI", "true")
        .env("TERM", "xterm-256color")
        .current_dir(sb.dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains("[y/N]"), "prompted in CI: {text}");
    assert!(
        !text.contains('\u{1b}'),
        "escape codes in CI output: {text:?}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("✓ stage 2026.9.5")),
        "one plain line per step: {text}"
    );
    // The same under the same terminal without CI: it asks (and cancels on EOF).
    let cmd = format!("'{}' update --to 2026.9.6", bin.display());
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_clear()
        .envs(sb.env())
        .env("TERM", "xterm-256color")
        .current_dir(sb.dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("[y/N]"),
        "a terminal without CI is asked: {text}"
    );
}
