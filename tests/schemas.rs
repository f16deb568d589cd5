//! The JSON contract (`src/report.rs`): `schemas/` is generated from the document types, and the
//! real output of every command, in success and failure, validates against its schema; a key the
//! schema does not name, or a missing one, fails validation.
//!
//! `UPDATE_SCHEMAS=1 cargo test --test schemas checked_in` rewrites `schemas/` from the types.

mod support;

use std::path::PathBuf;

use serde_json::{json, Value};
use support::{json_out, Sandbox};

/// The fingerprint of the document shapes of each `schema` number (the generated schemas without
/// their descriptions). A change of shape needs a new number: see the versioning rule in
/// `src/report.rs`.
const SHAPES: &[(u32, &str)] = &[(
    2,
    "2d20aa8ef66d076a55c8a880092b96ef4c269d9843925a988fbc02237bf615b1",
)];

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

/// Strips what may change without a new `schema` number: descriptions and titles.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "description" | "title"))
                .map(|(k, x)| (k.clone(), shape(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        x => x.clone(),
    }
}

#[test]
fn a_new_shape_needs_a_new_schema_number() {
    use sha2::Digest;
    let all: Vec<(&str, Value)> = clawkit::report::schemas()
        .into_iter()
        .map(|(n, s)| (n, shape(&s)))
        .collect();
    let fingerprint = hex::encode(sha2::Sha256::digest(
        serde_json::to_vec(&all).unwrap().as_slice(),
    ));
    let recorded = SHAPES
        .iter()
        .find(|(n, _)| *n == clawkit::report::SCHEMA)
        .map(|(_, f)| *f);
    assert_eq!(
        recorded,
        Some(fingerprint.as_str()),
        "the document shapes changed: raise report::SCHEMA (unless this version is unreleased) \
         and record ({}, \"{fingerprint}\") in SHAPES",
        clawkit::report::SCHEMA
    );
}

fn validator(name: &str) -> jsonschema::Validator {
    let path = schema_dir().join(format!("{name}.json"));
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn errors(name: &str, doc: &Value) -> Vec<String> {
    validator(name)
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// Runs `clawkit ARGS --json`: the exit code and the one document on stdout.
fn run(sb: &Sandbox, args: &[&str]) -> (i32, Value) {
    let out = sb.clawkit().args(args).arg("--json").output().unwrap();
    (out.status.code().unwrap(), json_out(&out))
}

/// Runs `clawkit ARGS --json` and checks its document against `schemas/<name>.json`, its
/// `schema`, and that `exit_code` is the process's exit code (`want`).
fn check(sb: &Sandbox, name: &str, args: &[&str], want: i32) -> Value {
    let (code, doc) = run(sb, args);
    let errs = errors(name, &doc);
    assert!(errs.is_empty(), "clawkit {args:?}: {errs:#?}\n{doc:#}");
    assert_eq!(doc["schema"], clawkit::report::SCHEMA, "{doc:#}");
    assert_eq!(
        (code, doc["exit_code"].as_i64()),
        (want, Some(want as i64)),
        "clawkit {args:?}\n{doc:#}"
    );
    doc
}

/// A failure document: the command's own shape, with the failure's outcome and error.
fn check_failure(sb: &Sandbox, name: &str, args: &[&str], want: i32, outcome: &str) -> Value {
    let doc = check(sb, name, args, want);
    assert_eq!(doc["outcome"], outcome, "clawkit {args:?}\n{doc:#}");
    assert!(doc["error"].is_string(), "clawkit {args:?}\n{doc:#}");
    doc
}

#[test]
fn read_only_commands_without_an_install() {
    let sb = Sandbox::new();
    check(&sb, "status", &["status"], 3);
    check(&sb, "status", &["status", "--all-profiles"], 3);
    check(&sb, "doctor", &["doctor"], 3);
    check(&sb, "doctor", &["doctor", "--all-profiles"], 3);
    check(&sb, "history", &["history"], 0);
    check_failure(&sb, "history", &["history", "show"], 1, "failed");
    check(&sb, "backups-list", &["backups", "list"], 0);
    check_failure(
        &sb,
        "backups-show",
        &["backups", "show", "nope"],
        2,
        "usage",
    );
    check(&sb, "config-show", &["config", "show"], 0);
    check(&sb, "config-path", &["config", "path"], 0);
    check(&sb, "resume", &["resume"], 0);
    check(&sb, "resume", &["update", "--resume"], 0);
    check(&sb, "update-check", &["update", "--check"], 7);
    check(&sb, "repair-lock", &["repair", "lock", "--dry-run"], 0);
    check(&sb, "repair-lock", &["repair", "lock"], 0);
    // Refused: nothing is installed.
    check_failure(
        &sb,
        "update",
        &["update", "--to", "2026.9.5", "--yes"],
        6,
        "refused",
    );
    check_failure(&sb, "rollback", &["rollback", "--dry-run"], 6, "refused");
    check_failure(&sb, "rollback", &["rollback", "--yes"], 6, "refused");
    check_failure(
        &sb,
        "repair-pairing",
        &["repair", "pairing", "--dry-run"],
        6,
        "refused",
    );
    check_failure(
        &sb,
        "reset-devices",
        &["reset", "devices", "--dry-run"],
        6,
        "refused",
    );
    check_failure(
        &sb,
        "backups-restore",
        &["backups", "restore", "nope", "--yes"],
        2,
        "usage",
    );
    // No npm (nor node) on PATH: the check cannot ask the registry.
    let mut sb = Sandbox::new();
    sb.install("2026.9.4");
    support::only_fakes(&mut sb);
    check_failure(&sb, "update-check", &["update", "--check"], 1, "failed");
}

/// A bad setting is a usage error found after parsing: every command's own document says so.
#[test]
fn command_lines_the_parser_rejects_print_the_commands_document_with_json() {
    let sb = Sandbox::new();
    for (name, args) in [
        ("update", &["update", "--to", "$(id)"][..]),
        (
            "update-check",
            &["update", "--check", "--registry", "ftp://x"],
        ),
        ("resume", &["update", "--resume", "--timeout", "soon"]),
        ("status", &["status", "--bogus"]),
        ("status", &["--profile", "work", "status", "--bogus"]),
        (
            "doctor",
            &["doctor", "--all-profiles", "--since", "yesterday-ish"],
        ),
        ("backups-restore", &["backups", "restore"]),
        ("reset-devices", &["reset", "devices", "--nope"]),
        ("update", &["update", "--check", "--resume"]),
        ("status", &["status", "--check"]),
    ] {
        let doc = check_failure(&sb, name, args, 2, "usage");
        assert!(doc["fix"].as_str().unwrap().contains("--help"), "{doc:#}");
    }
    // A credential in a rejected value is not echoed.
    let doc = check_failure(
        &sb,
        "update",
        &["update", "--registry", "https://u:hunter2@[bad"],
        2,
        "usage",
    );
    assert!(!doc.to_string().contains("hunter2"), "{doc:#}");
    // Without --json, nothing on stdout; help prints no document.
    for args in [
        &["update", "--to", "$(id)"][..],
        &["update", "--help", "--json"],
    ] {
        let out = sb.clawkit().args(args).output().unwrap();
        if args.contains(&"--help") {
            assert!(!String::from_utf8_lossy(&out.stdout).contains("\"schema\""));
        } else {
            assert!(out.stdout.is_empty(), "{args:?}");
        }
    }
}

#[test]
fn usage_errors_print_each_commands_document() {
    let mut sb = Sandbox::new();
    sb.install("2026.9.4");
    sb.config();
    // The config file of clawkit itself is read by update, update --check and config show.
    let dir = sb.home.join(".config/clawkit");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), "chanel = \"beta\"\n").unwrap();
    check_failure(&sb, "config-show", &["config", "show"], 2, "usage");
    check_failure(&sb, "update-check", &["update", "--check"], 2, "usage");
    check_failure(&sb, "update", &["update", "--yes"], 2, "usage");
    check_failure(&sb, "resume", &["update", "--resume"], 2, "usage");
    // A port no TCP port can be: every command that resolves the profile refuses it.
    sb.extra_env
        .push(("OPENCLAW_GATEWAY_PORT".into(), "nope".into()));
    for (name, args) in [
        ("status", &["status"][..]),
        ("status", &["status", "--all-profiles"]),
        ("doctor", &["doctor"]),
        ("doctor", &["doctor", "--all-profiles"]),
        ("history", &["history"]),
        ("backups-list", &["backups", "list"]),
        ("backups-show", &["backups", "show", "x"]),
        ("backups-restore", &["backups", "restore", "x", "--yes"]),
        ("rollback", &["rollback", "--yes"]),
        ("repair-lock", &["repair", "lock"]),
        ("repair-pairing", &["repair", "pairing", "--yes"]),
        ("reset-devices", &["reset", "devices", "--yes"]),
        ("resume", &["resume"]),
    ] {
        let doc = check_failure(&sb, name, args, 2, "usage");
        assert!(
            doc["error"]
                .as_str()
                .unwrap()
                .contains("OPENCLAW_GATEWAY_PORT"),
            "{doc:#}"
        );
    }
}

#[test]
fn schedule_in_success_and_failure() {
    let sb = Sandbox::new().with_tool("systemctl");
    check(&sb, "schedule-status", &["schedule", "status"], 0);
    check(
        &sb,
        "schedule-install",
        &["schedule", "install", "--dry-run"],
        0,
    );
    check(&sb, "schedule-install", &["schedule", "install"], 0);
    let doc = check(&sb, "schedule-status", &["schedule", "status"], 0);
    assert_eq!(doc["outcome"], "present");
    check(
        &sb,
        "schedule-remove",
        &["schedule", "remove", "--dry-run"],
        0,
    );
    check(&sb, "schedule-remove", &["schedule", "remove"], 0);
    check(&sb, "schedule-remove", &["schedule", "remove"], 0);
    // No service manager: refused.
    let mut sb = Sandbox::new();
    support::only_fakes(&mut sb);
    check_failure(
        &sb,
        "schedule-install",
        &["schedule", "install"],
        6,
        "refused",
    );
    check_failure(
        &sb,
        "schedule-status",
        &["schedule", "status"],
        6,
        "refused",
    );
    check_failure(
        &sb,
        "schedule-remove",
        &["schedule", "remove"],
        6,
        "refused",
    );
}

#[test]
fn update_and_every_transaction_in_success_and_failure() {
    let sb = Sandbox::new();
    sb.install("2026.9.4");
    sb.config();
    sb.start_gateway();
    check(&sb, "status", &["status"], 0);
    check(&sb, "doctor", &["doctor"], 0);
    check(&sb, "status", &["status", "--all-profiles"], 0);
    check(&sb, "doctor", &["doctor", "--all-profiles"], 0);
    check(&sb, "update-check", &["update", "--check"], 7);
    // status shows the cached answer.
    let doc = check(&sb, "status", &["status"], 0);
    assert!(doc["available"]["version"].is_string(), "{doc:#}");
    let doc = check(
        &sb,
        "update",
        &["update", "--to", "2026.9.5", "--dry-run"],
        0,
    );
    assert_eq!(doc["outcome"], "planned");
    assert!(doc["plan"]["steps"].is_array(), "{doc:#}");
    check_failure(
        &sb,
        "update",
        &["update", "--to", "2026.99.99", "--yes"],
        6,
        "refused",
    );
    // Refused after staging (the tarball is missing): with its steps.
    check_failure(
        &sb,
        "update",
        &["update", "--to", "2026.10.7", "--yes"],
        6,
        "refused",
    );
    // Crashes at start: rolled back, with and without the rehearsal.
    let args = ["update", "--to", "2026.10.1", "--yes", "--no-rehearsal"];
    check_failure(&sb, "update", &args, 4, "rolled-back");
    check_failure(
        &sb,
        "update",
        &["update", "--to", "2026.10.1", "--yes"],
        6,
        "refused",
    );
    // Nothing to roll back yet.
    check_failure(&sb, "rollback", &["rollback", "--yes"], 6, "refused");
    let doc = check(&sb, "update", &["update", "--to", "2026.9.5", "--yes"], 0);
    assert_eq!(doc["outcome"], "updated");
    assert!(doc["outage"]["total_ms"].is_u64(), "{doc:#}");
    let doc = check(&sb, "update", &["update", "--to", "2026.9.5", "--yes"], 0);
    assert_eq!(doc["outcome"], "already-current");
    check(
        &sb,
        "update-check",
        &["update", "--check", "--to", "2026.9.5"],
        0,
    );

    // Held locks: every mutating command says `locked` in its own document (a restore of a
    // backup that exists: an id that names none is a usage error before the lock).
    let listed = check(&sb, "backups-list", &["backups", "list"], 0);
    let existing = listed["backups"][0]["id"].as_str().unwrap().to_string();
    {
        let _held = support::hold_lock(&sb.state_dir().join("clawkit"));
        for (name, args) in [
            ("update", &["update", "--to", "2026.9.6", "--yes"][..]),
            ("rollback", &["rollback", "--yes"]),
            ("repair-lock", &["repair", "lock"]),
            ("repair-pairing", &["repair", "pairing", "--yes"]),
            ("reset-devices", &["reset", "devices", "--yes"]),
            (
                "backups-restore",
                &["backups", "restore", &existing, "--yes"],
            ),
            ("resume", &["resume"]),
        ] {
            check_failure(&sb, name, args, 5, "locked");
        }
    }

    let doc = check(&sb, "rollback", &["rollback", "--dry-run"], 0);
    assert_eq!(doc["outcome"], "planned");
    let doc = check(&sb, "rollback", &["rollback", "--yes"], 0);
    assert_eq!(doc["outcome"], "rolled-back");
    // The backup the rollback restored: the state of the release that runs again.
    let restorable = doc["journal_id"].as_str().unwrap().to_string();

    let doc = check(&sb, "history", &["history"], 0);
    let id = doc["entries"][0]["id"].as_str().unwrap().to_string();
    check(&sb, "history", &["history", "show"], 0);
    check(&sb, "history", &["history", "show", &id], 0);
    check_failure(&sb, "history", &["history", "show", "nope"], 2, "usage");

    let list = check(&sb, "backups-list", &["backups", "list"], 0);
    let newest = list["backups"][0]["id"].as_str().unwrap().to_string();
    check(&sb, "backups-show", &["backups", "show", &newest], 0);
    let id = restorable.as_str();
    let doc = check(
        &sb,
        "backups-restore",
        &["backups", "restore", id, "--dry-run"],
        0,
    );
    assert_eq!(doc["source"]["id"], id);
    check_failure(
        &sb,
        "backups-restore",
        &["backups", "restore", id],
        6,
        "refused",
    );
    let doc = check(
        &sb,
        "backups-restore",
        &["backups", "restore", id, "--yes"],
        0,
    );
    assert_eq!(doc["outcome"], "restored");
    // The newest backup (before the rollback) holds a config 2026.9.4 refuses: undone.
    let args = ["backups", "restore", &newest, "--yes"];
    check_failure(&sb, "backups-restore", &args, 4, "undone");

    check(&sb, "repair-lock", &["repair", "lock", "--dry-run"], 0);
    check(&sb, "repair-lock", &["repair", "lock"], 0);
    check(
        &sb,
        "repair-pairing",
        &["repair", "pairing", "--dry-run"],
        0,
    );
    check_failure(&sb, "repair-pairing", &["repair", "pairing"], 6, "refused");
    check(&sb, "repair-pairing", &["repair", "pairing", "--yes"], 0);
    check(&sb, "reset-devices", &["reset", "devices", "--dry-run"], 0);
    check_failure(&sb, "reset-devices", &["reset", "devices"], 6, "refused");
    check(&sb, "reset-devices", &["reset", "devices", "--yes"], 0);
    check(&sb, "resume", &["resume"], 0);
}

/// The validator is strict: a real document with one more key, one key less, or a nested
/// object with an unknown key is rejected.
#[test]
fn unknown_and_missing_keys_fail_validation() {
    let sb = Sandbox::new();
    sb.install("2026.9.4");
    sb.config();
    sb.start_gateway();
    for (name, args) in [
        ("status", &["status"][..]),
        ("doctor", &["doctor"]),
        ("history", &["history"]),
        ("backups-list", &["backups", "list"]),
    ] {
        let (_, doc) = run(&sb, args);
        assert!(errors(name, &doc).is_empty(), "{doc:#}");
        let mut more = doc.clone();
        more["surprise"] = json!(1);
        assert!(
            !errors(name, &more).is_empty(),
            "{name}: an unknown key passed"
        );
        for key in ["error", "fix", "outcome", "exit_code"] {
            let mut less = doc.clone();
            less.as_object_mut().unwrap().remove(key);
            assert!(
                !errors(name, &less).is_empty(),
                "{name}: a document without {key} passed"
            );
        }
    }
    let (_, mut doc) = run(&sb, &["status"]);
    doc["gateway"]["surprise"] = json!(true);
    assert!(
        !errors("status", &doc).is_empty(),
        "a nested unknown key passed"
    );
    let (_, mut doc) = run(&sb, &["status"]);
    doc["gateway"].as_object_mut().unwrap().remove("pid");
    assert!(
        !errors("status", &doc).is_empty(),
        "a nested missing key passed"
    );
    // A failure document of another command is not a status document.
    let (_, doc) = run(&sb, &["history", "show", "nope"]);
    assert!(!errors("status", &doc).is_empty());
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
