//! The crash-point matrix: every mutating command is stopped at every step boundary of its
//! transaction, by SIGINT (the transaction undoes itself) and by SIGKILL (then `clawkit resume`
//! finishes the job). Every cell must end with a serving gateway on a verified version, the
//! state byte-identical to before (or, when the operation had been verified, its result), the
//! record gone, the locks free and a journal entry. `CLAWKIT_TEST_FAULT=sig@N` makes clawkit
//! raise the signal on itself at boundary N (after the record is on disk).
//!
//! docs/reliability.md has the table this produces (`CLAWKIT_CRASH_TABLE=path` writes it).

mod support;

use std::io::Write;
use std::os::unix::process::ExitStatusExt;

use serde_json::Value;
use support::{assert_unlocked, json_out, running, state_hash, Sandbox};

type Setup = fn() -> (Sandbox, Vec<String>);

/// What a completed run leaves: checks the operation's result in the state (for `update`, what
/// the fake release's migration writes) and its journal entry.
type Done = fn(&Sandbox, &str);

struct Cell {
    command: &'static str,
    boundary: u32,
    /// What the record held when SIGKILL hit: the last change and whether it was done.
    at: String,
    sigint: String,
    sigkill: String,
}

fn cli(sb: &Sandbox, args: &[&str]) -> (i32, Value) {
    let out = sb.clawkit().args(args).arg("--json").output().unwrap();
    support::assert_no_secret(&out);
    (out.status.code().unwrap_or(-1), json_out(&out))
}

fn fake_cli_call(sb: &Sandbox) -> bool {
    std::process::Command::new("node")
        .arg(sb.prefix.join("bin/openclaw"))
        .args(["gateway", "call", "status", "--json"])
        .env_clear()
        .envs(sb.env())
        .output()
        .unwrap()
        .status
        .success()
}

/// The boundary in words, from the record a SIGKILL left: `stop logged`, `swap done`, …
fn boundary_name(sb: &Sandbox) -> String {
    let rec = [support::install_record(sb), support::profile_record(sb)]
        .iter()
        .find_map(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
    let Some(rec) = rec else {
        return "?".into();
    };
    if rec["forward_done"] == true {
        return "verified".into();
    }
    match rec["changes"].as_array().and_then(|c| c.last()) {
        Some(l) => format!(
            "{} {}",
            l["change"]["kind"].as_str().unwrap_or("?"),
            if l["done"] == true { "done" } else { "logged" }
        ),
        None => "begun".into(),
    }
}

/// Checks the end state of one cell: a serving gateway on the right version, the state as before
/// (or, when the operation completed, its result: `completed`), no record, free locks, a final
/// journal entry.
fn check_end(
    sb: &Sandbox,
    where_: &str,
    before: &[(String, u32, String)],
    completed: Option<Done>,
    version_before: &str,
    version_after: &str,
) {
    let forward = completed.is_some();
    let want = if forward {
        version_after
    } else {
        version_before
    };
    let now = running(sb);
    if now.as_deref() != Some(want) {
        // Say why: the gateway's own log and the processes of the sandbox.
        let mut logs = String::new();
        for e in std::fs::read_dir(sb.dir.path()).unwrap().flatten() {
            if e.path().extension().is_some_and(|x| x == "log") {
                logs += &format!(
                    "== {}\n{}\n",
                    e.path().display(),
                    std::fs::read_to_string(e.path()).unwrap_or_default()
                );
            }
        }
        let gw_logs = std::fs::read_dir(sb.state_dir().join("logs"));
        for e in gw_logs.into_iter().flatten().flatten() {
            logs += &format!(
                "== {}\n{}\n",
                e.path().display(),
                std::fs::read_to_string(e.path()).unwrap_or_default()
            );
        }
        let procs: Vec<String> = sb
            .processes()
            .iter()
            .map(|p| {
                let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
                let cmd = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
                format!(
                    "{p}: {} | {}",
                    stat.chars().take(60).collect::<String>(),
                    String::from_utf8_lossy(&cmd).replace('\0', " ")
                )
            })
            .collect();
        let mut later = Vec::new();
        for _ in 0..10 {
            later.push(format!("{:?}", support::startupz(sb.port)));
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        panic!(
            "{where_}: the gateway must serve {want}, got {now:?}; port {}; processes {procs:#?}\nstartupz afterwards: {later:?}\nlistener: {:?}\n{logs}",
            sb.port,
            clawkit::proc::listener_pid(sb.port)
        );
    }
    match completed {
        Some(done) => done(sb, where_),
        None => assert_eq!(
            state_hash(&sb.state_dir()),
            before,
            "{where_}: state must be byte-identical"
        ),
    }
    assert!(
        !support::install_record(sb).exists() && !support::profile_record(sb).exists(),
        "{where_}: the record must be gone"
    );
    assert_unlocked(sb);
    let (_, status) = cli(sb, &["status"]);
    assert_eq!(status["interrupted"], serde_json::json!([]), "{where_}");
    let (_, history) = cli(sb, &["history"]);
    assert!(
        history["entries"][0]["finished_at"].is_string(),
        "{where_}: the journal has a final entry: {history:#}"
    );
}

/// The newest journal entry is `command`'s, finished with one of `outcomes`.
fn journal_says(sb: &Sandbox, where_: &str, command: &str, outcomes: &[&str]) {
    let (_, history) = cli(sb, &["history"]);
    let e = &history["entries"][0];
    assert_eq!(
        e["command"], command,
        "{where_}: the journal entry: {history:#}"
    );
    assert!(
        e["outcome"].as_str().is_some_and(|o| outcomes.contains(&o)),
        "{where_}: the journal entry says it completed ({outcomes:?}): {e:#}"
    );
}

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_default()).unwrap_or(Value::Null)
}

/// A value a setup keeps for its `done` check, beside the sandbox's HOME.
fn keep(sb: &Sandbox, name: &str, v: Value) {
    std::fs::write(sb.dir.path().join(name), v.to_string()).unwrap();
}

fn kept(sb: &Sandbox, name: &str) -> Value {
    read_json(&sb.dir.path().join(name))
}

/// Runs `command` with the fault at every boundary, SIGKILL (+ resume) then SIGINT, and checks
/// each end state.
fn matrix(
    command: &'static str,
    setup: Setup,
    version_before: &str,
    version_after_commit: &str,
    min_boundaries: usize,
    done: Done,
) -> Vec<Cell> {
    let mut cells = Vec::new();
    for n in 1..=30u32 {
        // SIGKILL, then `clawkit resume`.
        let (sb, args) = setup();
        let before = state_hash(&sb.state_dir());
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = sb
            .clawkit()
            .env("CLAWKIT_TEST_FAULT", format!("sigkill@{n}"))
            .args(&argv)
            .arg("--json")
            .output()
            .unwrap();
        support::assert_no_secret(&out);
        let where_ = format!("{command} sigkill@{n}");
        if out.status.code() == Some(0) {
            assert!(n > 1, "{where_}: no boundary at all");
            break; // past the last boundary: the command ran to the end
        }
        assert_eq!(out.status.signal(), Some(9), "{where_}: {:?}", out.status);
        let at = boundary_name(&sb);
        let (code, doc) = cli(&sb, &["resume"]);
        let outcome = doc["outcome"].as_str().unwrap_or("?").to_string();
        assert!(
            matches!(
                (code, outcome.as_str()),
                (4, "rolled-back" | "undone") | (0, "completed" | "resolved")
            ),
            "{where_} ({at}): resume exit {code}: {doc:#}"
        );
        check_end(
            &sb,
            &format!("{where_} ({at}, {outcome})"),
            &before,
            (outcome == "completed").then_some(done),
            version_before,
            version_after_commit,
        );
        let sigkill = format!("resume: {outcome} ({code})");
        drop(sb);

        // SIGINT: the transaction undoes itself (or, once verified, completes).
        let (sb, args) = setup();
        let before = state_hash(&sb.state_dir());
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = sb
            .clawkit()
            .env("CLAWKIT_TEST_FAULT", format!("sigint@{n}"))
            .args(&argv)
            .arg("--json")
            .output()
            .unwrap();
        support::assert_no_secret(&out);
        let where_ = format!("{command} sigint@{n} ({at})");
        let doc = json_out(&out);
        let code = out.status.code();
        let sigint = if at == "verified" {
            assert_eq!(
                code,
                Some(0),
                "{where_}: after verification it completes: {doc:#}"
            );
            check_end(
                &sb,
                &where_,
                &before,
                Some(done),
                version_before,
                version_after_commit,
            );
            "completed (0)".to_string()
        } else {
            assert_eq!(
                code,
                Some(4),
                "{where_}: {doc:#}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                doc["error"].as_str().unwrap_or("").contains("SIGINT"),
                "{where_}: {doc:#}"
            );
            let shown = format!(
                "{where_}\nclawkit said:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            check_end(
                &sb,
                &shown,
                &before,
                None,
                version_before,
                version_after_commit,
            );
            "undone (4)".to_string()
        };
        cells.push(Cell {
            command,
            boundary: n,
            at,
            sigint,
            sigkill,
        });
    }
    assert!(
        cells.len() >= min_boundaries,
        "{command}: too few boundaries"
    );
    cells
}

fn write_table(cells: &[Cell]) {
    let Some(path) = std::env::var_os("CLAWKIT_CRASH_TABLE") else {
        return;
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for c in cells {
        writeln!(
            f,
            "| {} | {} | {} | {} | {} |",
            c.command, c.boundary, c.at, c.sigint, c.sigkill
        )
        .unwrap();
    }
}

#[test]
fn update_at_every_boundary() {
    fn setup() -> (Sandbox, Vec<String>) {
        let sb = support::unmanaged("2026.9.4");
        (
            sb,
            vec![
                "update".into(),
                "--to".into(),
                "2026.9.5".into(),
                "--yes".into(),
            ],
        )
    }
    /// Migrated by 2026.9.5's `doctor --fix`: its schema and the config stamped with its version.
    fn done(sb: &Sandbox, where_: &str) {
        assert_eq!(
            read_json(&sb.state_dir().join("state/schema.json")),
            serde_json::json!({"state": 18}),
            "{where_}: the state is migrated to 2026.9.5's schema"
        );
        assert_eq!(
            read_json(&sb.state_dir().join("openclaw.json"))["meta"]["lastTouchedVersion"],
            "2026.9.5",
            "{where_}: the config was migrated by 2026.9.5"
        );
        assert_eq!(support::cli_version(sb), "2026.9.5", "{where_}");
        journal_says(sb, where_, "update", &["updated"]);
    }
    let cells = matrix("update", setup, "2026.9.4", "2026.9.5", 10, done);
    write_table(&cells);
}

#[test]
fn rollback_at_every_boundary() {
    fn setup() -> (Sandbox, Vec<String>) {
        let sb = support::unmanaged("2026.9.4");
        keep(
            &sb,
            "state-of-2026.9.4",
            serde_json::json!(state_hash(&sb.state_dir())),
        );
        let (code, doc) = cli(&sb, &["update", "--to", "2026.9.5", "--yes"]);
        assert_eq!(code, 0, "{doc:#}");
        (sb, vec!["rollback".into(), "--yes".into()])
    }
    /// The state 2026.9.4 had before the update (its backup, restored), on 2026.9.4's package.
    fn done(sb: &Sandbox, where_: &str) {
        assert_eq!(
            serde_json::json!(state_hash(&sb.state_dir())),
            kept(sb, "state-of-2026.9.4"),
            "{where_}: the state is 2026.9.4's again"
        );
        assert_eq!(support::cli_version(sb), "2026.9.4", "{where_}");
        journal_says(sb, where_, "rollback", &["rolled-back", "done"]);
    }
    let cells = matrix("rollback", setup, "2026.9.5", "2026.9.4", 10, done);
    write_table(&cells);
}

#[test]
fn repair_pairing_at_every_boundary() {
    fn setup() -> (Sandbox, Vec<String>) {
        let sb = support::unmanaged("2026.7.1");
        assert!(fake_cli_call(&sb), "the CLI pairs itself");
        let paired = read_json(&sb.state_dir().join("devices/paired.json"));
        assert!(paired.as_object().is_some_and(|p| !p.is_empty()));
        keep(&sb, "paired-before", paired);
        (sb, vec!["repair".into(), "pairing".into(), "--yes".into()])
    }
    /// The paired-devices table was cleared (the old tokens are gone) and the CLI pairs again.
    fn done(sb: &Sandbox, where_: &str) {
        assert_ne!(
            read_json(&sb.state_dir().join("devices/paired.json")),
            kept(sb, "paired-before"),
            "{where_}: the paired devices were cleared"
        );
        assert!(fake_cli_call(sb), "{where_}: the CLI pairs again");
        journal_says(
            sb,
            where_,
            "repair pairing",
            &["repaired", "restarted", "done"],
        );
    }
    let cells = matrix("repair pairing", setup, "2026.7.1", "2026.7.1", 8, done);
    write_table(&cells);
}

#[test]
fn reset_devices_at_every_boundary() {
    fn setup() -> (Sandbox, Vec<String>) {
        let sb = support::unmanaged("2026.7.1");
        assert!(fake_cli_call(&sb), "the CLI pairs itself");
        (sb, vec!["reset".into(), "devices".into(), "--yes".into()])
    }
    /// Every device and the CLI's identity are gone.
    fn done(sb: &Sandbox, where_: &str) {
        for d in ["devices", "identity"] {
            assert!(
                !sb.state_dir().join(d).exists(),
                "{where_}: {d}/ was removed"
            );
        }
        journal_says(sb, where_, "reset devices", &["reset", "done"]);
    }
    let cells = matrix("reset devices", setup, "2026.7.1", "2026.7.1", 8, done);
    write_table(&cells);
}

#[test]
fn backups_restore_at_every_boundary() {
    fn setup() -> (Sandbox, Vec<String>) {
        let sb = support::unmanaged("2026.9.5");
        let (code, doc) = cli(&sb, &["repair", "pairing", "--yes"]);
        assert_eq!(code, 0, "a backup to restore: {doc:#}");
        let id = doc["id"].as_str().unwrap().to_string();
        // Something for the restore to change.
        std::fs::write(sb.state_dir().join("notes.txt"), "written after the backup").unwrap();
        (
            sb,
            vec!["backups".into(), "restore".into(), id, "--yes".into()],
        )
    }
    /// The state of the backup: the file written after it is gone.
    fn done(sb: &Sandbox, where_: &str) {
        assert!(
            !sb.state_dir().join("notes.txt").exists(),
            "{where_}: the backup was restored"
        );
        assert!(sb.state_dir().join("openclaw.json").exists(), "{where_}");
        journal_says(sb, where_, "backups restore", &["restored", "done"]);
    }
    let cells = matrix("backups restore", setup, "2026.9.5", "2026.9.5", 8, done);
    write_table(&cells);
}

#[test]
fn repair_lock_at_every_boundary() {
    fn setup() -> (Sandbox, Vec<String>) {
        let sb = support::unmanaged("2026.9.5");
        // A stale lock of an earlier gateway (dead pid) in the old global location.
        let uid = nix::unistd::getuid();
        let dir = sb.dir.path().join("tmp").join(format!("openclaw-{uid}"));
        std::fs::create_dir_all(&dir).unwrap();
        let layout_env = clawkit::env::Env::from_pairs([("HOME", sb.home.as_os_str())]);
        let layout =
            clawkit::layout::resolve(&layout_env, &clawkit::layout::Profile::Default, None)
                .unwrap();
        std::fs::write(
            dir.join(layout.config_lock_name()),
            r#"{"pid": 999999, "port": 1}"#,
        )
        .unwrap();
        keep(
            &sb,
            "stale-lock",
            serde_json::json!(dir.join(layout.config_lock_name())),
        );
        (sb, vec!["repair".into(), "lock".into()])
    }
    /// The stale lock is gone.
    fn done(sb: &Sandbox, where_: &str) {
        let lock = kept(sb, "stale-lock");
        assert!(
            !std::path::Path::new(lock.as_str().unwrap()).exists(),
            "{where_}: the stale lock was removed"
        );
        journal_says(sb, where_, "repair lock", &["removed", "done"]);
    }
    let cells = matrix("repair lock", setup, "2026.9.5", "2026.9.5", 2, done);
    write_table(&cells);
}

/// SIGKILL while the health gate waits for a gateway that takes seconds to boot (a real
/// OpenClaw takes 10-30 s), then an immediate `clawkit resume`: the resume waits for the gateway
/// clawkit had started and finishes forward, instead of judging it down and undoing a good
/// update (which it did: exit 4, `rolled-back`).
#[test]
fn resume_waits_for_a_gateway_still_booting_after_the_kill() {
    let sb = support::unmanaged_with("2026.9.4", &[("FAKE_OPENCLAW_STARTUP_MS", "6000")]);
    let child = support::spawn(&sb, &["update", "--to", "2026.9.5", "--yes", "--json"]);
    let record = support::install_record(&sb);
    assert!(
        support::wait_for(std::time::Duration::from_secs(60), || {
            support::record_changes(&record).last().map(String::as_str) == Some("start…")
        }),
        "the update never reached its start: {:?}",
        support::record_changes(&record)
    );
    // In the health gate: the gateway was spawned and is booting.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    support::signal(&child, nix::sys::signal::Signal::SIGKILL);
    let _ = child.wait_with_output();
    assert_ne!(
        running(&sb).as_deref(),
        Some("2026.9.5"),
        "the gateway must still be booting when the resume starts"
    );
    let (code, doc) = cli(&sb, &["resume"]);
    assert_eq!(
        (code, doc["outcome"].as_str()),
        (0, Some("completed")),
        "{doc:#}"
    );
    assert_eq!(running(&sb).as_deref(), Some("2026.9.5"));
    assert!(!record.exists());
}
