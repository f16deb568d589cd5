//! The Ansible role: a rolling update across several "hosts" on this machine (each its own HOME,
//! state dir and port, gateways run by the fake OpenClaw), `--check` as a dry run, `changed` only
//! when a version changes, a failed host on any non-zero exit, a broken canary that stops the
//! rollout, and `ansible-lint --profile production`. ansible-core and ansible-lint (pinned) come
//! from PyPI into a virtualenv under target/ (once).

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use support::Sandbox;

const ANSIBLE: &[&str] = &["ansible-core==2.19.14", "ansible-lint==26.10.1"];

/// The virtualenv's bin directory, with ansible-playbook and ansible-lint installed.
fn venv_bin() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let venv = support::repo().join("target/ansible-venv");
        let bin = venv.join("bin");
        if !bin.join("ansible-playbook").exists() || !bin.join("ansible-lint").exists() {
            let ok = Command::new("python3")
                .arg("-m")
                .arg("venv")
                .arg(&venv)
                .status()
                .unwrap()
                .success()
                && Command::new(bin.join("pip"))
                    .args(["install", "--quiet", "--disable-pip-version-check"])
                    .args(ANSIBLE)
                    .status()
                    .unwrap()
                    .success();
            assert!(
                ok,
                "could not install {ANSIBLE:?} from PyPI into {}",
                venv.display()
            );
        }
        bin
    })
    .clone()
}

fn inventory(hosts: &[Sandbox], dir: &Path) -> PathBuf {
    let python = venv_bin().join("python");
    let mut y = String::from("all:\n  hosts:\n");
    for (i, sb) in hosts.iter().enumerate() {
        y.push_str(&format!(
            "    gw{i}:\n      ansible_connection: local\n      ansible_python_interpreter: {}\n      clawkit_environment:\n",
            python.display()
        ));
        for (k, v) in sb.env() {
            y.push_str(&format!(
                "        {}: {:?}\n",
                k.to_string_lossy(),
                v.to_string_lossy()
            ));
        }
    }
    let p = dir.join("inventory.yml");
    std::fs::write(&p, y).unwrap();
    p
}

/// `ansible-playbook -i INV ansible/PLAY -e clawkit_bin=… ARGS…` (extra vars as `-e`, other
/// arguments such as `--check` as given).
fn playbook(play: &str, inv: &Path, args: &[&str], home: &Path) -> Output {
    let mut c = Command::new(venv_bin().join("ansible-playbook"));
    c.arg("-i")
        .arg(inv)
        .arg(support::repo().join("ansible").join(play))
        .arg("-e")
        .arg(format!(
            "clawkit_bin={}",
            assert_cmd::cargo::cargo_bin("clawkit").display()
        ));
    for a in args {
        if a.starts_with("--") {
            c.arg(a);
        } else {
            c.args(["-e", a]);
        }
    }
    c.env("HOME", home)
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_LOCAL_TEMP", home.join("tmp"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn show(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The PLAY RECAP: host → (changed, failed).
fn recap(out: &Output) -> BTreeMap<String, (u32, u32)> {
    let text = String::from_utf8_lossy(&out.stdout);
    let count = |line: &str, key: &str| -> u32 {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {line:?}"))
    };
    text.lines()
        .skip_while(|l| !l.starts_with("PLAY RECAP"))
        .skip(1)
        .filter(|l| l.contains(" : ok="))
        .map(|l| {
            let host = l.split_whitespace().next().unwrap().to_string();
            (host, (count(l, "changed="), count(l, "failed=")))
        })
        .collect()
}

fn fleet(n: usize) -> Vec<Sandbox> {
    (0..n)
        .map(|_| {
            let sb = Sandbox::new();
            sb.install("2026.9.4");
            sb.config();
            sb.start_gateway();
            sb
        })
        .collect()
}

fn version(sb: &Sandbox) -> Option<String> {
    sb.startupz()
        .and_then(|v| v["version"].as_str().map(String::from))
}

fn journal(sb: &Sandbox) -> PathBuf {
    sb.state_dir().join("clawkit/journal.jsonl")
}

#[test]
fn rolling_update_succeeds_across_the_fleet_and_reports_changed_once() {
    let hosts = fleet(3);
    let t = tempfile::tempdir().unwrap();
    let inv = inventory(&hosts, t.path());
    let batches = "{\"clawkit_batches\": [1, 2]}";
    let out = playbook(
        "update.yml",
        &inv,
        &["clawkit_to=2026.9.5", batches],
        t.path(),
    );
    let text = show(&out);
    assert!(out.status.success(), "{text}");
    for sb in &hosts {
        assert_eq!(version(sb).as_deref(), Some("2026.9.5"));
    }
    // One line per host: outcome, versions and the outage in milliseconds.
    for i in 0..3 {
        let line = text
            .lines()
            .find(|l| l.contains(&format!("gw{i}: updated 2026.9.4 -> 2026.9.5, outage ")))
            .unwrap_or_else(|| panic!("no report line for gw{i}:\n{text}"));
        assert!(
            line.trim_end().trim_end_matches('"').ends_with(" ms"),
            "{line}"
        );
    }
    let r = recap(&out);
    assert_eq!(r.len(), 3, "{text}");
    assert!(
        r.values()
            .all(|&(changed, failed)| changed == 1 && failed == 0),
        "{r:?}\n{text}"
    );

    // Again: already current everywhere, nothing changed, no outage ("none", not blank).
    let again = playbook(
        "update.yml",
        &inv,
        &["clawkit_to=2026.9.5", batches],
        t.path(),
    );
    let text = show(&again);
    assert!(again.status.success(), "{text}");
    assert_eq!(
        text.matches("already-current 2026.9.5 -> 2026.9.5, outage none")
            .count(),
        3,
        "{text}"
    );
    let r = recap(&again);
    assert!(
        r.values()
            .all(|&(changed, failed)| changed == 0 && failed == 0),
        "{r:?}\n{text}"
    );

    let check = playbook("check.yml", &inv, &[], t.path());
    let table = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{}", show(&check));
    assert_eq!(
        table.matches("ok             2026.9.5").count(),
        3,
        "{table}"
    );
}

#[test]
fn check_mode_is_a_dry_run_that_changes_nothing() {
    let hosts = fleet(2);
    let t = tempfile::tempdir().unwrap();
    let inv = inventory(&hosts, t.path());
    let witnesses: Vec<_> = hosts.iter().map(|sb| support::witness(sb.port)).collect();
    let out = playbook(
        "update.yml",
        &inv,
        &["--check", "clawkit_to=2026.9.5"],
        t.path(),
    );
    let text = show(&out);
    assert!(out.status.success(), "{text}");
    assert_eq!(
        text.matches("planned 2026.9.4 -> 2026.9.5, outage none (dry run: nothing was changed)")
            .count(),
        2,
        "{text}"
    );
    // Reported as a change (what a real run would do), made nowhere: the same gateway
    // processes, the old version, no journal, no backup, nothing staged.
    let r = recap(&out);
    assert!(
        r.values()
            .all(|&(changed, failed)| changed == 1 && failed == 0),
        "{r:?}\n{text}"
    );
    for (sb, w) in hosts.iter().zip(&witnesses) {
        w.assert_same("ansible-playbook --check");
        assert_eq!(version(sb).as_deref(), Some("2026.9.4"));
        assert_eq!(support::cli_version(sb), "2026.9.4");
        assert!(!journal(sb).exists());
        assert!(!sb.state_dir().join("clawkit/backups").exists());
        assert!(support::staging_dirs(sb).is_empty());
    }
    // check.yml is read-only, so it runs under --check too.
    let check = playbook("check.yml", &inv, &["--check"], t.path());
    let table = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{}", show(&check));
    assert_eq!(
        table.matches("ok             2026.9.4").count(),
        2,
        "{table}"
    );
}

#[test]
fn a_broken_release_stops_at_the_canary() {
    let hosts = fleet(3);
    let t = tempfile::tempdir().unwrap();
    let inv = inventory(&hosts, t.path());
    let uptimes: Vec<u64> = hosts
        .iter()
        .map(|sb| sb.startupz().unwrap()["uptimeMs"].as_u64().unwrap())
        .collect();
    let out = playbook("update.yml", &inv, &["clawkit_to=2026.10.1"], t.path());
    let text = show(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("refused (exit 6)") && text.contains("rehearsal"),
        "the canary's report names the outcome: {text}"
    );
    // Only the canary ran, and it failed.
    let r = recap(&out);
    assert_eq!(r.get("gw0"), Some(&(0, 1)), "{r:?}\n{text}");
    assert!(!r.contains_key("gw1") && !r.contains_key("gw2"), "{r:?}");
    // The canary's rehearsal refused the release: its gateway was never stopped.
    assert_eq!(version(&hosts[0]).as_deref(), Some("2026.9.4"));
    assert!(hosts[0].startupz().unwrap()["uptimeMs"].as_u64().unwrap() > uptimes[0]);
    let journal = std::fs::read_to_string(journal(&hosts[0])).unwrap();
    assert!(journal.lines().last().unwrap().contains("\"refused\""));
    // The others were never touched: same gateway processes, no journal.
    for (sb, before) in hosts.iter().zip(&uptimes).skip(1) {
        assert_eq!(version(sb).as_deref(), Some("2026.9.4"));
        assert!(sb.startupz().unwrap()["uptimeMs"].as_u64().unwrap() > *before);
        assert!(!sb.state_dir().join("clawkit/journal.jsonl").exists());
    }
}

/// A host whose CLI already is on the target but whose gateway still runs the old release
/// (a naive `npm install -g` under it): clawkit restarts the gateway, and that is a change too.
#[test]
fn a_skewed_host_is_restarted_and_reported_changed() {
    let hosts = fleet(1);
    hosts[0].npm_replace("2026.9.5");
    let t = tempfile::tempdir().unwrap();
    let inv = inventory(&hosts, t.path());
    let out = playbook("update.yml", &inv, &["clawkit_to=2026.9.5"], t.path());
    let text = show(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("gw0: restarted 2026.9.5 -> 2026.9.5, outage "),
        "{text}"
    );
    assert_eq!(recap(&out).get("gw0"), Some(&(1, 0)), "{text}");
    assert_eq!(version(&hosts[0]).as_deref(), Some("2026.9.5"));
}

/// Any non-zero exit fails the host with clawkit's message, also one that prints no JSON
/// (a usage error, exit 2, answers on stderr only).
#[test]
fn a_usage_error_fails_the_host_with_clawkits_message() {
    let host = Sandbox::new();
    let t = tempfile::tempdir().unwrap();
    let inv = inventory(std::slice::from_ref(&host), t.path());
    let out = playbook(
        "update.yml",
        &inv,
        &["{\"clawkit_to\": \"not a version\"}"],
        t.path(),
    );
    let text = show(&out);
    assert!(!out.status.success(), "{text}");
    assert_eq!(recap(&out).get("gw0"), Some(&(0, 1)), "{text}");
    assert!(text.contains("(exit 2)"), "{text}");
    assert!(
        text.contains("invalid value") && text.contains("not a version"),
        "{text}"
    );
}

#[test]
fn the_role_and_playbooks_pass_ansible_lint_production() {
    let dir = support::repo().join("ansible");
    let out = Command::new(venv_bin().join("ansible-lint"))
        .args([
            "--profile",
            "production",
            "--strict",
            "--offline",
            "--nocolor",
        ])
        .args(["update.yml", "check.yml", "roles/clawkit"])
        .current_dir(&dir)
        .env("PATH", {
            let mut p = std::ffi::OsString::from(venv_bin());
            p.push(":/usr/local/bin:/usr/bin:/bin");
            p
        })
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = show(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("Profile 'production' was required, and it passed"),
        "{text}"
    );
}
