//! The npm distribution: both packages pack, install offline from their tarballs, and run.

use std::path::Path;
use std::process::Command;

fn sh(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn packages_install_offline_and_run() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("npm");
    let bin = assert_cmd::cargo::cargo_bin("clawkit");
    let packed = sh(Command::new(repo.join("scripts/package-npm"))
        .arg("--binary")
        .arg(&bin)
        .arg("--out")
        .arg(&out));
    let tarballs: Vec<String> = String::from_utf8_lossy(&packed.stdout)
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(tarballs.len(), 2, "{tarballs:?}");
    let platform = tarballs
        .iter()
        .find(|t| t.contains("clawkit-linux") || t.contains("clawkit-darwin"))
        .unwrap();
    let launcher = tarballs.iter().find(|t| *t != platform).unwrap();
    let home = t.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let npm = |args: &[&str]| {
        let mut c = Command::new("npm");
        c.args([
            "--offline",
            "--no-audit",
            "--no-fund",
            "--no-update-notifier",
        ])
        .args(args)
        .env("HOME", &home)
        .env("npm_config_cache", t.path().join("cache"));
        c
    };
    // Global install: clawkit on the prefix's PATH.
    let g = t.path().join("global");
    sh(&mut npm(&[
        "install",
        "-g",
        "--prefix",
        g.to_str().unwrap(),
        platform,
        launcher,
    ]));
    let v = sh(Command::new(g.join("bin/clawkit")).arg("--version"));
    assert!(String::from_utf8_lossy(&v.stdout).starts_with("clawkit "));
    // Local install: the documented `npx clawkit doctor` path.
    let l = t.path().join("local");
    std::fs::create_dir_all(&l).unwrap();
    sh(&mut npm(&[
        "install",
        "--prefix",
        l.to_str().unwrap(),
        platform,
        launcher,
    ]));
    let mut npx = npm(&[
        "exec",
        "--prefix",
        l.to_str().unwrap(),
        "--",
        "clawkit",
        "doctor",
        "--json",
    ]);
    let d = npx.output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&d.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&d.stderr)));
    assert_eq!(doc["command"], "doctor");
    assert_eq!(
        d.status.code(),
        Some(3),
        "no OpenClaw in this HOME: problems found"
    );
}
