//! The shell alias, run by the real bash, zsh and fish over a table of command lines, and the
//! completions loaded by bash.

use std::path::PathBuf;
use std::process::Command;

struct Bin {
    _dir: tempfile::TempDir,
    bin: PathBuf,
    log: PathBuf,
}

/// A PATH with the real clawkit behind a wrapper that records `update` calls, and fake
/// npm/pnpm that record their arguments and exit 7.
fn bin() -> Bin {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = dir.path().join("calls.log");
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
            "#!/bin/sh\ncase \"$1\" in\n  update) echo \"clawkit $*\" >> {log}; exit 0;;\n  *) exec {real} \"$@\";;\nesac\n",
            log = log.display(),
            real = real.display()
        ),
    );
    for tool in ["npm", "pnpm"] {
        write(
            tool,
            format!(
                "#!/bin/sh\necho \"{tool} $*\" >> {}\nexit 7\n",
                log.display()
            ),
        );
    }
    Bin {
        _dir: dir,
        bin,
        log,
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

fn run_in(shell: &str, b: &Bin, line: &str, extra_env: &[(&str, &str)]) -> (i32, String, String) {
    let _ = std::fs::remove_file(&b.log);
    let script = match shell {
        "fish" => format!("clawkit shell-init fish | source; {line}"),
        _ => format!("eval \"$(clawkit shell-init {shell})\"; {line}"),
    };
    let path = format!("{}:/usr/bin:/bin", b.bin.display());
    let out = Command::new(shell)
        .arg("-c")
        .arg(&script)
        .env_clear()
        .env("PATH", &path)
        .env("HOME", b.bin.parent().unwrap())
        .envs(extra_env.iter().copied())
        .output()
        .unwrap();
    let log = std::fs::read_to_string(&b.log).unwrap_or_default();
    (
        out.status.code().unwrap_or(-1),
        log.trim().to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

const INTERCEPTED: &[(&str, &str)] = &[
    ("npm install -g openclaw", "clawkit update"),
    ("npm i -g openclaw@latest", "clawkit update --to latest"),
    (
        "npm install --global openclaw@2026.9.5",
        "clawkit update --to 2026.9.5",
    ),
    ("npm -g install openclaw", "clawkit update"),
    ("npm install openclaw -g", "clawkit update"),
    (
        "npm install --location=global openclaw@beta",
        "clawkit update --to beta",
    ),
    ("npm update -g openclaw", "clawkit update"),
    ("npm up --global openclaw", "clawkit update"),
    (
        "npm add -g openclaw@2026.7.1-2",
        "clawkit update --to 2026.7.1-2",
    ),
    (
        "npm install -g --prefix /opt/oc openclaw",
        "clawkit update --prefix /opt/oc",
    ),
    ("npm i -g openclaw --no-fund", "clawkit update"),
    ("pnpm add -g openclaw", "clawkit update"),
    (
        "pnpm add --global openclaw@latest",
        "clawkit update --to latest",
    ),
];

const PASSED: &[&str] = &[
    "npm install openclaw",
    "npm install -g typescript",
    "npm install -g openclaw-plugin-x",
    "npm view openclaw version",
    "npm uninstall -g openclaw",
    "npm run build -- --watch",
    "npm --version",
    "npm install -g --prefix openclaw typescript",
    "pnpm add openclaw",
    "npm i 'odd arg with spaces'",
];

#[test]
fn intercepts_and_passes_through_in_every_shell() {
    let b = bin();
    let shells = shells();
    assert!(shells.contains(&"bash"));
    for shell in shells {
        for (line, want) in INTERCEPTED {
            let (code, log, err) = run_in(shell, &b, line, &[]);
            assert_eq!(code, 0, "{shell}: {line}: {err}");
            assert_eq!(log, *want, "{shell}: {line}");
            assert!(
                err.contains("clawkit: running `clawkit update"),
                "{shell}: {line}: {err}"
            );
        }
        for line in PASSED {
            let (code, log, _) = run_in(shell, &b, line, &[]);
            assert_eq!(
                code, 7,
                "{shell}: {line}: the real tool's exit code comes back"
            );
            let tool = line.split_whitespace().next().unwrap();
            let want = format!("{tool}{}", &line[tool.len()..]).replace('\'', "");
            assert_eq!(log, want, "{shell}: {line}: arguments unchanged");
        }
        // Mixed specs are explained and refused; nothing runs.
        let (code, log, err) = run_in(shell, &b, "npm install -g openclaw typescript", &[]);
        assert_eq!(code, 2, "{shell}");
        assert!(log.is_empty(), "{shell}: {log}");
        assert!(err.contains("together with typescript"), "{shell}: {err}");
        // The bypass goes straight to npm.
        let (code, log, _) = run_in(
            shell,
            &b,
            "npm install -g openclaw",
            &[("CLAWKIT_BYPASS", "1")],
        );
        assert_eq!(
            (code, log.as_str()),
            (7, "npm install -g openclaw"),
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
        "source <({} completions bash) || exit 9\nCOMP_WORDS=(clawkit up); COMP_CWORD=1; COMP_LINE='clawkit up'; COMP_POINT=10\n_clawkit clawkit up clawkit\necho \"${{COMPREPLY[@]}}\"",
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
