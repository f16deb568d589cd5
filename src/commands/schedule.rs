//! `clawkit schedule install|remove|status`: scheduled `clawkit update --yes --json`, the
//! standard way for each platform: a systemd user timer (`OnCalendar=`, `RandomizedDelaySec=`,
//! `Persistent=true`) with a oneshot service, or a LaunchAgent with `StartCalendarInterval`.
//! Channel, pin, min_release_age and notify come from the config file when the job runs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::report::{ScheduleInstallDoc, ScheduleRemoveDoc, ScheduleStatusDoc};
use anyhow::{Context, Result};

use crate::cli::{Global, ScheduleArgs, ScheduleCommand};
use crate::env::Env;
use crate::exec::Cmd;
use crate::exit::{Exit, Failure};
use crate::printer::{Printer, BOLD};

pub const UNIT: &str = "clawkit-update";
pub const LABEL: &str = "ai.clawkit.update";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Systemd,
    Launchd,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Systemd => "systemd",
            Kind::Launchd => "launchd",
        }
    }
}

fn kind(env: &Env) -> Result<(Kind, PathBuf), Failure> {
    if !cfg!(target_os = "macos") {
        if let Some(s) = env.which("systemctl") {
            // A systemctl binary is not a user manager (containers, WSL, `sudo -u` without a
            // session): ask the manager itself before writing anything.
            let reachable = Cmd::new(&s)
                .args(["--user", "show-environment"])
                .timeout(Duration::from_secs(10))
                .run()
                .is_ok_and(|o| o.success());
            if reachable {
                return Ok((Kind::Systemd, s));
            }
            return Err(Failure::refused(
                "systemctl is installed but no systemd user manager answers (`systemctl --user show-environment` failed)",
            )
            .with_fix(format!(
                "log in through a session that starts one (or `loginctl enable-linger $USER`), or use cron: {}",
                cron_lines(env)
            )));
        }
    }
    if let Some(l) = env.which("launchctl") {
        return Ok((Kind::Launchd, l));
    }
    Err(Failure::refused(
        "no service manager to schedule with: neither systemctl (systemd) nor launchctl (launchd) is on PATH",
    )
    .with_fix(format!("use cron instead: {}", cron_lines(env))))
}

/// The cron entry README.md shows (tests/operators.rs runs it as pasted from there).
pub const CRON_ENTRY: &str =
    "17 4 * * * mkdir -p ~/.cache/clawkit && clawkit update --yes --json >> ~/.cache/clawkit/update.log 2>&1";

/// The crontab lines for a host without a service manager: the PATH line cron needs to find
/// clawkit, node, npm and openclaw (its own PATH is /usr/bin:/bin), then the entry.
fn cron_lines(env: &Env) -> String {
    format!(
        "`crontab -e` and add these two lines:\n  PATH={}\n  {CRON_ENTRY}",
        env.get("PATH").unwrap_or("/usr/local/bin:/usr/bin:/bin")
    )
}

fn systemd_dir(env: &Env) -> Option<PathBuf> {
    env.path("XDG_CONFIG_HOME")
        .or_else(|| env.home().map(|h| h.join(".config")))
        .map(|d| d.join("systemd/user"))
}

fn launchd_plist(env: &Env) -> Option<PathBuf> {
    env.home().map(|h| {
        h.join("Library/LaunchAgents")
            .join(format!("{LABEL}.plist"))
    })
}

fn files(env: &Env, k: Kind) -> Vec<PathBuf> {
    match k {
        Kind::Systemd => systemd_dir(env)
            .map(|d| {
                vec![
                    d.join(format!("{UNIT}.service")),
                    d.join(format!("{UNIT}.timer")),
                ]
            })
            .unwrap_or_default(),
        Kind::Launchd => launchd_plist(env).into_iter().collect(),
    }
}

/// The job's command line: this clawkit, the global selection flags the user gave.
fn job_argv(g: &Global) -> Result<Vec<String>> {
    let exe = std::env::current_exe().context("cannot find clawkit's own path")?;
    let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
    let mut argv = vec![exe.to_string_lossy().into_owned()];
    if let Some(crate::layout::Profile::Named(p)) = &g.profile {
        argv.push("--profile".into());
        argv.push(p.clone());
    }
    if g.dev {
        argv.push("--dev".into());
    }
    if let Some(p) = &g.prefix {
        argv.push("--prefix".into());
        argv.push(p.to_string_lossy().into_owned());
    }
    argv.extend(["update", "--yes", "--json"].map(String::from));
    Ok(argv)
}

/// systemd's quoting for `ExecStart=`/`Environment=`: each word in double quotes, `\` `"`
/// escaped, `%` (specifiers) and `$` (variable expansion) doubled.
fn systemd_quote(a: &str) -> String {
    format!(
        "\"{}\"",
        a.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('%', "%%")
            .replace('$', "$$")
    )
}

/// What the job must see as the installing shell does: where the config file is and every
/// `CLAWKIT_*` override (the user manager passes none of the shell's environment).
fn job_env(env: &Env) -> Vec<(String, String)> {
    let mut v = vec![(
        "PATH".to_string(),
        env.get("PATH")
            .unwrap_or("/usr/local/bin:/usr/bin:/bin")
            .to_string(),
    )];
    for key in [
        "CLAWKIT_CONFIG",
        "CLAWKIT_CHANNEL",
        "CLAWKIT_PIN",
        "CLAWKIT_MIN_RELEASE_AGE",
        "CLAWKIT_NOTIFY",
        "CLAWKIT_KEEP",
        "CLAWKIT_TIMEOUT",
        "CLAWKIT_REHEARSAL",
        "XDG_CONFIG_HOME",
        "XDG_CACHE_HOME",
        "OPENCLAW_STATE_DIR",
        "OPENCLAW_HOME",
        "OPENCLAW_CONFIG_PATH",
    ] {
        if let Some(val) = env.get(key) {
            v.push((key.to_string(), val.to_string()));
        }
    }
    v
}

fn systemd_units(env: &Env, args: &ScheduleArgs, argv: &[String]) -> (String, String) {
    let environment: String = job_env(env)
        .iter()
        .map(|(k, v)| format!("Environment={}\n", systemd_quote(&format!("{k}={v}"))))
        .collect();
    let exec = argv
        .iter()
        .map(|a| systemd_quote(a))
        .collect::<Vec<_>>()
        .join(" ");
    let service = format!(
        "# Written by `clawkit schedule install`; remove with `clawkit schedule remove`.\n\
[Unit]\n\
Description=clawkit: update OpenClaw (scheduled)\n\
Wants=network-online.target\n\
After=network-online.target\n\
\n\
[Service]\n\
Type=oneshot\n\
# The environment of the shell that installed the schedule: where node, npm and openclaw are,\n\
# which config file and overrides apply.\n\
{environment}\
ExecStart={exec}\n\
TimeoutStartSec=2h\n\
# A gateway clawkit relaunches itself (one that no service manages) lives on in this unit's\n\
# cgroup: only clawkit is stopped when the job ends, and it gets time to undo on a stop.\n\
KillMode=process\n\
TimeoutStopSec=15min\n"
    );
    let days = if args.every == "weekly" { "Sun " } else { "" };
    let timer = format!(
        "# Written by `clawkit schedule install`; remove with `clawkit schedule remove`.\n\
[Unit]\n\
Description=clawkit: scheduled OpenClaw update\n\
\n\
[Timer]\n\
OnCalendar={days}*-*-* {:02}:{:02}:{:02}\n\
RandomizedDelaySec={}\n\
# On time (systemd's default accuracy is a minute; the delay above is the spread).\n\
AccuracySec=1s\n\
# A run missed while the machine was off happens at the next boot.\n\
Persistent=true\n\
\n\
[Install]\n\
WantedBy=timers.target\n",
        args.at.0,
        args.at.1,
        args.at.2,
        args.window.as_secs()
    );
    (service, timer)
}

fn launchd_xml(env: &Env, args: &ScheduleArgs, argv: &[String]) -> Result<Vec<u8>> {
    use plist::{Dictionary, Value};
    // launchd has no randomised delay: the window is turned into a fixed random offset, chosen
    // once at install time (so that a fleet does not update at the same minute).
    let offset = if args.window.as_secs() >= 60 {
        (std::process::id() as u64
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos() as u64))
            % (args.window.as_secs() / 60)
    } else {
        0
    };
    let minutes = args.at.0 as u64 * 60 + args.at.1 as u64 + offset;
    let mut cal = Dictionary::new();
    cal.insert("Hour".into(), Value::Integer(((minutes / 60) % 24).into()));
    cal.insert("Minute".into(), Value::Integer((minutes % 60).into()));
    if args.every == "weekly" {
        cal.insert("Weekday".into(), Value::Integer(0.into()));
    }
    let log = env
        .home()
        .map(|h| h.join("Library/Logs/clawkit-update.log"))
        .unwrap_or_else(|| PathBuf::from("/tmp/clawkit-update.log"));
    let mut envs = Dictionary::new();
    for (k, v) in job_env(env) {
        envs.insert(k, Value::String(v));
    }
    let mut d = Dictionary::new();
    d.insert("Label".into(), Value::String(LABEL.into()));
    d.insert(
        "ProgramArguments".into(),
        Value::Array(argv.iter().map(|a| Value::String(a.clone())).collect()),
    );
    d.insert("StartCalendarInterval".into(), Value::Dictionary(cal));
    d.insert("EnvironmentVariables".into(), Value::Dictionary(envs));
    d.insert(
        "StandardOutPath".into(),
        Value::String(log.to_string_lossy().into()),
    );
    d.insert(
        "StandardErrorPath".into(),
        Value::String(log.to_string_lossy().into()),
    );
    d.insert("RunAtLoad".into(), Value::Boolean(false));
    let mut out = Vec::new();
    plist::to_writer_xml(&mut out, &Value::Dictionary(d))?;
    Ok(out)
}

fn uid() -> u32 {
    nix::unistd::getuid().as_raw()
}

fn commands(k: Kind, bin: &Path, install: bool, plist: Option<&Path>) -> Vec<Cmd> {
    let c = |args: &[&str]| {
        Cmd::new(bin)
            .args(args.iter().copied())
            .timeout(Duration::from_secs(30))
    };
    let timer = format!("{UNIT}.timer");
    match (k, install) {
        (Kind::Systemd, true) => vec![
            c(&["--user", "daemon-reload"]),
            c(&["--user", "enable", "--now", &timer]),
        ],
        (Kind::Systemd, false) => vec![
            c(&["--user", "disable", "--now", &timer]),
            c(&["--user", "daemon-reload"]),
        ],
        (Kind::Launchd, true) => vec![c(&[
            "bootstrap",
            &format!("gui/{}", uid()),
            &plist
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ])],
        (Kind::Launchd, false) => vec![c(&["bootout", &format!("gui/{}/{LABEL}", uid())])],
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let tmp = path.with_extension("clawkit-tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    // 0600: the job's environment may hold a notify command with a webhook key.
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

pub fn run(env: &Env, g: &Global, cmd: &ScheduleCommand, p: &Printer) -> Result<Exit> {
    let (k, bin) = kind(env)?;
    let paths = files(env, k);
    match cmd {
        ScheduleCommand::Install(args) => {
            // The job reads the config file when it runs: a broken one must fail now, not at 4 am.
            let settings = crate::settings::load(env, &Default::default())?;
            let argv = job_argv(g)?;
            let contents: Vec<Vec<u8>> = match k {
                Kind::Systemd => {
                    let (s, t) = systemd_units(env, args, &argv);
                    vec![s.into_bytes(), t.into_bytes()]
                }
                Kind::Launchd => vec![launchd_xml(env, args, &argv)?],
            };
            let cmds = commands(k, &bin, true, paths.first().map(PathBuf::as_path));
            let when = format!(
                "{} at {:02}:{:02} + up to {}",
                args.every,
                args.at.0,
                args.at.1,
                humantime::format_duration(args.window)
            );
            if args.dry_run {
                p.line(format!(
                    "{} ({})",
                    p.paint(BOLD, "schedule plan"),
                    k.as_str()
                ));
                for (path, body) in paths.iter().zip(&contents) {
                    p.line(format!("  write {}:", path.display()));
                    for l in String::from_utf8_lossy(body).lines() {
                        p.line(format!("    {l}"));
                    }
                }
                for c in &cmds {
                    p.line(format!("  run {}", c.display()));
                }
            } else {
                if k == Kind::Launchd && paths.first().is_some_and(|p| p.exists()) {
                    // Replace a loaded agent: bootout first (ignore "not loaded").
                    for c in commands(k, &bin, false, None) {
                        let _ = c.run();
                    }
                }
                for (path, body) in paths.iter().zip(&contents) {
                    write_private(path, body)?;
                }
                for c in &cmds {
                    c.run_ok()?;
                }
                p.line(format!(
                    "scheduled: `{}` {when} ({}); channel {}, pin {}, min_release_age {} h",
                    crate::secret::redact_args(&argv[1..]).join(" "),
                    k.as_str(),
                    settings.channel.value.as_str(),
                    settings
                        .pin
                        .value
                        .as_ref()
                        .map_or("(none)".into(), |p| p.text.clone()),
                    settings.min_release_age.value
                ));
            }
            if p.json {
                p.json(&ScheduleInstallDoc {
                    kind: Some(k.as_str().into()),
                    files: paths.clone(),
                    when: Some(when),
                    command_line: crate::secret::redact_args(&argv),
                    commands: cmds.iter().map(Cmd::display).collect(),
                    ..ScheduleInstallDoc::new(
                        if args.dry_run { "planned" } else { "installed" },
                        Exit::Ok,
                    )
                });
            }
            Ok(Exit::Ok)
        }
        ScheduleCommand::Remove { dry_run } => {
            let present: Vec<&PathBuf> = paths.iter().filter(|p| p.exists()).collect();
            let cmds = commands(k, &bin, false, None);
            if *dry_run {
                for f in &present {
                    p.line(format!("  remove {}", f.display()));
                }
                for c in &cmds {
                    p.line(format!("  run {}", c.display()));
                }
            } else if !present.is_empty() {
                for c in &cmds {
                    // Already disabled or not loaded is fine: the files are what counts.
                    let _ = c.run();
                }
                for f in &present {
                    std::fs::remove_file(f)
                        .with_context(|| format!("cannot remove {}", f.display()))?;
                }
                if k == Kind::Systemd {
                    let _ = commands(k, &bin, true, None)[0].run();
                }
                p.line("schedule removed");
            } else {
                p.line("no schedule was installed");
            }
            if p.json {
                let outcome = if *dry_run {
                    "planned"
                } else if present.is_empty() {
                    "absent"
                } else {
                    "removed"
                };
                p.json(&ScheduleRemoveDoc {
                    kind: Some(k.as_str().into()),
                    files: present.into_iter().cloned().collect(),
                    ..ScheduleRemoveDoc::new(outcome, Exit::Ok)
                });
            }
            Ok(Exit::Ok)
        }
        ScheduleCommand::Status => {
            let installed = paths.iter().all(|p| p.exists()) && !paths.is_empty();
            let mut next = None;
            let mut last = None;
            let mut last_result = None;
            if installed && k == Kind::Systemd {
                let show = |unit: &str, props: &[&str]| {
                    crate::supervisor::systemd::show_unit(env, unit, props)
                };
                let t = show(
                    &format!("{UNIT}.timer"),
                    &["NextElapseUSecRealtime", "LastTriggerUSec"],
                );
                next = t.get("NextElapseUSecRealtime").cloned();
                last = t.get("LastTriggerUSec").cloned();
                let s = show(&format!("{UNIT}.service"), &["Result", "ExecMainStatus"]);
                last_result = last.as_ref().and(s.get("Result").cloned());
            }
            if installed {
                p.line(format!(
                    "schedule installed ({}): {}",
                    k.as_str(),
                    paths
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                if let Some(n) = &next {
                    p.line(format!("  next run: {n}"));
                }
                match (&last, &last_result) {
                    (Some(l), Some(r)) => p.line(format!("  last run: {l} ({r})")),
                    (Some(l), None) => p.line(format!("  last run: {l}")),
                    _ => p.line("  last run: never"),
                }
                if k == Kind::Systemd {
                    p.line(format!("  its output: journalctl --user -u {UNIT}.service"));
                }
            } else {
                p.line("no schedule installed (`clawkit schedule install` adds one)");
            }
            if p.json {
                p.json(&ScheduleStatusDoc {
                    kind: Some(k.as_str().into()),
                    files: paths.clone(),
                    next_run: next,
                    last_run: last,
                    last_result,
                    ..ScheduleStatusDoc::new(if installed { "present" } else { "absent" }, Exit::Ok)
                });
            }
            Ok(Exit::Ok)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_quote_every_word_and_carry_the_window() {
        let env = Env::from_pairs([("PATH", "/opt/node/bin:/usr/bin")]);
        let args = ScheduleArgs {
            every: "weekly".into(),
            at: (4, 5, 0),
            window: Duration::from_secs(1800),
            dry_run: false,
        };
        let (s, t) = systemd_units(
            &env,
            &args,
            &[
                "/opt/my clawkit/clawkit".into(),
                "update".into(),
                "100%$HOME".into(),
            ],
        );
        assert!(
            s.contains(r#"ExecStart="/opt/my clawkit/clawkit" "update" "100%%$$HOME""#),
            "{s}"
        );
        assert!(
            s.contains(r#"Environment="PATH=/opt/node/bin:/usr/bin""#),
            "{s}"
        );
        assert!(s.contains("KillMode=process"), "{s}");
        assert!(t.contains("OnCalendar=Sun *-*-* 04:05:00"), "{t}");
        assert!(t.contains("RandomizedDelaySec=1800"), "{t}");
        assert!(t.contains("Persistent=true"), "{t}");
    }
}
