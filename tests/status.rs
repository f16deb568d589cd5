//! `clawkit status` against fake OpenClaw installs, one test per verdict and supervisor.

mod support;

use std::time::Duration;

use support::{assert_no_secret, json_out, Sandbox};

fn status(sb: &Sandbox, args: &[&str]) -> (i32, serde_json::Value, std::process::Output) {
    let out = sb
        .clawkit()
        .arg("status")
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    assert_no_secret(&out);
    let doc = json_out(&out);
    assert_eq!(doc["schema"], 2);
    assert_eq!(doc["command"], "status");
    (out.status.code().unwrap(), doc, out)
}

#[test]
fn not_installed() {
    let sb = Sandbox::new();
    let (code, doc, _) = status(&sb, &[]);
    assert_eq!(code, 3);
    assert_eq!(doc["verdict"], "not-installed");
    assert!(doc["fix"].as_str().unwrap().contains("clawkit update"));
}

#[test]
fn ok_with_unmanaged_gateway() {
    let sb = Sandbox::new();
    sb.install("2026.9.5");
    sb.config();
    let pid = sb.start_gateway();
    let (code, doc, _) = status(&sb, &[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["verdict"], "ok");
    assert_eq!(doc["cli"]["version"], "2026.9.5");
    assert_eq!(doc["gateway"]["version"], "2026.9.5");
    assert_eq!(doc["gateway"]["version_source"], "/startupz");
    assert_eq!(doc["gateway"]["pid"], pid);
    assert_eq!(doc["supervisor"]["kind"], "unmanaged");
    assert_eq!(doc["port"], sb.port);
    // A running gateway's state-dir lock says which port it owns.
    assert_eq!(doc["port_from"], "gateway lock");
}

#[test]
fn human_output_is_on_stderr_without_escape_codes() {
    let sb = support::unmanaged("2026.9.5");
    let out = sb.clawkit().arg("status").output().unwrap();
    assert!(out.stdout.is_empty());
    let text = String::from_utf8(out.stderr).unwrap();
    assert!(text.contains("2026.9.5") && text.contains("ok "), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no colour when not a terminal: {text:?}"
    );
}

#[test]
fn gateway_down() {
    let sb = Sandbox::new();
    sb.install("2026.9.5");
    sb.config();
    let (code, doc, _) = status(&sb, &[]);
    assert_eq!(code, 3);
    assert_eq!(doc["verdict"], "gateway-down");
    assert_eq!(doc["gateway"]["state"], "down");
}

#[test]
fn skew_after_naive_npm_install_under_running_gateway() {
    let sb = support::unmanaged("2026.9.4");
    std::thread::sleep(Duration::from_millis(1100)); // ctime granularity vs process start
    sb.npm_replace("2026.9.5");
    let (code, doc, _) = status(&sb, &[]);
    assert_eq!(code, 3);
    assert_eq!(doc["verdict"], "skew");
    assert_eq!(doc["cli"]["version"], "2026.9.5");
    assert_eq!(doc["gateway"]["version"], "2026.9.4");
    assert_eq!(doc["gateway"]["install_changed"], true);
    assert!(doc["message"]
        .as_str()
        .unwrap()
        .contains("pairing required"));
    assert_eq!(doc["fix"], "clawkit update");
}

#[test]
fn install_changed_same_version_is_skew() {
    // Reinstalling the same version under a running gateway also breaks its lazy chunks.
    let sb = support::unmanaged("2026.9.5");
    std::thread::sleep(Duration::from_millis(1100));
    sb.npm_replace("2026.9.5");
    let (code, doc, _) = status(&sb, &[]);
    assert_eq!(code, 3);
    assert_eq!(doc["verdict"], "skew");
    assert!(doc["message"].as_str().unwrap().contains("1011"));
}

#[test]
fn systemd_managed_gateway() {
    let sb = Sandbox::new().with_tool("systemctl");
    sb.install("2026.9.5");
    sb.config();
    sb.systemd_unit("2026.9.5");
    sb.tool(
        "systemctl",
        &["--user", "start", "openclaw-gateway.service"],
    );
    assert!(support::wait_for(Duration::from_secs(60), || sb
        .startupz()
        .is_some_and(|v| v["status"] == "started")));
    let (code, doc, _) = status(&sb, &[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["supervisor"]["kind"], "systemd");
    assert_eq!(doc["supervisor"]["name"], "openclaw-gateway.service");
    assert_eq!(doc["supervisor"]["active"], true);
    assert_eq!(doc["supervisor"]["service_version"], "2026.9.5");
    assert_eq!(doc["supervisor"]["main_pid"], doc["gateway"]["pid"]);
}

#[test]
fn launchd_managed_gateway() {
    let sb = Sandbox::new().with_tool("launchctl");
    sb.install("2026.9.5");
    sb.config();
    let plist = sb.launchd_plist("2026.9.5");
    let uid = nix::unistd::getuid();
    sb.tool(
        "launchctl",
        &["bootstrap", &format!("gui/{uid}"), plist.to_str().unwrap()],
    );
    assert!(support::wait_for(Duration::from_secs(60), || sb
        .startupz()
        .is_some_and(|v| v["status"] == "started")));
    let (code, doc, _) = status(&sb, &[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["supervisor"]["kind"], "launchd");
    assert_eq!(doc["supervisor"]["name"], "ai.openclaw.gateway");
    assert_eq!(doc["supervisor"]["main_pid"], doc["gateway"]["pid"]);
}

#[test]
fn split_install_two_clis_on_path() {
    let sb = support::unmanaged("2026.9.5");
    // A second, older install earlier on PATH's tail (e.g. a forgotten nvm prefix).
    let other = Sandbox::new();
    other.install("2026.9.4");
    let mut path = std::env::split_paths(&sb.path()).collect::<Vec<_>>();
    path.push(other.prefix.join("bin"));
    let out = sb
        .clawkit()
        .env("PATH", std::env::join_paths(path).unwrap())
        .args(["status", "--json"])
        .output()
        .unwrap();
    let doc = json_out(&out);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(doc["verdict"], "split-install");
    assert_eq!(doc["installs"].as_array().unwrap().len(), 2);
    assert!(doc["message"]
        .as_str()
        .unwrap()
        .contains("2 OpenClaw installs"));
}

#[test]
fn split_install_service_runs_another_package() {
    let sb = Sandbox::new().with_tool("systemctl");
    sb.install("2026.9.5");
    sb.config();
    // The unit points at another prefix (the classic nvm/Homebrew split brain).
    let other = Sandbox::new();
    other.install("2026.9.5");
    let unit = sb.systemd_unit("2026.9.5");
    let text = std::fs::read_to_string(&unit)
        .unwrap()
        .replace(sb.prefix.to_str().unwrap(), other.prefix.to_str().unwrap());
    std::fs::write(&unit, text).unwrap();
    let (code, doc, _) = status(&sb, &[]);
    assert_eq!(code, 3);
    assert_eq!(doc["verdict"], "split-install");
    assert!(doc["message"]
        .as_str()
        .unwrap()
        .contains("the systemd service runs"));
}

#[test]
fn named_profile_and_port_override() {
    let sb = Sandbox::new();
    sb.install("2026.9.5");
    let work = sb.home.join(".openclaw-work");
    let port = support::free_port();
    sb.write_config(&work, port);
    let (code, doc, _) = status(&sb, &["--profile", "work"]);
    assert_eq!(code, 3);
    assert_eq!(doc["profile"], "work");
    assert_eq!(doc["state_dir"], work.to_str().unwrap());
    assert_eq!(doc["port"], port);
    let (_, doc, _) = status(&sb, &["--profile", "work", "--port", "20001"]);
    assert_eq!(doc["port"], 20001);
    assert_eq!(doc["port_from"], "--port");
    let (_, doc, _) = status(&sb, &["--dev"]);
    assert_eq!(doc["port"], 19001);
    assert!(doc["state_dir"]
        .as_str()
        .unwrap()
        .ends_with(".openclaw-dev"));
}

#[test]
fn bad_profile_name_is_usage_error() {
    let sb = Sandbox::new();
    for bad in ["a b", "../etc", "-x", "x;rm -rf ~", ""] {
        let out = sb
            .clawkit()
            .arg("status")
            .arg(format!("--profile={bad}"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("profile"), "{err}");
    }
}

#[test]
fn unreadable_config_is_reported_not_fatal() {
    let sb = Sandbox::new();
    sb.install("2026.9.5");
    std::fs::create_dir_all(sb.state_dir()).unwrap();
    std::fs::write(
        sb.state_dir().join("openclaw.json"),
        format!("{{gateway: {{auth: {{token: '{}'", support::TOKEN),
    )
    .unwrap();
    let (code, doc, out) = status(&sb, &[]);
    assert_eq!(code, 3);
    assert!(doc["config_error"]
        .as_str()
        .unwrap()
        .contains("cannot parse"));
    assert_eq!(doc["port"], 18789);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn port_held_by_another_program() {
    let sb = Sandbox::new();
    sb.install("2026.9.5");
    sb.config();
    let listener = std::net::TcpListener::bind(("127.0.0.1", sb.port)).unwrap();
    let (code, doc, _) = status(&sb, &[]);
    drop(listener);
    assert_eq!(code, 3);
    assert_eq!(doc["gateway"]["state"], "foreign");
    assert!(doc["message"]
        .as_str()
        .unwrap()
        .contains("not an OpenClaw gateway"));
}

#[test]
fn symlink_loop_on_path() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.prefix.join("bin")).unwrap();
    let link = sb.prefix.join("bin/openclaw");
    std::os::unix::fs::symlink(&link, &link).unwrap();
    let (code, doc, _) = status(&sb, &[]);
    assert_eq!(code, 3);
    assert_eq!(doc["verdict"], "not-installed");
    assert!(doc["message"].as_str().unwrap().contains("symlink loop"));
}

#[test]
fn version_from_control_ui_config_when_startupz_is_html() {
    // 4.x-7.x gateways answer /startupz with the Control UI page: the probe must fall back to the
    // Bearer-protected control-ui-config endpoint, and never print the token.
    let sb = Sandbox::new();
    sb.install("2026.9.5");
    sb.config();
    let l = std::net::TcpListener::bind(("127.0.0.1", sb.port)).unwrap();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        for _ in 0..8 {
            let Ok((mut s, _)) = l.accept() else { break };
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let (ctype, body) = if req.starts_with("GET /healthz") {
                (
                    "application/json",
                    r#"{"ok":true,"status":"live"}"#.to_string(),
                )
            } else if req.starts_with("GET /__openclaw/control-ui-config.json")
                && req.contains(&format!("Bearer {}", support::TOKEN))
            {
                (
                    "application/json",
                    r#"{"serverVersion":"2026.6.11"}"#.to_string(),
                )
            } else {
                (
                    "text/html",
                    "<!doctype html><title>OpenClaw</title>".to_string(),
                )
            };
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let (code, doc, _) = status(&sb, &[]);
    assert_eq!(code, 3, "{doc:#}");
    assert_eq!(doc["gateway"]["version"], "2026.6.11");
    assert_eq!(doc["gateway"]["version_source"], "control-ui-config");
    assert_eq!(doc["verdict"], "skew");
    drop(server);
}

#[test]
fn all_profiles_lists_every_profile() {
    let sb = support::unmanaged("2026.9.5");
    let work = sb.home.join(".openclaw-work");
    let work_port = support::free_port();
    sb.write_config(&work, work_port);
    let out = sb
        .clawkit()
        .args(["status", "--all-profiles", "--json"])
        .output()
        .unwrap();
    assert_no_secret(&out);
    let doc = json_out(&out);
    assert_eq!(doc["all_profiles"], true);
    let profiles = doc["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), 2, "{doc:#}");
    assert_eq!(
        (
            profiles[0]["profile"].as_str(),
            profiles[0]["verdict"].as_str()
        ),
        (Some("default"), Some("ok"))
    );
    assert_eq!(
        (
            profiles[1]["profile"].as_str(),
            profiles[1]["verdict"].as_str()
        ),
        (Some("work"), Some("gateway-down"))
    );
    assert_eq!(doc["verdict"], "gateway-down");
    assert_eq!(out.status.code(), Some(3));
    let out = sb
        .clawkit()
        .args(["doctor", "--all-profiles", "--json"])
        .output()
        .unwrap();
    let doc = json_out(&out);
    assert_eq!(doc["profiles"].as_array().unwrap().len(), 2);
    assert_eq!(doc["profiles"][0]["profile"], "default");
    let both = sb
        .clawkit()
        .args(["status", "--all-profiles", "--profile", "x"])
        .output()
        .unwrap();
    assert_eq!(
        both.status.code(),
        Some(2),
        "--all-profiles and --profile conflict"
    );
}

/// The config was last written by a newer release than the installed CLI (a `--prefix` mix-up,
/// a naive downgrade): that OpenClaw refuses to start on it, so `gateway-down`'s "start it" would
/// not help. The verdict says so and its fix is the one that works.
#[test]
fn config_newer_than_the_installed_cli() {
    let sb = Sandbox::new();
    sb.install("2026.9.4");
    sb.config();
    let p = sb.state_dir().join("openclaw.json");
    let mut cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    cfg["meta"] = serde_json::json!({"lastTouchedVersion": "2026.9.5"});
    std::fs::write(&p, cfg.to_string()).unwrap();
    let (code, doc, _) = status(&sb, &[]);
    assert_eq!(code, 3, "{doc:#}");
    assert_eq!(doc["verdict"], "config-newer", "{doc:#}");
    assert!(
        doc["message"]
            .as_str()
            .unwrap()
            .contains("last written by OpenClaw 2026.9.5, newer than the installed 2026.9.4"),
        "{doc:#}"
    );
    let fix = doc["fix"].as_str().unwrap();
    assert!(
        fix.starts_with("clawkit update --to 2026.9.5")
            && fix.contains("clawkit rollback")
            && fix.contains("clawkit backups restore"),
        "{doc:#}"
    );
    // The fix works: the CLI the config asks for is installed; the verdict moves on.
    let out = sb
        .clawkit()
        .args(["update", "--to", "2026.9.5", "--yes"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, doc, _) = status(&sb, &[]);
    assert_eq!(doc["cli"]["version"], "2026.9.5", "{doc:#}");
    assert_eq!(doc["verdict"], "gateway-down", "{doc:#}");
}
