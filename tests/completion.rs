//! Completion of values (issue #17): `--profile`, `backups show|restore ID` and `update --to`,
//! through clap's completion engine exactly as the shells call it (`COMPLETE=SHELL clawkit --
//! WORDS…`), and through the scripts `clawkit completions bash|zsh|fish` print, sourced and run
//! by the real shells.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use clawkit::layout::Profile;
use support::Sandbox;

/// What the bash adapter prints for `words` with the cursor on the last one.
fn complete(sb: &Sandbox, words: &[&str], env: &[(&str, &str)]) -> Vec<String> {
    let out = sb
        .clawkit()
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string())
        .env("_CLAP_IFS", "\n")
        .envs(env.iter().copied())
        .arg("--")
        .args(words)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

/// The values among `candidates`, which come first; at an empty word the engine adds the flags
/// after them (clap's choice).
fn values(candidates: &[String]) -> Vec<&str> {
    let n = candidates
        .iter()
        .position(|c| c.starts_with('-'))
        .unwrap_or(candidates.len());
    assert!(
        candidates[n..].iter().all(|c| c.starts_with("--")),
        "values first, then flags: {candidates:?}"
    );
    candidates[..n].iter().map(String::as_str).collect()
}

/// A home with the default profile and `work`, two backups in `work` and one in the default.
fn two_profiles() -> Sandbox {
    let sb = Sandbox::new();
    let env = clawkit::env::Env::from_pairs([("HOME", sb.home.as_os_str())]);
    let backup = |profile: Profile, id: &str| {
        let l = clawkit::layout::resolve(&env, &profile, None).unwrap();
        std::fs::create_dir_all(&l.state_dir).unwrap();
        std::fs::write(&l.config_path, "{}").unwrap();
        let v = |s: &str| s.parse().ok();
        clawkit::backup::create(&l, id, "update", v("2026.9.4"), v("2026.9.5")).unwrap();
    };
    let work = Profile::Named("work".into());
    backup(work.clone(), "20261101T040000Z-update");
    backup(work, "20261102T040000Z-update");
    backup(Profile::Default, "20261020T040000Z-reset-devices");
    sb
}

#[test]
fn backup_ids_are_those_of_the_selected_profile() {
    let sb = two_profiles();
    let work = ["20261102T040000Z-update", "20261101T040000Z-update"];
    for words in [
        &["clawkit", "--profile", "work", "backups", "restore", ""][..],
        &["clawkit", "backups", "show", "--profile=work", ""],
        &["clawkit", "backups", "--profile", "work", "show", ""],
    ] {
        assert_eq!(values(&complete(&sb, words, &[])), work, "{words:?}");
    }
    assert_eq!(
        values(&complete(&sb, &["clawkit", "backups", "restore", ""], &[])),
        ["20261020T040000Z-reset-devices"]
    );
    assert_eq!(
        complete(
            &sb,
            &[
                "clawkit",
                "--profile",
                "work",
                "backups",
                "show",
                "20261101"
            ],
            &[]
        ),
        ["20261101T040000Z-update"]
    );
    // Read-only: completing made nothing.
    assert!(!sb.home.join(".cache/clawkit/versions.json").exists());
}

#[test]
fn profiles_are_those_in_home() {
    let sb = two_profiles();
    assert_eq!(
        complete(&sb, &["clawkit", "--profile", ""], &[]),
        ["default", "work"]
    );
    assert_eq!(
        complete(&sb, &["clawkit", "status", "--profile", "w"], &[]),
        ["work"]
    );
    assert_eq!(
        complete(&sb, &["clawkit", "doctor", "--profile=w"], &[]),
        ["--profile=work"]
    );
}

#[test]
fn the_hidden_intercept_command_is_not_offered() {
    let sb = Sandbox::new();
    let all = complete(&sb, &["clawkit", ""], &[]);
    assert!(all.contains(&"schedule".to_string()), "{all:?}");
    assert!(!all.iter().any(|c| c == "intercept"), "{all:?}");
    assert!(complete(&sb, &["clawkit", "inter"], &[]).is_empty());
}

#[test]
fn to_offers_the_registry_dist_tags_and_versions_and_caches_them() {
    let sb = Sandbox::new();
    // The machine may be busy (benchmarks): this test is about the answer, not the deadline.
    let slow_ok = [("CLAWKIT_COMPLETE_TIMEOUT", "60")];
    let got = complete(&sb, &["clawkit", "update", "--to", ""], &slow_ok);
    assert_eq!(got[0], "latest", "{got:?}");
    let mut want: Vec<clawkit::version::Version> = support::releases()
        .iter()
        .map(|r| r.version.parse().unwrap())
        .collect();
    want.sort_by(|a, b| b.cmp(a));
    let want: Vec<String> = want.iter().map(ToString::to_string).collect();
    assert_eq!(
        got[1..],
        want,
        "dist-tags, then every version, newest first"
    );

    let cache = sb.home.join(".cache/clawkit/versions.json");
    assert!(cache.exists());
    // The next TAB within the hour is answered from the cache: no npm on this PATH.
    let no_npm = sb.dir.path().join("no-npm");
    std::fs::create_dir_all(&no_npm).unwrap();
    let got = complete(
        &sb,
        &["clawkit", "update", "--to=2026.10."],
        &[("PATH", no_npm.to_str().unwrap())],
    );
    assert_eq!(got[0], "--to=2026.10.9", "{got:?}");
    assert_eq!(got.len(), 8, "{got:?}");
}

#[test]
fn an_unreachable_registry_costs_the_timeout_once_and_offers_the_channel_tags() {
    let sb = Sandbox::new();
    // Accepts connections (the kernel does) and never answers: npm would wait for minutes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    silent.set_nonblocking(true).unwrap();
    // The connections made to it so far (the kernel queues them, closed ones too).
    let connections = || std::iter::from_fn(|| silent.accept().ok()).count();
    let url = format!("http://ci:s3cr3t-token@{}/", silent.local_addr().unwrap());
    let words = ["clawkit", "update", "--registry", &url, "--to", ""];
    let started = Instant::now();
    let got = complete(&sb, &words, &[]);
    let first = started.elapsed();
    assert_eq!(got, ["latest", "extended-stable", "beta"]);
    assert!(connections() > 0, "the first TAB asks the registry");
    // A bound, not a timing: one TAB waits 3 s, npm alone would wait for minutes.
    assert!(first < Duration::from_secs(30), "{first:?}");
    let kept: serde_json::Value = serde_json::from_slice(
        &std::fs::read(sb.home.join(".cache/clawkit/versions.json")).unwrap(),
    )
    .unwrap();
    // The cache names the registry without its credentials, and only its owner reads it.
    assert_eq!(
        kept["registry"],
        url.replace("ci:s3cr3t-token@", "<redacted>@").as_str()
    );
    let cache = sb.home.join(".cache/clawkit/versions.json");
    assert!(!std::fs::read_to_string(&cache).unwrap().contains("s3cr3t"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(kept["fetched_at"], 0);
    // The next TAB does not ask (so does not wait) again.
    assert_eq!(complete(&sb, &words, &[]), got);
    assert_eq!(
        connections(),
        0,
        "the next TAB asked the silent registry again"
    );
}

// ---------------------------------------------------------------------------------------------
// The real shells, with the script `clawkit completions SHELL` prints.

fn shell(name: &str) -> Option<PathBuf> {
    let found = which::which(name).ok();
    if found.is_none() {
        // scripts/test installs bash, zsh and fish; in CI a missing shell is a failure.
        assert!(
            std::env::var_os("CI").is_none(),
            "{name} is not installed: its completion script cannot be exercised"
        );
        eprintln!("{name} is not installed: its completion script is not exercised");
    }
    found
}

/// The sandbox's environment with clawkit itself first on PATH, as installed.
fn shell_cmd(sb: &Sandbox, program: &Path) -> Command {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_clawkit"));
    let mut path = vec![bin.parent().unwrap().to_path_buf()];
    path.extend(std::env::split_paths(&sb.path()));
    let mut c = Command::new(program);
    c.env_clear()
        .envs(sb.env())
        .env("PATH", std::env::join_paths(path).unwrap())
        .current_dir(sb.dir.path());
    c
}

fn lines(out: std::process::Output) -> Vec<String> {
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn bash_sources_the_script_and_its_function_fills_compreply() {
    let Some(bash) = shell("bash") else { return };
    let sb = two_profiles();
    let run = |line: &str| {
        let script = format!(
            r#"source <(clawkit completions bash) || exit 9
complete -p clawkit >/dev/null || exit 8
COMP_LINE={line:?}; COMP_POINT=${{#COMP_LINE}}
read -ra COMP_WORDS <<< "$COMP_LINE"
[[ $COMP_LINE == *' ' ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); COMP_TYPE=9
func=$(complete -p clawkit | sed -E 's/.* -F ([^ ]+) .*/\1/')
"$func" clawkit "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#
        );
        lines(
            shell_cmd(&sb, &bash)
                .args(["--norc", "--noprofile", "-c", &script])
                .output()
                .unwrap(),
        )
    };
    assert_eq!(
        values(&run("clawkit --profile work backups restore ")),
        ["20261102T040000Z-update", "20261101T040000Z-update"]
    );
    assert_eq!(run("clawkit --profile w"), ["work"]);
    assert_eq!(run("clawkit bac"), ["backups"]);
}

#[test]
fn fish_completes_with_the_script() {
    let Some(fish) = shell("fish") else { return };
    let sb = two_profiles();
    let out = shell_cmd(&sb, &fish)
        .env("CLAWKIT_COMPLETE_TIMEOUT", "60")
        .args([
            "--no-config",
            "-c",
            "clawkit completions fish | source; \
             complete -C 'clawkit --profile work backups show '; \
             complete -C 'clawkit --profile '; \
             complete -C 'clawkit update --to 2026.9.'",
        ])
        .output()
        .unwrap();
    let got = lines(out);
    let shown: Vec<String> = got
        .iter()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    // Each `complete -C`'s values, without the flags that follow them at an empty word.
    let shown: Vec<&str> = shown
        .iter()
        .map(String::as_str)
        .filter(|v| !v.starts_with('-'))
        .collect();
    assert_eq!(
        shown,
        [
            "20261102T040000Z-update",
            "20261101T040000Z-update",
            "default",
            "work",
            "2026.9.7",
            "2026.9.6",
            "2026.9.5",
            "2026.9.4",
        ],
        "{got:#?}"
    );
    // fish shows each value's description.
    assert!(got.iter().any(|l| l == "2026.9.6\tlatest"), "{got:#?}");
}

#[test]
fn zsh_sources_the_script_and_its_function_offers_the_values() {
    let Some(zsh) = shell("zsh") else { return };
    let sb = two_profiles();
    // compinit provides compdef; `_describe` (zle's display) is replaced by a printer of the
    // array it is given.
    let script = r#"autoload -Uz compinit && compinit -u -D || exit 9
source <(clawkit completions zsh) || exit 8
_describe() { print -rl -- "${(@P)${@[-1]}}" }
words=(clawkit --profile work backups restore ''); CURRENT=6
_clap_dynamic_completer_clawkit"#;
    let out = shell_cmd(&sb, &zsh)
        .args(["-f", "-c", script])
        .output()
        .unwrap();
    let got = lines(out);
    let shown: Vec<String> = got
        .iter()
        .map(|l| l.split(':').next().unwrap().to_string())
        .collect();
    assert_eq!(
        values(&shown),
        ["20261102T040000Z-update", "20261101T040000Z-update"],
        "{got:#?}"
    );
}
