//! The Ansible role: a rolling update across several "hosts" on this machine (each its own HOME,
//! state dir and port, gateways run by the fake OpenClaw), and a broken canary that stops the
//! rollout. ansible-core comes from PyPI into a virtualenv under target/ (once).

mod support;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

use support::Sandbox;

fn ansible_playbook() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let venv = support::repo().join("target/ansible-venv");
        let bin = venv.join("bin/ansible-playbook");
        if !bin.exists() {
            let ok = Command::new("python3")
                .arg("-m")
                .arg("venv")
                .arg(&venv)
                .status()
                .unwrap()
                .success()
                && Command::new(venv.join("bin/pip"))
                    .args(["install", "--quiet", "ansible-core"])
                    .status()
                    .unwrap()
                    .success();
            assert!(
                ok,
                "could not install ansible-core from PyPI into {}",
                venv.display()
            );
        }
        bin
    })
    .clone()
}

fn inventory(hosts: &[Sandbox], dir: &std::path::Path) -> PathBuf {
    let python = support::repo().join("target/ansible-venv/bin/python");
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

fn playbook(play: &str, inv: &PathBuf, extra: &[&str], home: &std::path::Path) -> Output {
    Command::new(ansible_playbook())
        .arg("-i")
        .arg(inv)
        .arg(support::repo().join("ansible").join(play))
        .arg("-e")
        .arg(format!(
            "clawkit_bin={}",
            assert_cmd::cargo::cargo_bin("clawkit").display()
        ))
        .args(extra.iter().flat_map(|e| ["-e", e]))
        .env("HOME", home)
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_LOCAL_TEMP", home.join("tmp"))
        .output()
        .unwrap()
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

#[test]
fn rolling_update_succeeds_across_the_fleet_and_check_reports_it() {
    let hosts = fleet(3);
    let t = tempfile::tempdir().unwrap();
    let inv = inventory(&hosts, t.path());
    let out = playbook(
        "update.yml",
        &inv,
        &["clawkit_to=2026.9.5", "{\"clawkit_batches\": [1, 2]}"],
        t.path(),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for sb in &hosts {
        assert_eq!(version(sb).as_deref(), Some("2026.9.5"));
    }
    assert!(text.contains("updated 2026.9.4 -> 2026.9.5"), "{text}");
    let check = playbook("check.yml", &inv, &[], t.path());
    let table = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{table}");
    assert_eq!(
        table.matches("ok             2026.9.5").count(),
        3,
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
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("refused") && text.contains("rehearsal"),
        "the canary's report names the outcome: {text}"
    );
    // The canary's rehearsal refused the release: its gateway was never stopped.
    assert_eq!(version(&hosts[0]).as_deref(), Some("2026.9.4"));
    assert!(hosts[0].startupz().unwrap()["uptimeMs"].as_u64().unwrap() > uptimes[0]);
    let journal =
        std::fs::read_to_string(hosts[0].state_dir().join("clawkit/journal.jsonl")).unwrap();
    assert!(journal.lines().last().unwrap().contains("\"refused\""));
    // The others were never touched: same gateway processes, no journal.
    for (sb, before) in hosts.iter().zip(&uptimes).skip(1) {
        assert_eq!(version(sb).as_deref(), Some("2026.9.4"));
        assert!(sb.startupz().unwrap()["uptimeMs"].as_u64().unwrap() > *before);
        assert!(!sb.state_dir().join("clawkit/journal.jsonl").exists());
    }
}
