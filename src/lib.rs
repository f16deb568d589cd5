//! clawkit: keeps OpenClaw installs healthy.
//!
//! Pipeline, read from the file tree: `cli` (the request, validated whole by clap) → `probe`
//! (read-only snapshot: `install`, `node`, `layout`, `config`, `gateway`, `supervisor`,
//! `identify`, interrupted operations from `record`) → `member` (which gateways, each identified)
//! → `commands::*` build a plan (`commands::update::plan`) → `txn` (one transaction: each change
//! logged in its `record` with its undo before it is made, under `oplock`, with `backup`) built
//! from `steps` → `journal`. Every external
//! program is run through `exec` from one builder module each (`npm`, `openclaw`,
//! `supervisor::*`).

pub mod backup;
pub mod cli;
pub mod commands;
pub mod completion;
pub mod config;
pub mod env;
pub mod exec;
pub mod exit;
pub mod gateway;
pub mod http;
pub mod identify;
pub mod install;
pub mod journal;
pub mod layout;
pub mod logscan;
pub mod member;
pub mod node;
pub mod npm;
pub mod openclaw;
pub mod oplock;
pub mod pairing;
pub mod printer;
pub mod probe;
pub mod proc;
pub mod record;
pub mod rehearsal;
pub mod report;
pub mod secret;
pub mod settings;
pub mod signals;
pub mod steps;
pub mod supervisor;
pub mod txn;
pub mod version;

use clap::{CommandFactory, Parser};

use crate::cli::{Cli, Command};
use crate::exit::{exit_for, Exit};
use crate::printer::{Printer, RED};

/// Runs clawkit with these arguments and environment; returns the process exit code.
pub fn run(args: Vec<std::ffi::OsString>, env: env::Env) -> u8 {
    let arg0 = args.first().cloned().unwrap_or_else(|| "clawkit".into());
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            if let Some(doc) = usage_document(&args, &e) {
                let text = serde_json::to_string_pretty(&doc).expect("reports serialize");
                println!("{text}");
            }
            use clap::error::{ContextKind, ContextValue, ErrorKind};
            match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = e.print();
                    return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                        Exit::Usage.code()
                    } else {
                        0
                    };
                }
                ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
                    // Our own line: clap would echo a 10 KB value back in full.
                    let arg = match e.get(ContextKind::InvalidArg) {
                        Some(ContextValue::String(s)) => s.clone(),
                        _ => "a value".into(),
                    };
                    let value = match e.get(ContextKind::InvalidValue) {
                        Some(ContextValue::String(s)) => s.clone(),
                        _ => String::new(),
                    };
                    let shown: String = secret::redact_url(&value).chars().take(60).collect();
                    let more = if value.chars().count() > 60 {
                        "…"
                    } else {
                        ""
                    };
                    let why = std::error::Error::source(&e)
                        .map(|s| format!(": {s}"))
                        .unwrap_or_default();
                    let why: String = why.chars().take(400).collect();
                    eprintln!("error: invalid value {shown:?}{more} for {arg}{why}\n\nFor more information, try '--help'.");
                }
                _ => {
                    // A value the user put in the wrong place may hold a credential.
                    eprint!("{}", secret::redact_text(&e.render().to_string()));
                }
            }
            return Exit::Usage.code();
        }
    };
    let printer = Printer::new(cli.global.json, cli.global.quiet, &env);
    let result = match &cli.command {
        Command::Status(args) => commands::status::run(&env, &cli.global, args, &printer),
        Command::Resume => commands::resume::run(&env, &cli.global, &printer),
        Command::Update(args) => commands::update::run(&env, &cli.global, args, &printer),
        Command::Doctor(args) => commands::doctor::run(&env, &cli.global, args, &printer),
        Command::Rollback(args) => commands::rollback::run(&env, &cli.global, args, &printer),
        Command::Repair(cmd) => commands::repair::run(&env, &cli.global, cmd, &printer),
        Command::Backups(cmd) => commands::backups::run(&env, &cli.global, cmd, &printer),
        Command::Reset(cmd) => commands::repair::reset(&env, &cli.global, cmd, &printer),
        Command::History(args) => commands::history::run(&env, &cli.global, args, &printer),
        Command::Config(cmd) => commands::config::run(&env, cmd, &printer),
        Command::Schedule(cmd) => commands::schedule::run(&env, &cli.global, cmd, &printer),
        Command::ShellInit { shell } => commands::intercept::snippet(shell)
            .map(|s| {
                print!("{s}");
                Exit::Ok
            })
            .map_err(Into::into),
        Command::Intercept { tool, args } => {
            // The shell functions call `intercept TOOL -- ARGS`; clap consumes that `--`, so
            // the user's own `npm -- …` reaches npm as typed.
            commands::intercept::run(&env, tool, args, &printer)
        }
        Command::Man { out: None } => {
            let man = clap_mangen::Man::new(Cli::command());
            let mut out = std::io::stdout();
            man.render(&mut out).map(|_| Exit::Ok).map_err(Into::into)
        }
        Command::Man { out: Some(dir) } => write_man_pages(dir, &printer),
        Command::Completions { shell } => completion::registration(*shell, &arg0).map(|s| {
            print!("{s}");
            Exit::Ok
        }),
    };
    match result {
        Ok(exit) => exit.code(),
        Err(err) => {
            report_error(&printer, &cli, &err);
            exit_for(&err).code()
        }
    }
}

/// With `--json`, a command line the parser rejects still prints its command's document
/// (`outcome` "usage", exit 2): the command is found from the words that name it (and the flags
/// that choose its document: `--check`, `--resume`, `--all-profiles`), parsed alone. None for
/// help and version, without `--json`, or when no command can be made out.
fn usage_document(args: &[std::ffi::OsString], e: &clap::Error) -> Option<report::Document> {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        return None;
    }
    let words: Vec<&str> = args.iter().skip(1).filter_map(|a| a.to_str()).collect();
    if !words
        .iter()
        .take_while(|w| **w != "--")
        .any(|w| *w == "--json")
    {
        return None;
    }
    let mut minimal = vec!["clawkit".to_string()];
    let mut cmd = Cli::command();
    cmd.build(); // global flags (`--profile NAME`) reach the subcommands
    let mut it = words.iter().take_while(|w| **w != "--");
    while let Some(w) = it.next() {
        if let Some(flag) = w.strip_prefix('-') {
            // A flag's separate value (`--profile work`) is not a command word.
            let takes_value = !flag.contains('=')
                && cmd.get_arguments().any(|a| {
                    let named = match flag.strip_prefix('-') {
                        Some(long) => a.get_long() == Some(long),
                        None => flag.len() == 1 && a.get_short() == flag.chars().next(),
                    };
                    named && a.get_action().takes_values()
                });
            if takes_value {
                it.next();
            }
            continue;
        }
        match cmd.find_subcommand(w) {
            Some(sub) if !sub.is_hide_set() => {
                minimal.push(sub.get_name().to_string());
                cmd = sub.clone();
            }
            _ => break,
        }
    }
    if minimal.len() == 1 {
        return None;
    }
    // A required operand that is missing or bad (`backups restore` without an id): a
    // placeholder, so that the command's document can be chosen.
    let operands = cmd
        .get_positionals()
        .filter(|a| a.is_required_set())
        .count();
    minimal.extend(std::iter::repeat_n("x".to_string(), operands));
    // The flags that choose the document, where this command has them; if they conflict, the
    // command's plain document.
    let base = minimal.clone();
    for flag in ["--check", "--resume", "--all-profiles"] {
        let defined = cmd
            .get_arguments()
            .any(|a| a.get_long() == flag.strip_prefix("--"));
        if defined && words.contains(&flag) {
            minimal.push(flag.to_string());
        }
    }
    let command = Cli::try_parse_from(&minimal)
        .or_else(|_| Cli::try_parse_from(&base))
        .ok()?
        .command;
    let first = e.to_string();
    let first = first.lines().next().unwrap_or("bad usage");
    let error = secret::redact_text(first.trim_start_matches("error: "))
        .chars()
        .take(200)
        .collect();
    let failed = report::Failed {
        outcome: "usage",
        exit: Exit::Usage,
        error,
        fix: Some(format!("see `{} --help`", minimal.join(" "))),
    };
    report::failure(&command, &failed)
}

fn report_error(p: &Printer, cli: &Cli, err: &anyhow::Error) {
    let failed = report::Failed::from_error(err);
    if p.json {
        if let Some(doc) = report::failure(&cli.command, &failed) {
            p.json(&doc);
        }
    }
    p.alert(format!("{} {}", p.paint(RED, "error:"), failed.error));
    if let Some(fix) = &failed.fix {
        p.alert(format!("  fix: {fix}"));
    }
}

/// `clawkit man --out DIR`: clawkit.1 and one page per visible command (`clawkit-update.1`,
/// `clawkit-repair-pairing.1`, …), as the main page's SEE ALSO names them.
fn write_man_pages(dir: &std::path::Path, p: &Printer) -> anyhow::Result<Exit> {
    use anyhow::Context;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    fn walk(
        cmd: clap::Command,
        name: String,
        dir: &std::path::Path,
        written: &mut Vec<std::path::PathBuf>,
    ) -> anyhow::Result<()> {
        let cmd = cmd.name(name.clone()).bin_name(name.replace('-', " "));
        let path = dir.join(format!("{name}.1"));
        let mut buf = Vec::new();
        clap_mangen::Man::new(cmd.clone()).render(&mut buf)?;
        std::fs::write(&path, buf).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(
                sub.clone(),
                format!("{name}-{}", sub.get_name()),
                dir,
                written,
            )?;
        }
        Ok(())
    }
    let mut written = Vec::new();
    // Built first: the global flags (--profile, --json, …) propagate into every subcommand.
    let mut root = Cli::command();
    root.build();
    walk(root, "clawkit".into(), dir, &mut written)?;
    p.line(format!(
        "wrote {} man pages to {}",
        written.len(),
        dir.display()
    ));
    Ok(Exit::Ok)
}
