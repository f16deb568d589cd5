//! The shell alias, run by the real bash, zsh and fish over a table of command lines, and the
//! completions loaded by bash.

use std::path::PathBuf;
use std::process::Command;

use clawkit::commands::intercept::table::{self, Expect};

struct Bin {
    _dir: tempfile::TempDir,
    bin: PathBuf,
    log: PathBuf,
    /// Where the lines run: the table's fixtures.
    work: PathBuf,
    home: PathBuf,
}

/// A PATH with the real clawkit behind a wrapper that records `update` calls and exits 3 (so
/// the test sees the update's exit code come back), and fake npm, pnpm and bun that record
/// their arguments byte for byte and exit 7.
fn bin() -> Bin {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().canonicalize().unwrap();
    let bin = home.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = home.join("calls.log");
    let work = home.join("work");
    table::fixtures(&work).unwrap();
    let real = assert_cmd::cargo::cargo_bin("clawkit");
    let write = |name: &str, body: String| {
        let p = bin.join(name);
        std::fs::write(&p, body).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    write(
        "clawkit",
        format!(
            "#!/bin/sh\ncase \"$1\" in\n  update) echo \"clawkit $*\" >> {log}; exit 3;;\n  *) exec {real} \"$@\";;\nesac\n",
            log = log.display(),
            real = real.display()
        ),
    );
    for tool in ["npm", "pnpm", "bun"] {
        write(
            tool,
            format!(
                "#!/bin/sh\nprintf '%s' {tool} >> {log}\nfor a in \"$@\"; do printf ' %s' \"$a\" >> {log}; done\necho >> {log}\nexit 7\n",
                log = log.display()
            ),
        );
    }
    Bin {
        _dir: dir,
        bin,
        log,
        work,
        home,
    }
}

fn shells() -> Vec<&'static str> {
    let found: Vec<&str> = ["bash", "zsh", "fish"]
        .into_iter()
        .filter(|s| which::which(s).is_ok())
        .collect();
    if std::env::var_os("CI").is_some() {
        assert_eq!(
            found.len(),
            3,
            "CI must have bash, zsh and fish (.ci/run installs them)"
        );
    }
    found
}

/// Runs `line` in `shell` with the alias loaded: (exit code, what was called, stderr).
fn run_in(shell: &str, b: &Bin, line: &str, extra_env: &[(&str, &str)]) -> (i32, Vec<u8>, String) {
    let _ = std::fs::remove_file(&b.log);
    let script = match shell {
        "fish" => format!("clawkit shell-init fish | source; {line}"),
        _ => format!("eval \"$(clawkit shell-init {shell})\"; {line}"),
    };
    let path = format!("{}:/usr/bin:/bin", b.bin.display());
    let out = Command::new(shell)
        .arg("-c")
        .arg(&script)
        .current_dir(&b.work)
        .env_clear()
        .env("PATH", &path)
        .env("HOME", &b.home)
        .envs(extra_env.iter().copied())
        .output()
        .unwrap();
    let mut log = std::fs::read(&b.log).unwrap_or_default();
    if log.last() == Some(&b'\n') {
        log.pop();
    }
    (
        out.status.code().unwrap_or(-1),
        log,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Every row of the alias table, typed into every shell.
#[test]
fn every_table_row_in_every_shell() {
    let b = bin();
    let shells = shells();
    assert!(shells.contains(&"bash"));
    let rows = table::rows();
    assert!(rows.len() >= 40);
    for shell in shells {
        for row in &rows {
            let line = row.line;
            let (code, log, err) = run_in(shell, &b, line, &[]);
            let log = String::from_utf8_lossy(&log);
            match &row.expect {
                Expect::Update(_) => {
                    let want = format!("clawkit {}", row.argv(&b.work, &b.home).unwrap().join(" "));
                    assert_eq!(log, want, "{shell}: {line}: {err}");
                    assert_eq!(
                        code, 3,
                        "{shell}: {line}: the update's exit code comes back"
                    );
                    assert!(
                        err.contains(&format!("clawkit: running `{want}` instead of `")),
                        "{shell}: {line}: {err}"
                    );
                }
                Expect::Pass => {
                    assert_eq!(
                        code, 7,
                        "{shell}: {line}: the tool's exit code comes back: {err}"
                    );
                    assert_eq!(log, line, "{shell}: {line}: arguments unchanged");
                }
                Expect::Refuse(text) => {
                    assert_eq!(code, 2, "{shell}: {line}: {err}");
                    assert!(log.is_empty(), "{shell}: {line}: nothing runs: {log}");
                    assert!(err.contains(text), "{shell}: {line}: {err}");
                    assert_eq!(
                        err.trim_end().lines().count(),
                        1,
                        "{shell}: {line}: one line: {err}"
                    );
                    let tool = row.tool();
                    assert!(
                        err.contains(&format!("CLAWKIT_BYPASS=1 {tool} ")),
                        "{shell}: {line}: {err}"
                    );
                }
            }
        }
    }
}

#[test]
fn odd_arguments_pass_byte_for_byte_and_bypass_skips_clawkit() {
    let b = bin();
    for shell in shells() {
        let (code, log, _) = run_in(shell, &b, "npm i 'odd arg with spaces' ''", &[]);
        assert_eq!(
            (code, log.as_slice()),
            (7, &b"npm i odd arg with spaces "[..]),
            "{shell}"
        );
        // Not UTF-8: passes through untouched.
        let bad = match shell {
            "fish" => "npm i (printf '\\xff\\xfe')",
            _ => "npm i $'\\xff\\xfe'",
        };
        let (code, log, err) = run_in(shell, &b, bad, &[]);
        assert_eq!(
            (code, log.as_slice()),
            (7, &b"npm i \xff\xfe"[..]),
            "{shell}: {err}"
        );
        // The bypass goes straight to npm.
        let (code, log, _) = run_in(
            shell,
            &b,
            "npm install -g openclaw --force",
            &[("CLAWKIT_BYPASS", "1")],
        );
        assert_eq!(
            (code, String::from_utf8_lossy(&log).as_ref()),
            (7, "npm install -g openclaw --force"),
            "{shell}"
        );
    }
}

#[test]
fn unknown_shell_is_a_usage_error() {
    let out = Command::new(assert_cmd::cargo::cargo_bin("clawkit"))
        .args(["shell-init", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bash, zsh or fish"));
}

#[test]
fn bash_completions_load_and_complete_subcommands() {
    let real = assert_cmd::cargo::cargo_bin("clawkit");
    let script = format!(
        "source <({} completions bash) || exit 9\nCOMP_WORDS=(clawkit up); COMP_CWORD=1; COMP_LINE='clawkit up'; COMP_POINT=10; COMP_TYPE=9\n\"$(complete -p clawkit | sed -E 's/.* -F ([^ ]+) .*/\\1/')\" clawkit up clawkit\necho \"${{COMPREPLY[@]}}\"",
        real.display()
    );
    let out = Command::new("bash").arg("-c").arg(script).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let words = String::from_utf8_lossy(&out.stdout);
    assert!(words.split_whitespace().any(|w| w == "update"), "{words}");
}

#[test]
fn man_page_renders() {
    let out = Command::new(assert_cmd::cargo::cargo_bin("clawkit"))
        .arg("man")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(".ie") || text.contains(".TH clawkit"),
        "{}",
        &text[..200.min(text.len())]
    );
    assert!(text.contains("update"));
}

/// The user's own `--` reaches the real tool: `npm -- run build` stays `npm -- run build`,
/// and `npm -- i -g openclaw` (a local install of a package named `-g` to npm) is not intercepted.
#[test]
fn a_users_double_dash_is_passed_through() {
    let b = bin();
    for shell in shells() {
        let (_, _, _) = run_in(shell, &b, "npm -- run build", &[]);
        let log = std::fs::read_to_string(&b.log).unwrap_or_default();
        assert_eq!(log.trim(), "npm -- run build", "{shell}: {log}");
        let (_, _, _) = run_in(shell, &b, "npm -- i -g openclaw", &[]);
        let log = std::fs::read_to_string(&b.log).unwrap_or_default();
        assert_eq!(log.trim(), "npm -- i -g openclaw", "{shell}: {log}");
    }
}
