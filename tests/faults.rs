//! The fault matrix (issue #8): each injected failure ends on a running, verified gateway (or a
//! clear refusal before anything changed), with state intact, the right exit code, a journal
//! record, the lock released and no token in any output. docs/reliability.md lists them all;
//! faults already covered in tests/update.rs are referenced there.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::{
    assert_unlocked, cli_version, install_record, json_out, record_changes, running, staging_dirs,
    state_hash, unmanaged, update, wait_for, Sandbox,
};

fn spawn_update(sb: &Sandbox, args: &[&str]) -> std::process::Child {
    Command::new(assert_cmd::cargo::cargo_bin("clawkit"))
        .env_clear()
        .envs(sb.env())
        .args(["update", "--yes", "--json"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Fault 2: the registry cannot be reached.
#[test]
fn registry_unreachable_is_refused() {
    let mut sb = unmanaged("2026.9.4");
    sb.extra_env
        .push(("npm_config_fetch_retries".into(), "0".into()));
    let closed = format!("http://127.0.0.1:{}/", support::free_port());
    let up = support::witness(sb.port);
    let (code, doc, _) = update(&sb, &["--to", "2026.9.5", "--registry", &closed]);
    assert_eq!(code, 6, "{doc:#}");
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("registry could not be reached"),
        "{doc:#}"
    );
    up.assert_same("the same gateway kept serving");
    assert_unlocked(&sb);
}

/// Fault 2: npm times out while staging (the tarball never arrives).
#[test]
fn npm_timeout_while_staging_is_refused() {
    let mut sb = unmanaged("2026.9.4");
    sb.extra_env
        .push(("npm_config_fetch_retries".into(), "0".into()));
    sb.extra_env
        .push(("npm_config_fetch_timeout".into(), "1500".into()));
    let up = support::witness(sb.port);
    let (code, doc, _) = update(&sb, &["--to", "2026.10.8"]);
    assert_eq!(code, 6, "{doc:#}");
    assert_eq!(doc["outcome"], "refused");
    assert!(doc["error"]
        .as_str()
        .unwrap()
        .contains("the gateway was not touched"));
    up.assert_same("the gateway was not touched");
    assert!(staging_dirs(&sb).is_empty(), "staging removed");
    assert_unlocked(&sb);
}

/// Fault 3: npm is SIGKILLed while staging.
#[test]
fn npm_killed_while_staging_is_refused_and_cleaned() {
    let sb = unmanaged("2026.9.4");
    let up = support::witness(sb.port);
    let child = spawn_update(&sb, &["--to", "2026.10.8"]);
    let npm_pid = || {
        sb.processes().into_iter().find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                String::from_utf8_lossy(&c).contains("npm")
                    && String::from_utf8_lossy(&c).contains("install")
            })
        })
    };
    // npm renames its own process soon after it starts: keep the pid found while waiting.
    let mut found = None;
    assert!(wait_for(Duration::from_secs(30), || {
        found = npm_pid();
        found.is_some()
    }));
    std::thread::sleep(Duration::from_millis(300));
    let pid = found.unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::SIGKILL,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(json_out(&out)["error"]
        .as_str()
        .unwrap()
        .contains("killed by a signal"));
    up.assert_same("the gateway was not touched");
    assert!(staging_dirs(&sb).is_empty(), "staging removed");
    assert_unlocked(&sb);
}

/// Fault 4: the disk of the prefix is full (a 4 MB tmpfs).
#[test]
fn full_disk_is_refused_before_staging() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(&sb.prefix).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(&sb.prefix)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(self.0).status();
        }
    }
    let _guard = Unmount(&sb.prefix);
    sb.install("2026.9.4");
    sb.config();
    sb.start_gateway();
    let up = support::witness(sb.port);
    let (code, doc, _) = update(&sb, &["--to", "2026.9.5"]);
    assert_eq!(code, 6, "{doc:#}");
    assert!(
        doc["error"].as_str().unwrap().contains("MB free"),
        "{doc:#}"
    );
    up.assert_same("the gateway was not touched");
}

/// Fault 7: the gateway ignores SIGTERM past the deadline: SIGKILL, then the update goes on.
#[test]
fn gateway_that_will_not_stop_is_killed() {
    let sb = Sandbox::new();
    sb.install("2026.9.4");
    sb.config();
    sb.start_gateway_with(&[("FAKE_OPENCLAW_SLOW_STOP_MS", "60000")], sb.port);
    let (code, doc, _) = update(&sb, &["--to", "2026.9.5", "--stop-timeout", "2"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(running(&sb).as_deref(), Some("2026.9.5"));
    let stop = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"].as_str().unwrap().starts_with("stop"))
        .unwrap();
    assert!(stop["duration_ms"].as_u64().unwrap() >= 2000, "{stop:#}");
}

/// Fault 13: clawkit is SIGKILLed in the outage window; the next clawkit notices and
/// `clawkit resume` ends the orphaned migration, undoes the update and verifies the old version.
#[test]
fn sigkill_in_the_outage_window_is_resumed() {
    let sb = unmanaged("2026.9.4");
    let before = state_hash(&sb.state_dir());
    let mut child = spawn_update(&sb, &["--to", "2026.10.9"]);
    let record = install_record(&sb);
    // Kill while the (slow) migration runs: the record shows a pending state change.
    assert!(wait_for(Duration::from_secs(60), || record_changes(
        &record
    )
    .last()
    .is_some_and(|c| c == "state…")));
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(running(&sb).is_none(), "the gateway is down after the kill");
    let status = sb.clawkit().args(["status", "--json"]).output().unwrap();
    assert_eq!(status.status.code(), Some(3));
    let doc = json_out(&status);
    assert_eq!(doc["verdict"], "interrupted", "{doc:#}");
    assert!(
        doc["interrupted_update"]
            .as_str()
            .unwrap()
            .contains("2026.9.4-to-2026.10.9"),
        "{doc:#}"
    );
    assert_eq!(doc["interrupted"][0]["command"], "update", "{doc:#}");
    let doctor = json_out(&sb.clawkit().args(["doctor", "--json"]).output().unwrap());
    let check = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "interrupted")
        .unwrap()
        .clone();
    assert_eq!(check["status"], "fail", "{check:#}");
    assert!(
        check["fix"].as_str().unwrap().contains("clawkit resume"),
        "{check:#}"
    );
    let out = sb.clawkit().args(["resume", "--json"]).output().unwrap();
    support::assert_no_secret(&out);
    let doc = json_out(&out);
    assert_eq!(out.status.code(), Some(4), "{doc:#}");
    assert_eq!(doc["outcome"], "rolled-back", "{doc:#}");
    // The migration the killed clawkit had started was still running: the resume ended it first.
    let steps = doc["resumed"][0]["steps"].as_array().unwrap();
    assert!(
        steps
            .iter()
            .any(|s| s["name"] == "resume: stop the orphaned OpenClaw command"),
        "{doc:#}"
    );
    // It took a safety backup of what was there before restoring the old one.
    assert!(
        steps
            .iter()
            .any(|s| s["name"].as_str().unwrap().starts_with("resume: back up")),
        "{doc:#}"
    );
    assert_eq!(running(&sb).as_deref(), Some("2026.9.4"));
    assert_eq!(cli_version(&sb), "2026.9.4");
    assert_eq!(state_hash(&sb.state_dir()), before);
    assert!(!record.exists());
    let status = json_out(&sb.clawkit().args(["status", "--json"]).output().unwrap());
    assert_eq!(status["interrupted_update"], Value::Null);
    assert_eq!(status["verdict"], "ok");
    assert_unlocked(&sb);
}

/// Fault 15: a lock held by a clawkit that was then killed does not block: the OS releases it.
#[test]
fn lock_of_a_killed_clawkit_is_taken_over() {
    let sb = unmanaged("2026.9.4");
    let dir = sb.state_dir().join("clawkit");
    std::fs::create_dir_all(&dir).unwrap();
    let lock = dir.join("lock");
    // A real holder of the lock: a process with an exclusive flock on the file.
    let mut holder = Command::new("flock")
        .arg("--exclusive")
        .arg(&lock)
        .args(["sleep", "60"])
        .process_group(0)
        .spawn()
        .unwrap();
    assert!(wait_for(Duration::from_secs(60), || {
        use fs4::fs_std::FileExt;
        std::fs::File::open(&lock).is_ok_and(|f| !f.try_lock_exclusive().unwrap_or(true))
    }));
    let (code, doc, _) = update(&sb, &["--to", "2026.9.5"]);
    assert_eq!(code, 5, "held: {doc:#}");
    assert_eq!(doc["outcome"], "locked");
    assert_eq!(running(&sb).as_deref(), Some("2026.9.4"));
    // SIGKILL the holder (and its child): the lock dies with it.
    nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(holder.id() as i32),
        nix::sys::signal::SIGKILL,
    )
    .unwrap();
    holder.wait().unwrap();
    let (code, doc, _) = update(&sb, &["--to", "2026.9.5"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_unlocked(&sb);
}

/// Fault 16: `lib/node_modules/.openclaw-*` left by a crashed npm.
#[test]
fn npm_leftovers_are_cleaned() {
    let sb = unmanaged("2026.9.4");
    let leftover = sb.prefix.join("lib/node_modules/.openclaw-Xy12Ab");
    std::fs::create_dir_all(leftover.join("dist")).unwrap();
    let (code, doc, _) = update(&sb, &["--to", "2026.9.5"]);
    assert_eq!(code, 0, "{doc:#}");
    assert!(!leftover.exists());
    assert!(doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "clean up earlier leftovers"));
}

/// Fault 17: a corrupt JSON-era paired.json is backed up byte for byte before any migration.
#[test]
fn corrupt_paired_json_is_kept_in_the_backup() {
    let sb = unmanaged("2026.7.1");
    let devices = sb.state_dir().join("devices");
    std::fs::create_dir_all(&devices).unwrap();
    let corrupt = b"{\"dev1\": {\"tokens\": ";
    std::fs::write(devices.join("paired.json"), corrupt).unwrap();
    std::fs::set_permissions(
        devices.join("paired.json"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let (code, doc, _) = update(&sb, &["--to", "2026.9.5"]);
    assert_eq!(code, 0, "{doc:#}");
    let copy = Path::new(doc["backup"].as_str().unwrap()).join("files/devices/paired.json");
    assert_eq!(std::fs::read(&copy).unwrap(), corrupt);
    assert_eq!(
        std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

/// Fault 18: another program takes the port while the gateway is stopped.
#[test]
fn port_taken_in_the_outage_window() {
    let sb = unmanaged("2026.9.4");
    let before = state_hash(&sb.state_dir());
    let child = spawn_update(&sb, &["--to", "2026.10.9"]);
    assert!(wait_for(Duration::from_secs(60), || sb
        .startupz()
        .is_none()));
    let mut squatter = None;
    assert!(wait_for(Duration::from_secs(60), || {
        squatter = std::net::TcpListener::bind(("127.0.0.1", sb.port)).ok();
        squatter.is_some()
    }));
    let out = child.wait_with_output().unwrap();
    drop(squatter);
    let doc = json_out(&out);
    assert_eq!(out.status.code(), Some(1), "{doc:#}");
    assert!(
        doc["error"].as_str().unwrap().contains("already in use"),
        "{doc:#}"
    );
    assert!(
        doc["fix"].as_str().unwrap().contains("start the gateway"),
        "manual steps: {doc:#}"
    );
    assert_eq!(cli_version(&sb), "2026.9.4", "the package was swapped back");
    assert_eq!(
        state_hash(&sb.state_dir()),
        before,
        "the state was restored"
    );
    assert_unlocked(&sb);
}

/// Fault 19: a downgrade onto a config written by the newer release restores the older state.
#[test]
fn downgrade_restores_the_matching_backup() {
    let sb = unmanaged("2026.9.4");
    let before = std::fs::read(sb.state_dir().join("openclaw.json")).unwrap();
    let (code, _, _) = update(&sb, &["--to", "2026.9.5"]);
    assert_eq!(code, 0);
    let (code, doc, _) = update(&sb, &["--to", "2026.9.4"]);
    assert_eq!(code, 6, "refused without --allow-downgrade: {doc:#}");
    let (code, doc, _) = update(&sb, &["--to", "2026.9.4", "--allow-downgrade"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(running(&sb).as_deref(), Some("2026.9.4"));
    assert_eq!(
        std::fs::read(sb.state_dir().join("openclaw.json")).unwrap(),
        before
    );
    assert!(doc["steps"].as_array().unwrap().iter().any(|s| s["name"]
        .as_str()
        .unwrap()
        .starts_with("restore the 2026.9.4 state")));
}

#[test]
fn in_place_update_and_its_rollback() {
    let sb = unmanaged("2026.9.4");
    let (code, doc, _) = update(&sb, &["--to", "2026.9.5", "--in-place"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(running(&sb).as_deref(), Some("2026.9.5"));
    assert!(
        !sb.prefix.join("lib/clawkit/previous").exists(),
        "in place keeps no copy"
    );
    let before = state_hash(&sb.state_dir());
    let (code, doc, _) = update(&sb, &["--to", "2026.10.1", "--in-place"]);
    assert_eq!(code, 4, "{doc:#}");
    assert!(doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "undo: reinstall 2026.9.5"));
    assert_eq!(running(&sb).as_deref(), Some("2026.9.5"));
    assert_eq!(state_hash(&sb.state_dir()), before);
}

/// Hostile arguments are refused before anything runs: each argument-shaped error is a usage
/// error (exit 2) from the argument parser, before the snapshot, the lock or the resume of an
/// interrupted operation; only a request that is well formed but wrong for this machine gets as
/// far as the preflight (exit 6). An interrupted operation waits throughout, so a check that
/// moved behind the resume would change its record and the journal.
#[test]
fn hostile_arguments_are_refused() {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::process::ExitStatusExt;
    let sb = unmanaged("2026.9.4");
    // An interrupted `reset devices`, killed once its stop was logged (the gateway still runs):
    // any mutating command would resume it first.
    let out = sb
        .clawkit()
        .env("CLAWKIT_TEST_FAULT", "sigkill@1")
        .args(["reset", "devices", "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(9), "{out:?}");
    let record = support::profile_record(&sb);
    assert_eq!(record_changes(&record), ["stop…"]);
    let record_before = std::fs::read(&record).unwrap();
    let journal = sb.state_dir().join("clawkit/journal.jsonl");
    let journal_before = std::fs::read(&journal).unwrap();
    let long = "9".repeat(10_000);
    let non_utf8 = std::ffi::OsStr::from_bytes(b"/tmp/\xff\xfe/openclaw.tgz");
    let empty_prefix = sb.dir.path().join("empty-prefix");
    std::fs::create_dir_all(&empty_prefix).unwrap();
    let os = |v: &[&std::ffi::OsStr]| v.iter().map(|a| a.to_os_string()).collect::<Vec<_>>();
    let s = |a: &'static str| std::ffi::OsStr::new(a);
    // (arguments, the exact exit code, what the refusal must name: the value at fault)
    let cases: Vec<(Vec<std::ffi::OsString>, i32, &str)> = vec![
        (
            os(&[s("update"), s("--to"), s("`reboot`"), s("--yes")]),
            2,
            "--to",
        ),
        (
            os(&[s("update"), s("--to"), s("latest && curl x"), s("--yes")]),
            2,
            "--to",
        ),
        (
            os(&[s("update"), s("--to"), long.as_ref(), s("--yes")]),
            2,
            "--to",
        ),
        (
            os(&[s("update"), s("--package"), s("; rm -rf /"), s("--yes")]),
            2,
            "--package",
        ),
        (
            os(&[s("update"), s("--package"), non_utf8, s("--yes")]),
            2,
            "invalid UTF-8",
        ),
        (
            os(&[
                s("update"),
                s("--prefix"),
                non_utf8,
                s("--to"),
                s("2026.9.5"),
                s("--yes"),
            ]),
            2,
            "invalid UTF-8",
        ),
        (
            os(&[s("status"), s("--profile"), s("$(id)")]),
            2,
            "--profile",
        ),
        (
            os(&[s("doctor"), s("--profile"), long.as_ref()]),
            2,
            "--profile",
        ),
        (
            os(&[s("rollback"), s("--to"), s("../../etc"), s("--yes")]),
            2,
            "--to",
        ),
        (
            os(&[
                s("backups"),
                s("restore"),
                s("../../../etc/passwd"),
                s("--yes"),
            ]),
            2,
            "no backup has an id starting with",
        ),
        // Well formed, but no backup has it: still a usage error, still before the resume.
        (
            os(&[
                s("backups"),
                s("restore"),
                s("20990101T000000Z"),
                s("--yes"),
            ]),
            2,
            "no backup has an id starting with",
        ),
    ];
    let up = support::witness(sb.port);
    for (args, want, names) in cases {
        let out = sb.clawkit().args(&args).output().unwrap();
        let code = out.status.code().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(code, want, "{args:?}: {err}");
        assert!(err.contains(names), "{args:?}: names {names}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(
            err.len() < 4000,
            "{args:?}: the message echoes the whole value"
        );
        assert!(
            std::fs::read(&record).is_ok_and(|r| r == record_before),
            "{args:?}: the interrupted operation was resumed: {err}"
        );
        assert_eq!(
            std::fs::read(&journal).unwrap(),
            journal_before,
            "{args:?}: nothing journalled"
        );
    }
    up.assert_same("no command touched the gateway");
    // Well formed, but this prefix holds no OpenClaw: only the preflight can tell (exit 6), and
    // (as every mutating command does) it resumed the interrupted operation first.
    let prefix = empty_prefix.as_os_str();
    let out = sb
        .clawkit()
        .args(os(&[
            s("update"),
            s("--prefix"),
            prefix,
            s("--to"),
            s("2026.9.5"),
            s("--yes"),
        ]))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!empty_prefix.join("lib/node_modules/openclaw").exists());
    assert_eq!(running(&sb).as_deref(), Some("2026.9.4"));
    assert_eq!(cli_version(&sb), "2026.9.4");
}

/// Fault 12: Ctrl-C while the gateway is being stopped: the stop completes (half-stopped is the
/// one state to avoid), then the transaction undoes: the old gateway runs again.
#[test]
fn ctrl_c_during_the_stop_undoes_to_a_running_gateway() {
    let sb = Sandbox::new();
    sb.install("2026.9.4");
    sb.config();
    sb.start_gateway_with(&[("FAKE_OPENCLAW_SLOW_STOP_MS", "3000")], sb.port);
    let before = state_hash(&sb.state_dir());
    let child = spawn_update(&sb, &["--to", "2026.9.5"]);
    // The stop has begun when the record logs it; the gateway is still up for ~3 s.
    let record = install_record(&sb);
    assert!(wait_for(Duration::from_secs(60), || record_changes(
        &record
    )
    .first()
    .is_some_and(|c| c == "stop…")));
    std::thread::sleep(Duration::from_millis(500));
    support::sigint(&child);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains("undoing the changes so the gateway is not left stopped"),
        "{err}"
    );
    assert_eq!(running(&sb).as_deref(), Some("2026.9.4"));
    assert_eq!(cli_version(&sb), "2026.9.4");
    assert_eq!(state_hash(&sb.state_dir()), before);
    assert!(!record.exists());
    assert_unlocked(&sb);
}

/// Fault 12: Ctrl-C while a failed update is being undone: the undo finishes.
#[test]
fn ctrl_c_during_the_undo_finishes_it() {
    let sb = unmanaged("2026.9.4");
    let before = state_hash(&sb.state_dir());
    let child = spawn_update(&sb, &["--to", "2026.10.1", "--no-rehearsal"]);
    let journal = sb.state_dir().join("clawkit/journal.jsonl");
    assert!(wait_for(Duration::from_secs(60), || {
        std::fs::read_to_string(&journal).is_ok_and(|j| j.contains("\"undoing\""))
    }));
    support::sigint(&child);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert_eq!(running(&sb).as_deref(), Some("2026.9.4"));
    assert_eq!(state_hash(&sb.state_dir()), before);
    assert_unlocked(&sb);
}

/// Issue 13 #5, for SIGTERM (a service manager, `kill`, a container stop): in the outage window it
/// is handled like Ctrl-C and SIGHUP: the migration is cut short, every change undone, and the old
/// gateway verified serving again.
#[test]
fn sigterm_in_the_outage_window_undoes_to_a_running_gateway() {
    let sb = unmanaged("2026.9.4");
    let before = state_hash(&sb.state_dir());
    let child = spawn_update(&sb, &["--to", "2026.10.9"]);
    let record = install_record(&sb);
    // The (slow) migration runs: the record shows a pending state change.
    assert!(wait_for(Duration::from_secs(60), || record_changes(
        &record
    )
    .last()
    .is_some_and(|c| c == "state…")));
    std::thread::sleep(Duration::from_millis(300));
    support::signal(&child, nix::sys::signal::SIGTERM);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains("SIGTERM received: undoing the changes so the gateway is not left stopped"),
        "{err}"
    );
    let doc = json_out(&out);
    assert_eq!(doc["outcome"], "rolled-back", "{doc:#}");
    assert!(
        doc["error"].as_str().unwrap().contains("SIGTERM"),
        "{doc:#}"
    );
    assert_eq!(running(&sb).as_deref(), Some("2026.9.4"));
    assert_eq!(cli_version(&sb), "2026.9.4");
    assert_eq!(state_hash(&sb.state_dir()), before);
    assert!(!record.exists(), "no in-flight record is left");
    assert_unlocked(&sb);
}

/// Issue 14 item 1: "a second Ctrl-C aborts and says what it left". The first SIGINT arrives while
/// a crashed update is being undone, the second while the undo waits for the old gateway to come
/// back: clawkit exits at once (128 + the signal, the README's exit codes), names what is really
/// left (the package and the state are already back), and the record stays: `status` reports the
/// interrupted update and `clawkit resume`, run at once, finishes it.
#[test]
fn a_second_signal_during_the_undo_aborts_and_says_what_it_left() {
    let sb = Sandbox::new();
    sb.install("2026.9.4");
    sb.config();
    // The old gateway takes 6 s to become healthy: the undo's restart of it is a wide window.
    sb.start_gateway_with(&[("FAKE_OPENCLAW_STARTUP_MS", "6000")], sb.port);
    let before = state_hash(&sb.state_dir());
    let child = spawn_update(&sb, &["--to", "2026.10.1", "--no-rehearsal"]);
    let journal = sb.state_dir().join("clawkit/journal.jsonl");
    assert!(wait_for(Duration::from_secs(60), || {
        std::fs::read_to_string(&journal).is_ok_and(|j| j.contains("\"undoing\""))
    }));
    support::sigint(&child);
    // The crashed 2026.10.1 never listens: a gateway answering `starting` is the old one that the
    // undo restarted.
    assert!(wait_for(Duration::from_secs(60), || sb
        .startupz()
        .is_some_and(|v| v["status"] == "starting")));
    support::sigint(&child);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "128 + SIGINT: {err}");
    assert!(err.contains("aborted by a second signal"), "{err}");
    assert!(
        err.contains(&format!(
            "Left behind: the gateway on port {} may be stopped.",
            sb.port
        )),
        "{err}"
    );
    // What the undo had already put back is not claimed to be left.
    assert!(!err.contains("holds the new package"), "{err}");
    assert!(!err.contains("the state was changed"), "{err}");
    assert!(err.contains("`clawkit resume`"), "{err}");
    let record = install_record(&sb);
    assert!(record.exists(), "the record stays for `clawkit resume`");
    let status = sb.clawkit().args(["status", "--json"]).output().unwrap();
    let doc = json_out(&status);
    assert_eq!(status.status.code(), Some(3), "{doc:#}");
    assert_eq!(doc["verdict"], "interrupted", "{doc:#}");
    assert_eq!(doc["interrupted"][0]["command"], "update", "{doc:#}");
    assert!(
        doc["fix"].as_str().unwrap().contains("clawkit resume"),
        "{doc:#}"
    );
    // Resumed at once, while the old gateway is still starting.
    let out = sb.clawkit().args(["resume", "--json"]).output().unwrap();
    let doc = json_out(&out);
    assert!(
        matches!(out.status.code(), Some(0 | 4)),
        "{doc:#}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(running(&sb).as_deref(), Some("2026.9.4"));
    assert_eq!(cli_version(&sb), "2026.9.4");
    assert_eq!(state_hash(&sb.state_dir()), before);
    assert!(!record.exists());
    assert_unlocked(&sb);
}

/// Issue 14 item 1, for an operation other than `update`: `reset devices` is SIGKILLed after it
/// stopped the gateway and removed the device state. `status` and `doctor` name the interrupted
/// `reset devices`, and the next mutating command (`repair lock` here) first finishes its undo:
/// the device state comes back byte for byte and the gateway serves again.
#[test]
fn sigkill_of_reset_devices_is_named_and_undone_by_the_next_command() {
    let sb = unmanaged("2026.7.1");
    // The CLI pairs itself: there are devices and an identity to remove.
    let call = Command::new("node")
        .arg(sb.prefix.join("bin/openclaw"))
        .args(["gateway", "call", "status", "--json"])
        .env_clear()
        .envs(sb.env())
        .output()
        .unwrap();
    assert!(call.status.success());
    let before = state_hash(&sb.state_dir());
    assert!(sb.state_dir().join("devices/paired.json").exists());
    // Boundary 6: stop, backup and the removal of the device state are all done.
    let out = sb
        .clawkit()
        .env("CLAWKIT_TEST_FAULT", "sigkill@6")
        .args(["reset", "devices", "--yes"])
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(9), "{out:?}");
    let record = support::profile_record(&sb);
    assert_eq!(
        record_changes(&record),
        ["stop", "backup", "state"],
        "killed with the device state removed"
    );
    assert!(!sb.state_dir().join("devices").exists());
    assert!(running(&sb).is_none(), "the gateway is down after the kill");

    let status = sb.clawkit().args(["status", "--json"]).output().unwrap();
    let doc = json_out(&status);
    assert_eq!(status.status.code(), Some(3), "{doc:#}");
    assert_eq!(doc["verdict"], "interrupted", "{doc:#}");
    assert_eq!(doc["interrupted"][0]["command"], "reset devices", "{doc:#}");
    assert!(
        doc["message"]
            .as_str()
            .unwrap()
            .contains("`clawkit reset devices`"),
        "{doc:#}"
    );
    assert_eq!(doc["fix"], "clawkit resume", "{doc:#}");
    let text = sb.clawkit().arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&text.stderr);
    assert!(
        text.contains("`clawkit reset devices`") && text.contains("was interrupted"),
        "{text}"
    );
    let doctor = json_out(&sb.clawkit().args(["doctor", "--json"]).output().unwrap());
    let check = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "interrupted")
        .unwrap_or_else(|| panic!("no interrupted check: {doctor:#}"))
        .clone();
    assert_eq!(check["status"], "fail", "{check:#}");
    assert_eq!(check["evidence"]["command"], "reset devices", "{check:#}");
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .contains("`clawkit reset devices`"),
        "{check:#}"
    );
    assert!(
        check["fix"].as_str().unwrap().contains("clawkit resume"),
        "{check:#}"
    );

    // The next mutating command finishes the undo first.
    let out = sb.clawkit().args(["repair", "lock"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("an earlier `clawkit reset devices`")
            && err.contains("the interrupted `clawkit reset devices` was undone"),
        "{err}"
    );
    assert_eq!(running(&sb).as_deref(), Some("2026.7.1"));
    assert_eq!(
        state_hash(&sb.state_dir()),
        before,
        "the device state is back"
    );
    assert!(!record.exists());
    let status = json_out(&sb.clawkit().args(["status", "--json"]).output().unwrap());
    assert_eq!(status["verdict"], "ok", "{status:#}");
    assert_eq!(status["interrupted"], serde_json::json!([]));
    assert_unlocked(&sb);
}

/// Issue 13 #3, the other half: a backup that fails half-way (after the stop) is deleted before
/// the gateway is started again, so it never starves the gateway of disk. Provoked without root:
/// the last entry of the state dir is a link to `/proc/self/mem`, which reads as EIO, so the copy
/// fails after the config and a session file were copied.
#[test]
fn a_backup_failing_half_way_is_removed_before_the_restart() {
    let sb = Sandbox::new();
    sb.install("2026.9.4");
    sb.config();
    let sessions = sb.state_dir().join("agents/main/sessions");
    std::fs::create_dir_all(&sessions).unwrap();
    std::fs::write(sessions.join("s1.jsonl"), vec![b'x'; 256 * 1024]).unwrap();
    std::os::unix::fs::symlink("/proc/self/mem", sb.state_dir().join("zz-unreadable")).unwrap();
    sb.start_gateway();
    let before = state_hash(&sb.state_dir());
    let (code, doc, _) = update(&sb, &["--to", "2026.9.5", "--no-rehearsal"]);
    assert_eq!(code, 4, "{doc:#}");
    let names: Vec<&str> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    let backup = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"].as_str().unwrap().starts_with("back up"))
        .unwrap_or_else(|| panic!("no backup step: {doc:#}"));
    assert_eq!(backup["status"], "failed", "{doc:#}");
    let error = doc["error"].as_str().unwrap();
    assert!(
        error.contains("cannot back up") && error.contains("zz-unreadable"),
        "{doc:#}"
    );
    assert!(
        error.contains("the backup failed and its partial copy") && error.contains("was removed"),
        "{doc:#}"
    );
    // The gateway was stopped first (the failure is inside the outage), then started again.
    let stop = names.iter().position(|n| n.starts_with("stop")).unwrap();
    let back_up = names.iter().position(|n| n.starts_with("back up")).unwrap();
    let restart = names
        .iter()
        .position(|n| n.starts_with("undo: start"))
        .unwrap_or_else(|| panic!("{names:?}"));
    assert!(stop < back_up && back_up < restart, "{names:?}");
    let backups = sb.state_dir().join("clawkit/backups");
    let left: Vec<_> = std::fs::read_dir(&backups)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "the partial backup is gone: {left:?}");
    assert_eq!(running(&sb).as_deref(), Some("2026.9.4"));
    assert_eq!(cli_version(&sb), "2026.9.4");
    assert_eq!(state_hash(&sb.state_dir()), before);
    assert!(!install_record(&sb).exists());
    assert_unlocked(&sb);
}
