//! The command line. Raw flags live here; `commands::*` turn them into validated plans.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use clap_complete::engine::ArgValueCompleter;

use crate::layout::Profile;
pub use crate::npm::Target;
use crate::version::Version;

#[derive(Debug, Parser)]
#[command(
    name = "clawkit",
    version,
    about = "Keeps OpenClaw installs healthy: skew-free updates, a fast doctor, safe repairs",
    long_about = "Keeps OpenClaw installs healthy.\n\n\
        `npm install -g openclaw@latest` replaces the CLI while the old gateway keeps running; the \
        two then disagree about device tokens and devices fall into a `pairing required` loop. \
        clawkit updates with the gateway stopped, migrated, restarted and verified, and diagnoses \
        and repairs installs that are already skewed.",
    after_help = crate::exit::CONTRACT,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct Global {
    /// Print one JSON document on stdout instead of text
    #[arg(long, global = true)]
    pub json: bool,
    /// Only print warnings and errors
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// OpenClaw profile: state in ~/.openclaw-NAME (as `openclaw --profile NAME`)
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        conflicts_with = "dev",
        value_parser = parse_profile,
        add = ArgValueCompleter::new(crate::completion::profiles)
    )]
    pub profile: Option<Profile>,
    /// The dev profile (~/.openclaw-dev, port 19001), as `openclaw --dev`
    #[arg(long, global = true)]
    pub dev: bool,
    /// Act on the OpenClaw installed under this npm prefix instead of the one on PATH
    #[arg(long, global = true, value_name = "DIR", value_parser = parse_prefix, value_hint = clap::ValueHint::DirPath)]
    pub prefix: Option<PathBuf>,
    /// Gateway port (default: OPENCLAW_GATEWAY_PORT, then gateway.port in the config, then 18789)
    #[arg(long, global = true, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show installed and running versions and a verdict (ok, skew, split-install, gateway-down, not-installed)
    #[command(
        after_help = "Verdicts and exit codes: ok → 0; skew, split-install, config-newer, gateway-down, interrupted, not-installed → 3.\n\nStarts no Node process when the gateway is 8.x or newer; answers in milliseconds."
    )]
    Status(StatusArgs),
    /// Update OpenClaw with the gateway stopped, migrated, restarted and verified; roll back on failure
    Update(Box<UpdateArgs>),
    /// Diagnose skew, the pairing loop, token files, locks, config and service, with the exact fix
    Doctor(DoctorArgs),
    /// Return to the version before the last `clawkit update`, with its state backup
    Rollback(RollbackArgs),
    /// Finish an operation that was interrupted (clawkit killed, power loss): undo it and verify
    #[command(after_help = "\
A mutating command that is killed leaves its undo log (inflight.json, mode 0600) behind; `status` \
and `doctor` report it, and the next mutating command runs this first. It finishes a verified \
operation forward; drops the record when the previous version is in fact serving; refuses (exit 6, \
with the manual steps) when the state changed after the record was written; otherwise backs up \
the current state and undoes every change, then verifies the gateway (exit 4).")]
    Resume,
    /// Repairs: `repair pairing` (the full resync), `repair lock` (stale gateway locks)
    #[command(subcommand)]
    Repair(RepairCommand),
    /// Backups made by clawkit: list, show, restore
    #[command(subcommand)]
    Backups(BackupsCommand),
    /// Resets: `reset devices` removes all device pairing state (backed up first)
    #[command(subcommand)]
    Reset(ResetCommand),
    /// The update journal: when, from → to, outcome, outage
    History(HistoryArgs),
    /// clawkit's own settings: `config show` prints each one and where it came from
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Scheduled updates: a systemd user timer (Linux) or a LaunchAgent (macOS)
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Print the shell alias that routes `npm install -g openclaw…` to `clawkit update`
    #[command(after_help = "\
Add to your shell profile:\n\
  bash (~/.bashrc):  eval \"$(clawkit shell-init bash)\"\n\
  zsh  (~/.zshrc):   eval \"$(clawkit shell-init zsh)\"\n\
  fish (config.fish): clawkit shell-init fish | source\n\n\
Then a global install or update of OpenClaw (`npm i -g openclaw@latest`, `npm update -g openclaw`, \
`pnpm add -g openclaw`, `bun add -g openclaw`, flags in any position) runs the matching \
`clawkit update` and says so: `--dry-run`, `--tag`, `--registry`, `--prefix`, `--yes` and a local \
tarball carry over; a flag clawkit cannot honour (`--force`, `--ignore-scripts`, `--omit`, …) is \
refused, naming the flag. Everything else goes to the real tool unchanged, with its exit code. \
Bypass once with CLAWKIT_BYPASS=1.")]
    ShellInit {
        /// bash, zsh or fish
        shell: String,
    },
    /// Decide and run one package-manager command (used by the shell-init functions)
    #[command(hide = true)]
    Intercept {
        /// npm, pnpm or bun
        tool: String,
        /// The tool's arguments
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Print the man page (roff), or with --out write one page per command
    Man {
        /// Write clawkit.1 and clawkit-<command>.1 (e.g. clawkit-update.1) into this directory
        #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
        out: Option<PathBuf>,
    },
    /// Print the shell script that completes commands, flags and values (versions, backups, profiles)
    Completions {
        /// bash, zsh, fish, powershell or elvish
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args, Clone)]
#[command(after_help = "\
Checks: install, node, gateway, version-skew, install-changed, pairing-loop (logs), pairing-state \
(JSON or SQLite era), lock, config, service, last-update; --deep adds OpenClaw's own doctor.\n\
Then the pairing-loop diagnosis: (1) approval succeeds but `pairing required` comes back, \
(2) it started right after an update, (3) CLI and gateway versions differ.\n\n\
Exit codes: 0 no warning or failure, 3 problems found, 1 the doctor itself could not run.\n\
Without --deep it starts no OpenClaw process and answers in milliseconds.")]
pub struct DoctorArgs {
    /// Also run `openclaw doctor --lint` (a Node start, 6-11 s) and fold in its findings
    #[arg(long)]
    pub deep: bool,
    /// How far back to read the logs (e.g. 30m, 2h, 1d)
    #[arg(long, value_name = "DURATION", value_parser = parse_since)]
    pub since: Option<std::time::Duration>,
    /// Every profile on this host (~/.openclaw, ~/.openclaw-*, their services)
    #[arg(long, conflicts_with_all = ["profile", "dev", "port"])]
    pub all_profiles: bool,
}

#[derive(Debug, Args, Clone)]
pub struct StatusArgs {
    /// Every profile on this host (~/.openclaw, ~/.openclaw-*, their services)
    #[arg(long, conflicts_with_all = ["profile", "dev", "port"])]
    pub all_profiles: bool,
}

#[derive(Debug, Args, Clone)]
#[command(after_help = "\
Steps: preflight (lock, probe, resolve target, checks) → stage the new version beside the old \
one while the gateway keeps serving → rehearse (the staged release migrates and boots a private \
copy of the state) → stop the gateway → back up state → swap → migrate (openclaw doctor --fix) → \
start → health gate → verify CLI == gateway == target → journal.\n\
A release the rehearsal rejects is refused with the gateway never stopped (exit 6). Any failure \
after the stop rolls back: old package, state restored byte for byte, old gateway restarted and \
verified (exit 4).

Which release: --to, else the channel's dist-tag (stable → latest, extended-stable, beta), \
within --pin, and for a tag no younger than --min-release-age hours. --channel, --pin, \
--min-release-age, --notify, --keep, --timeout and --no-rehearsal also come from \
CLAWKIT_<KEY> or ~/.config/clawkit/config.toml (`clawkit config show`).

Examples:
  clawkit update                     update to the latest release
  clawkit update --check             is there an update? (exit 7 when there is)
  clawkit update --to 2026.9.5 --yes a pinned version, no prompt (CI)
  clawkit update --dry-run           show the plan and change nothing
  clawkit update --package ./openclaw-2026.9.5.tgz   air-gapped install")]
pub struct UpdateArgs {
    /// Target version or dist-tag [default: the channel's tag, `latest` for stable]
    #[arg(
        long,
        value_name = "VERSION|TAG",
        conflicts_with = "package",
        value_parser = parse_target,
        add = ArgValueCompleter::new(crate::completion::targets)
    )]
    pub to: Option<Target>,
    /// Only say whether an update is available: exit 0 when current, 7 when there is one
    #[arg(long, conflicts_with_all = ["dry_run", "resume", "package", "install"])]
    pub check: bool,
    /// Update channel: stable (dist-tag latest), extended-stable, beta
    #[arg(long, value_name = "CHANNEL", value_parser = parse_channel)]
    pub channel: Option<crate::settings::Channel>,
    /// Never leave this version or range (2026.9, ~2026.9.5, ">=2026.9.4 <2026.10")
    #[arg(long, value_name = "RANGE")]
    pub pin: Option<String>,
    /// Do not take a release from a tag until it is this many hours old
    #[arg(long, value_name = "HOURS", value_parser = clap::value_parser!(u64).range(0..=8760))]
    pub min_release_age: Option<u64>,
    /// Run this command with the JSON report on stdin after an update, rollback or refusal
    #[arg(long, value_name = "COMMAND")]
    pub notify: Option<String>,
    /// Install this npm tarball instead (air-gapped and CI installs)
    #[arg(long, value_name = "FILE.tgz", value_parser = parse_package, value_hint = clap::ValueHint::FilePath)]
    pub package: Option<PathBuf>,
    /// npm registry URL
    #[arg(long, value_name = "URL", value_parser = parse_registry, value_hint = clap::ValueHint::Url)]
    pub registry: Option<Registry>,
    /// Allow a fresh install when the npm prefix has no OpenClaw yet (CI provisioning)
    #[arg(long)]
    pub install: bool,
    /// Show the plan with the exact commands, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Install into the real prefix with the gateway stopped, instead of staging beside it
    #[arg(long)]
    pub in_place: bool,
    /// Allow installing an older version than the current one
    #[arg(long)]
    pub allow_downgrade: bool,
    /// Start the gateway afterwards even if none was running
    #[arg(long, conflicts_with = "no_start")]
    pub start: bool,
    /// Do not start the gateway afterwards
    #[arg(long)]
    pub no_start: bool,
    /// Seconds the new gateway gets to become healthy [default: 120]
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: Option<u64>,
    /// Previous package copies to keep for instant rollback [default: 1]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=20))]
    pub keep: Option<u64>,
    /// Only finish an interrupted operation (the same as `clawkit resume`)
    #[arg(long)]
    pub resume: bool,
    /// Seconds a gateway gets to stop before it is killed (SIGKILL)
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub stop_timeout: u64,
    /// Skip the rehearsal (the new release migrating and booting a private copy of the state
    /// before the gateway is stopped)
    #[arg(long, conflicts_with = "rehearsal")]
    pub no_rehearsal: bool,
    /// Rehearse even when the config says `rehearsal = false`
    #[arg(long)]
    pub rehearsal: bool,
}

impl UpdateArgs {
    /// What the flags say about the settings that also come from env and the config file.
    pub fn setting_flags(&self) -> crate::settings::Flags {
        crate::settings::Flags {
            channel: self.channel,
            pin: self.pin.clone(),
            min_release_age: self.min_release_age,
            notify: self.notify.clone(),
            keep: self.keep,
            timeout: self.timeout,
            rehearsal: if self.no_rehearsal {
                Some(false)
            } else if self.rehearsal {
                Some(true)
            } else {
                None
            },
        }
    }
}

#[derive(Debug, Args, Clone)]
#[command(after_help = "\
Uses the newest successful `clawkit update` in the journal: the previous package kept in \
<prefix>/lib/clawkit/previous/ is swapped back (instant, offline), or the exact previous version \
is reinstalled with npm when it is gone; the state backup of that update is restored (an older \
binary refuses a config written by a newer one), the gateway restarted and verified. The current \
state is backed up first, so a rollback can itself be undone.")]
pub struct RollbackArgs {
    /// The version to return to (default: the one before the last update)
    #[arg(long, value_name = "VERSION", value_parser = parse_version)]
    pub to: Option<Version>,
    /// Show what would happen, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Seconds the gateway gets to become healthy
    #[arg(long, value_name = "SECS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// The effective settings: value and source (flag, env CLAWKIT_*, file, default)
    #[command(after_help = "\
The file is $CLAWKIT_CONFIG, else $XDG_CONFIG_HOME/clawkit/config.toml, else \
~/.config/clawkit/config.toml. Keys (each also CLAWKIT_<KEY> and an `update` flag):
  channel = \"stable\"        stable (dist-tag latest), extended-stable, beta
  pin = \"2026.9\"            a version or npm range `update` will not leave
  min_release_age = 48        hours a release must be public before a tag brings it
  notify = \"/usr/local/bin/notify-openclaw\"   gets the JSON report on stdin
  keep = 1                    previous packages kept for instant rollback
  timeout = 120               seconds the new gateway gets to become healthy
  rehearsal = true            rehearse on a copy of the state before the outage")]
    Show,
    /// Print where the config file is read from
    Path,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Write and enable the timer (systemd) or LaunchAgent (launchd)
    #[command(after_help = "\
The job runs `clawkit update --yes --json` (channel, pin, min_release_age and notify come from \
the config file) at a random minute within --window of the chosen time, and logs to the \
journal (systemd) or ~/Library/Logs/clawkit-update.log (launchd). `schedule status` shows the \
next and the last run; `schedule remove` undoes it.")]
    Install(ScheduleArgs),
    /// Stop and remove the timer or LaunchAgent
    Remove {
        /// Show what would be removed, change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Is a schedule installed; when does it run next; how did the last run end
    Status,
}

#[derive(Debug, Args, Clone)]
pub struct ScheduleArgs {
    /// When: daily or weekly
    #[arg(long, default_value = "daily", value_parser = ["daily", "weekly"])]
    pub every: String,
    /// Time of day (HH:MM or HH:MM:SS, local time) the window opens
    #[arg(long, default_value = "04:00", value_parser = parse_hhmm)]
    pub at: (u8, u8, u8),
    /// How long the window is: the run starts at a random moment within it (e.g. 30m, 2h)
    #[arg(long, default_value = "1h", value_parser = parse_since)]
    pub window: std::time::Duration,
    /// Show the files and commands, change nothing
    #[arg(long)]
    pub dry_run: bool,
}

fn parse_hhmm(s: &str) -> Result<(u8, u8, u8), String> {
    const SHAPE: &str = "expected HH:MM (or HH:MM:SS), e.g. 04:30";
    let parts: Vec<&str> = s.trim().split(':').collect();
    let n = |i: usize| -> Result<u8, String> {
        parts
            .get(i)
            .map_or(Ok(0), |p| p.parse::<u8>().map_err(|_| SHAPE.to_string()))
    };
    if !(2..=3).contains(&parts.len()) {
        return Err(SHAPE.into());
    }
    let (h, m, sec) = (n(0)?, n(1)?, n(2)?);
    if h > 23 || m > 59 || sec > 59 {
        return Err("expected HH 00-23, MM and SS 00-59".into());
    }
    Ok((h, m, sec))
}

#[derive(Debug, Subcommand)]
pub enum ResetCommand {
    /// The last resort: back up and remove all device pairing state, then re-pair every device
    #[command(after_help = "\
Stops the gateway, backs up devices/ and identity/ (and state/openclaw.sqlite), removes the \
JSON-era files (SQLite era: `openclaw devices clear --pending` once the gateway runs again), \
starts and verifies the gateway, and prints how to re-pair each device. Needs --yes.")]
    Devices {
        /// Confirm: every paired device will have to pair again
        #[arg(long, short = 'y')]
        yes: bool,
        /// Show what would happen, change nothing
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RepairCommand {
    /// The full pairing resync: stop, back up and clear the stale pairing state and locks, start,
    /// approve once, verify
    #[command(after_help = "\
Steps: refuse when the CLI and the gateway run different versions (run `clawkit update` first) → \
stop the gateway → back up devices/, identity/ and the state database → clear the stale pairing \
state (JSON era: devices/paired.json and pending.json, keeping identity/device.json; SQLite era: \
`openclaw devices clear --pending` through the running gateway, never by writing the database) → \
remove stale locks → start and health-gate → approve the chosen pending request → verify that N \
requests in a row succeed and no new `pairing required` is logged. If the gateway does not come \
back, the state is restored from the backup and the gateway restarted (exit 1 with the backup).")]
    Pairing {
        /// Approve this pending request id afterwards
        #[arg(long, value_name = "REQUEST_ID", conflicts_with = "approve_latest")]
        approve: Option<String>,
        /// Approve the newest pending request afterwards
        #[arg(long)]
        approve_latest: bool,
        /// Requests that must succeed in a row afterwards
        #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=50))]
        verify: u32,
        /// Also clear the CLI's cached device tokens (identity/device-auth.json)
        #[arg(long)]
        include_cli_token: bool,
        /// Do not ask for confirmation
        #[arg(long, short = 'y')]
        yes: bool,
        /// Show what would happen, change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Remove gateway lock files whose process is gone and whose port is free
    Lock {
        /// Show what would be removed, change nothing
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum BackupsCommand {
    /// List backups, newest first
    List,
    /// Show one backup's manifest (paths, sizes, modes, checksums)
    Show {
        /// Backup id (a unique prefix is enough)
        #[arg(add = ArgValueCompleter::new(crate::completion::backup_ids))]
        id: String,
    },
    /// Restore a backup with the gateway stopped; the current state is backed up first
    Restore {
        /// Backup id (a unique prefix is enough)
        #[arg(add = ArgValueCompleter::new(crate::completion::backup_ids))]
        id: String,
        /// Do not ask for confirmation
        #[arg(long, short = 'y')]
        yes: bool,
        /// Show what would happen, change nothing
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Args, Clone)]
pub struct HistoryArgs {
    /// How many entries to show
    #[arg(short = 'n', long = "limit", value_name = "N", default_value_t = 20)]
    pub limit: usize,
    #[command(subcommand)]
    pub show: Option<HistoryCommand>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum HistoryCommand {
    /// Show one run's steps (default: the newest)
    Show {
        /// Journal id (a unique prefix is enough)
        id: Option<String>,
    },
}

// ---------------------------------------------------------------------------------------------
// Value parsers: every flag is validated into its type by clap, so a bad request is a usage
// error (exit 2) before anything is probed, locked, resumed or changed.

fn parse_profile(s: &str) -> Result<Profile, String> {
    Profile::parse(s).map_err(|f| f.message)
}

fn parse_prefix(s: &str) -> Result<PathBuf, String> {
    if s.trim().is_empty() {
        return Err("the prefix is empty".into());
    }
    let p = PathBuf::from(s);
    Ok(std::path::absolute(&p).unwrap_or(p))
}

fn parse_target(s: &str) -> Result<Target, String> {
    Target::parse(s).map_err(|_| {
        "neither an OpenClaw version (2026.9.5, 2026.7.1-2) nor a dist-tag (latest, beta)".into()
    })
}

fn parse_channel(s: &str) -> Result<crate::settings::Channel, String> {
    crate::settings::Channel::parse(s)
        .ok_or_else(|| "expected stable, extended-stable or beta".into())
}

fn parse_version(s: &str) -> Result<Version, String> {
    s.trim()
        .parse()
        .map_err(|e: crate::version::ParseError| e.to_string())
}

fn parse_package(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    let abs = std::path::absolute(&p).unwrap_or(p);
    match std::fs::metadata(&abs) {
        Ok(m) if m.is_file() => Ok(abs),
        Ok(_) => Err(format!(
            "{} is not a file: pass an npm tarball (create one with `npm pack openclaw@VERSION`)",
            abs.display()
        )),
        Err(e) => Err(format!("{}: {e}", abs.display())),
    }
}

fn parse_since(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("not a duration like 30m, 2h or 1d ({e})"))
}

/// An npm registry: an http(s) URL without whitespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry(pub url::Url);

impl std::fmt::Display for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.as_str())
    }
}

fn parse_registry(s: &str) -> Result<Registry, String> {
    let u = url::Url::parse(s.trim()).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none_or(str::is_empty) {
        return Err("not an http(s) registry URL".into());
    }
    Ok(Registry(u))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for args in [
            vec!["clawkit", "update", "--to", "$(id)"],
            vec!["clawkit", "update", "--registry", "file:///etc/passwd"],
            vec!["clawkit", "update", "--registry", "not a url"],
            vec!["clawkit", "update", "--package", "/nonexistent/x.tgz"],
            vec!["clawkit", "--profile", "../x", "status"],
            vec!["clawkit", "--prefix", "", "status"],
            vec!["clawkit", "doctor", "--since", "yesterday-ish"],
            vec!["clawkit", "rollback", "--to", "1.x"],
        ] {
            assert!(Cli::try_parse_from(&args).is_err(), "{args:?}");
        }
        let ok = Cli::try_parse_from([
            "clawkit",
            "update",
            "--to",
            "2026.9.5",
            "--registry",
            "https://r.example/",
        ])
        .unwrap();
        let Command::Update(u) = ok.command else {
            panic!()
        };
        assert_eq!(u.to, Some(Target::Version("2026.9.5".parse().unwrap())));
        assert_eq!(u.registry.unwrap().to_string(), "https://r.example/");
    }
}
