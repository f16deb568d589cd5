//! What operators run around the update (issue #17): `update --check`, channels, pins,
//! min_release_age, the config file, notify, and `schedule` (with the fake systemctl/launchctl;
//! the real systemd timer is in scripts/e2e-systemd).

mod support;

use serde_json::Value;
use support::{json_out, update, Sandbox};

fn check(sb: &Sandbox, args: &[&str]) -> (i32, Value) {
    let out = sb
        .clawkit()
        .args(["update", "--check", "--json"])
        .args(args)
        .output()
        .unwrap();
    (out.status.code().unwrap(), json_out(&out))
}

fn installed(version: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.install(version);
    sb.config();
    sb
}

fn write_config(sb: &Sandbox, text: &str) {
    let dir = sb.home.join(".config/clawkit");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), text).unwrap();
}

#[test]
fn check_exits_7_when_an_update_is_available_and_status_shows_it_from_the_cache() {
    let sb = installed("2026.9.4");
    let (code, doc) = check(&sb, &[]);
    assert_eq!(code, 7, "{doc:#}");
    assert_eq!(doc["outcome"], "available");
    assert_eq!(doc["installed"], "2026.9.4");
    assert_eq!(doc["available"], support::LATEST);
    assert!(doc["published_at"].as_str().is_some(), "{doc:#}");
    // Nothing was changed.
    assert_eq!(support::cli_version(&sb), "2026.9.4");
    let out = sb.clawkit().args(["status", "--json"]).output().unwrap();
    let status = json_out(&out);
    assert_eq!(
        status["available"]["version"],
        support::LATEST,
        "{status:#}"
    );
    // Current: exit 0, and status no longer offers it.
    let sb = installed(support::LATEST);
    let (code, doc) = check(&sb, &[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["outcome"], "current");
    let status = json_out(&sb.clawkit().args(["status", "--json"]).output().unwrap());
    assert_eq!(status["available"], Value::Null);
}

#[test]
fn a_young_release_is_held_and_the_newest_old_enough_one_is_taken() {
    let sb = installed("2026.9.4");
    // 2026.9.6 (latest) was published 2 h ago in the fake registry; 2026.9.5 long before.
    let (code, doc) = check(&sb, &["--min-release-age", "24"]);
    assert_eq!(code, 7, "{doc:#}");
    assert_eq!(doc["available"], "2026.9.5");
    assert!(
        doc["held"]
            .as_str()
            .unwrap()
            .contains("younger than min_release_age 24 h"),
        "{doc:#}"
    );
    let (code, doc, _) = update(&sb, &["--min-release-age", "24", "--no-rehearsal"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["to"], "2026.9.5");
    assert!(doc["held"].as_str().is_some(), "{doc:#}");
}

#[test]
fn a_pin_in_the_config_file_is_never_left() {
    let sb = installed("2026.9.4");
    write_config(&sb, "pin = \"2026.9.5\"\n");
    let (code, doc, _) = update(&sb, &["--no-rehearsal"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["to"], "2026.9.5");
    // An explicit --to outside the pin is refused before any change, naming the pin's source.
    let (code, doc, _) = update(&sb, &["--to", "2026.9.6"]);
    assert_eq!(code, 6, "{doc:#}");
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("outside the pin 2026.9.5 (file)"),
        "{doc:#}"
    );
    assert_eq!(support::cli_version(&sb), "2026.9.5");
    // At the pin's ceiling: held, exit 0.
    let (code, doc) = check(&sb, &[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["outcome"], "held");
    // A flag beats the file.
    let (code, doc) = check(&sb, &["--pin", "2026.9"]);
    assert_eq!(
        (code, doc["available"].as_str()),
        (7, Some(support::LATEST))
    );
}

#[test]
fn a_channel_without_its_dist_tag_is_refused_with_the_fix() {
    let sb = installed("2026.9.4");
    let (code, doc, _) = update(&sb, &["--channel", "extended-stable"]);
    assert_eq!(code, 6, "{doc:#}");
    assert!(
        doc["error"].as_str().unwrap().contains("extended-stable"),
        "{doc:#}"
    );
    // beta without a `beta` tag follows latest, as OpenClaw's own update does.
    let (code, doc) = check(&sb, &["--channel", "beta"]);
    assert_eq!(
        (code, doc["available"].as_str()),
        (7, Some(support::LATEST))
    );
}

#[test]
fn a_bad_config_file_is_a_usage_error_before_anything_runs() {
    let sb = installed("2026.9.4");
    write_config(&sb, "chanel = \"beta\"\n");
    let out = sb
        .clawkit()
        .args(["update", "--yes", "--to", "2026.9.5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("chanel") && err.contains("config.toml"),
        "{err}"
    );
    assert_eq!(support::cli_version(&sb), "2026.9.4");
}

#[test]
fn notify_gets_the_report_of_an_update_and_of_a_refusal() {
    let sb = installed("2026.9.4");
    let got = sb.dir.path().join("notified.json");
    let mut sb = sb;
    sb.extra_env.push((
        "CLAWKIT_NOTIFY".into(),
        format!("sh -c 'cat > {}'", got.display()),
    ));
    let (code, doc, _) = update(&sb, &["--to", "2026.9.5", "--no-rehearsal"]);
    assert_eq!(code, 0, "{doc:#}");
    let n: Value = serde_json::from_str(&std::fs::read_to_string(&got).unwrap()).unwrap();
    assert_eq!(n["outcome"], "updated");
    assert_eq!(n["to"], "2026.9.5");
    // A refusal in preflight (a downgrade without --allow-downgrade) is notified too.
    let (code, _, _) = update(&sb, &["--to", "2026.9.4"]);
    assert_eq!(code, 6);
    let n: Value = serde_json::from_str(&std::fs::read_to_string(&got).unwrap()).unwrap();
    assert_eq!(n["outcome"], "refused", "{n:#}");
}

#[test]
fn config_show_names_each_source() {
    let mut sb = installed("2026.9.4");
    write_config(&sb, "channel = \"beta\"\nkeep = 3\n");
    sb.extra_env.push(("CLAWKIT_TIMEOUT".into(), "90".into()));
    let out = sb
        .clawkit()
        .args(["config", "show", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc = json_out(&out);
    assert_eq!(doc["channel"]["value"], "beta");
    assert_eq!(doc["channel"]["source"], "file");
    assert_eq!(doc["keep"]["value"], 3);
    assert_eq!(doc["timeout_secs"]["source"], "env CLAWKIT_TIMEOUT");
    assert_eq!(doc["rehearsal"]["source"], "default");
    let text = sb.clawkit().args(["config", "show"]).output().unwrap();
    // People's lines go to stderr (stdout is for --json), as with every command.
    let text = String::from_utf8_lossy(&text.stderr);
    assert!(text.contains("beta (dist-tag beta)"), "{text}");
}

#[test]
fn schedule_writes_a_systemd_timer_and_removes_it() {
    let sb = Sandbox::new().with_tool("systemctl");
    let out = sb
        .clawkit()
        .args(["schedule", "install", "--at", "03:30", "--window", "2h"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let dir = sb.home.join(".config/systemd/user");
    let timer = std::fs::read_to_string(dir.join("clawkit-update.timer")).unwrap();
    assert!(timer.contains("OnCalendar=*-*-* 03:30:00"), "{timer}");
    assert!(timer.contains("RandomizedDelaySec=7200"), "{timer}");
    let service = std::fs::read_to_string(dir.join("clawkit-update.service")).unwrap();
    assert!(
        service.contains("\"update\" \"--yes\" \"--json\""),
        "{service}"
    );
    let calls = std::fs::read_to_string(sb.home.join(".fake-systemd/calls.log")).unwrap();
    assert!(
        calls.contains("--user enable --now clawkit-update.timer"),
        "{calls}"
    );
    let st = json_out(
        &sb.clawkit()
            .args(["schedule", "status", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(st["outcome"], "present");
    let out = sb.clawkit().args(["schedule", "remove"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(!dir.join("clawkit-update.timer").exists());
    let calls = std::fs::read_to_string(sb.home.join(".fake-systemd/calls.log")).unwrap();
    assert!(
        calls.contains("--user disable --now clawkit-update.timer"),
        "{calls}"
    );
}

#[test]
fn schedule_writes_a_launch_agent_on_launchd() {
    let mut sb = Sandbox::new().with_tool("launchctl");
    support::only_fakes(&mut sb);
    let out = sb
        .clawkit()
        .args(["schedule", "install", "--every", "weekly"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let plist = sb.home.join("Library/LaunchAgents/ai.clawkit.update.plist");
    let v = plist::Value::from_file(&plist).unwrap();
    let d = v.as_dictionary().unwrap();
    let cal = d["StartCalendarInterval"].as_dictionary().unwrap();
    assert_eq!(cal["Weekday"].as_signed_integer(), Some(0));
    let args: Vec<&str> = d["ProgramArguments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_string().unwrap())
        .collect();
    assert_eq!(&args[1..], ["update", "--yes", "--json"]);
    let calls = std::fs::read_to_string(sb.home.join(".fake-launchd/calls.log")).unwrap();
    assert!(calls.contains("bootstrap"), "{calls}");
}

#[test]
fn schedule_without_a_service_manager_is_refused_with_a_cron_line() {
    let mut sb = Sandbox::new();
    support::only_fakes(&mut sb);
    let out = sb.clawkit().args(["schedule", "install"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("crontab"), "{err}");
}

#[test]
fn a_tag_below_the_installed_release_is_no_update_and_no_refusal() {
    // npm's `latest` (2026.9.6) points below what is installed (a newer release was pulled).
    let sb = installed("2026.10.9");
    let (code, doc) = check(&sb, &[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["outcome"], "held");
    assert!(
        doc["held"]
            .as_str()
            .unwrap()
            .contains("older than the installed 2026.10.9"),
        "{doc:#}"
    );
}

#[test]
fn a_dry_run_notifies_nobody() {
    let mut sb = installed("2026.9.5");
    let got = sb.dir.path().join("notified.json");
    sb.extra_env.push((
        "CLAWKIT_NOTIFY".into(),
        format!("sh -c 'cat > {}'", got.display()),
    ));
    // A refusal (a downgrade) seen by a dry run: exit 6, and no notification.
    let out = sb
        .clawkit()
        .args(["update", "--dry-run", "--to", "2026.9.4", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert!(!got.exists());
}

#[test]
fn man_out_writes_every_page_the_main_page_names() {
    let sb = Sandbox::new();
    let dir = sb.dir.path().join("man");
    let out = sb
        .clawkit()
        .args(["man", "--out", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let main = std::fs::read_to_string(dir.join("clawkit.1")).unwrap();
    let named: Vec<&str> = main
        .split("clawkit\\-")
        .skip(1)
        .filter_map(|s| s.split_once("(1)").map(|(n, _)| n))
        .collect();
    assert!(named.contains(&"update"), "{named:?}");
    for n in named {
        let page = dir.join(format!("clawkit-{}.1", n.replace("\\-", "-")));
        assert!(
            page.exists(),
            "{} is named in clawkit.1 but not written",
            page.display()
        );
    }
    assert!(dir.join("clawkit-schedule-install.1").exists());
    assert!(
        !dir.join("clawkit-intercept.1").exists(),
        "hidden commands get no page"
    );
}

// ---------------------------------------------------------------------------------------------
// The README's schedules, as a user pastes them.

/// The lines of README.md's fenced code blocks tagged `lang`, verbatim.
fn readme_blocks(lang: &str) -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(support::repo().join("README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in readme.lines() {
        let fence = line.trim_start();
        match current.take() {
            None if fence.strip_prefix("```") == Some(lang) => current = Some(Vec::new()),
            None => {}
            Some(b) if fence.starts_with("```") => blocks.push(b),
            Some(mut b) => {
                b.push(line.to_string());
                current = Some(b);
            }
        }
    }
    blocks
}

/// A crontab as cron reads it: `NAME=value` lines set the environment of the entries after
/// them; an entry is five time fields and a command for `/bin/sh -c`.
fn crontab_entries(lines: &[String]) -> Vec<(Vec<(String, String)>, String)> {
    let mut env = Vec::new();
    let mut entries = Vec::new();
    for line in lines.iter().map(|l| l.trim()) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name_ok =
            |k: &str| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if let Some((k, v)) = line.split_once('=').filter(|(k, _)| name_ok(k.trim())) {
            env.push((k.trim().to_string(), v.trim().trim_matches('"').to_string()));
            continue;
        }
        let mut rest = line;
        for _ in 0..5 {
            let t = rest.trim_start();
            let end = t.find(char::is_whitespace).expect("five time fields");
            rest = &t[end..];
        }
        let command = rest.trim().to_string();
        // cron turns an unescaped % into a newline: a pasted line must have none.
        assert!(!command.replace("\\%", "").contains('%'), "{command}");
        entries.push((env.clone(), command));
    }
    entries
}

/// The JSON documents in a log that holds `--json` output (pretty, `{` … `}` at column 0) and
/// human lines.
fn json_docs(log: &str) -> Vec<Value> {
    let mut docs = Vec::new();
    let mut doc: Option<String> = None;
    for line in log.lines() {
        match doc.as_mut() {
            None if line == "{" => doc = Some("{\n".into()),
            None => {}
            Some(d) => {
                d.push_str(line);
                d.push('\n');
                if line == "}" {
                    docs.push(serde_json::from_str(d).unwrap());
                    doc = None;
                }
            }
        }
    }
    docs
}

/// clawkit's own directory first on the sandbox's PATH, as on a host where it is installed.
fn path_with_clawkit(sb: &Sandbox) -> std::ffi::OsString {
    let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_clawkit"));
    let mut dirs = vec![bin.parent().unwrap().to_path_buf()];
    dirs.extend(std::env::split_paths(&sb.path()));
    std::env::join_paths(dirs).unwrap()
}

#[test]
fn the_readme_cron_line_pasted_as_it_is_updates_and_appends_its_report_to_the_log() {
    let blocks = readme_blocks("cron");
    assert_eq!(blocks.len(), 1, "one cron block in README.md");
    let entries = crontab_entries(&blocks[0]);
    assert_eq!(entries.len(), 1, "{blocks:?}");
    let (crontab_env, command) = &entries[0];
    // A fresh home (no ~/.cache yet), as cron runs it: /bin/sh, HOME, the PATH the README says
    // to give it (here the sandbox's, where clawkit, node, npm and openclaw are).
    let sb = installed("2026.9.5");
    assert!(!sb.home.join(".cache").exists());
    let run = || {
        let mut c = std::process::Command::new("/bin/sh");
        c.arg("-c")
            .arg(command)
            .env_clear()
            .envs(sb.env())
            .env("PATH", path_with_clawkit(&sb))
            .env("SHELL", "/bin/sh")
            .env("LOGNAME", "cron")
            .envs(crontab_env.iter().map(|(k, v)| (k, v)))
            .current_dir(&sb.home);
        c.output().unwrap()
    };
    let out = run();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    let log = sb.home.join(".cache/clawkit/update.log");
    let text = std::fs::read_to_string(&log).unwrap();
    let docs = json_docs(&text);
    assert_eq!(docs.len(), 1, "{text}");
    assert_eq!(docs[0]["outcome"], "updated", "{text}");
    assert_eq!(docs[0]["to"], support::LATEST);
    assert_eq!(support::cli_version(&sb), support::LATEST);
    // The next night: nothing to do, and the log keeps both reports.
    let out = run();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    let docs = json_docs(&text);
    assert_eq!(docs.len(), 2, "{text}");
    assert_eq!(docs[1]["outcome"], "already-current", "{text}");

    // What refuses `schedule install` without a service manager is the same line.
    let mut bare = Sandbox::new();
    support::only_fakes(&mut bare);
    let out = bare
        .clawkit()
        .args(["schedule", "install"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<String> = err
        .lines()
        .skip_while(|l| !l.contains("add these two lines"))
        .skip(1)
        .map(String::from)
        .collect();
    let path = bare
        .env()
        .into_iter()
        .rfind(|(k, _)| k == "PATH")
        .unwrap()
        .1;
    assert_eq!(
        crontab_entries(&lines),
        [(
            vec![("PATH".to_string(), path.to_string_lossy().into_owned())],
            command.clone()
        )],
        "{err}"
    );
}

/// systemd's quoting as `schedule install` writes it: words in double quotes, `\\` `\"`
/// escaped, `%%` and `$$` doubled.
fn systemd_words(value: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '"' {
            assert!(c.is_whitespace(), "unquoted word in {value}");
            continue;
        }
        let mut w = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => w.push(chars.next().unwrap()),
                '%' | '$' if chars.peek() == Some(&c) => {
                    chars.next();
                    w.push(c);
                }
                c => w.push(c),
            }
        }
        words.push(w);
    }
    words
}

#[test]
fn the_scheduled_units_pass_systemd_analyze_verify_and_their_exec_start_runs() {
    let sb = installed(support::LATEST).with_tool("systemctl");
    let out = sb
        .clawkit()
        .env("PATH", path_with_clawkit(&sb))
        .args(["schedule", "install"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let dir = sb.home.join(".config/systemd/user");
    let service = std::fs::read_to_string(dir.join("clawkit-update.service")).unwrap();
    match which::which("systemd-analyze") {
        Ok(analyze) => {
            let out = std::process::Command::new(analyze)
                .arg("verify")
                .args(["clawkit-update.service", "clawkit-update.timer"])
                .current_dir(&dir)
                .output()
                .unwrap();
            // Any complaint counts: systemd-analyze exits 0 on many it "ignores".
            assert!(
                out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Err(_) => eprintln!("systemd-analyze is not installed: the units are not verified"),
    }
    // ExecStart= with the unit's Environment=, as the user manager runs it (nothing else).
    let value = |key: &str| -> Vec<String> {
        service
            .lines()
            .filter_map(|l| l.strip_prefix(key))
            .flat_map(systemd_words)
            .collect()
    };
    let argv = value("ExecStart=");
    assert_eq!(&argv[1..], ["update", "--yes", "--json"]);
    let mut c = std::process::Command::new(&argv[0]);
    c.args(&argv[1..]).env_clear();
    for kv in value("Environment=") {
        let (k, v) = kv.split_once('=').unwrap();
        c.env(k, v);
    }
    // The user manager's own environment: HOME; npm's registry is the user's npmrc's (here the
    // fake registry's variables).
    c.env("HOME", &sb.home).current_dir(&sb.home);
    for (k, v) in sb.env() {
        if k.to_string_lossy().starts_with("npm_config_") {
            c.env(k, v);
        }
    }
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let doc = json_out(&out);
    assert_eq!(doc["outcome"], "already-current", "{doc:#}");
}
