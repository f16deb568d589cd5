//! The shell alias: `clawkit shell-init bash|zsh|fish` prints functions that route `npm`, `pnpm`
//! and `bun` through `clawkit intercept`, which recognises every way of installing or updating
//! OpenClaw globally and runs `clawkit update` instead; everything else goes to the real tool
//! unchanged (same arguments, same exit code).

use std::ffi::OsString;
use std::os::unix::process::CommandExt;

use anyhow::{Context, Result};

use crate::env::Env;
use crate::exit::{Exit, Failure};
use crate::install::PACKAGE;
use crate::npm::Target;
use crate::printer::Printer;

/// What to do with one package-manager command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Run `clawkit update` with these arguments instead.
    Update(Vec<String>),
    /// Not an OpenClaw install: run the tool unchanged.
    Pass,
    /// An OpenClaw install mixed with something clawkit cannot do for the user.
    Refuse(String),
}

/// Flags of npm/pnpm/bun that take a separate value (so the value is not a package spec).
const VALUE_FLAGS: &[&str] = &[
    "--prefix",
    "--registry",
    "--cache",
    "--userconfig",
    "--globalconfig",
    "--location",
    "--tag",
    "--workspace",
    "-w",
    "--loglevel",
    "--omit",
    "--install-strategy",
    "--dir",
    "-C",
    "--filter",
    "--reporter",
    "--cwd",
    "--config",
];

/// Classifies `tool args…` (tool is `npm`, `pnpm` or `bun`).
pub fn classify(tool: &str, args: &[String]) -> Decision {
    let verbs: &[&str] = match tool {
        "npm" => &[
            "install", "i", "in", "ins", "inst", "insta", "instal", "isnt", "isnta", "isntal",
            "add", "update", "up", "upgrade", "udpate",
        ],
        "pnpm" => &["add", "install", "i", "update", "up", "upgrade"],
        "bun" => &["add", "a", "install", "i", "update"],
        _ => return Decision::Pass,
    };
    let mut global = false;
    let mut verb: Option<&str> = None;
    let mut specs: Vec<&str> = Vec::new();
    let mut prefix: Option<&str> = None;
    let mut registry: Option<&str> = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        match a {
            "-g" | "--global" | "--location=global" => global = true,
            "--location" if args.get(i + 1).map(String::as_str) == Some("global") => {
                global = true;
                i += 1;
            }
            "--" => {
                specs.extend(args[i + 1..].iter().map(String::as_str));
                break;
            }
            _ if VALUE_FLAGS.contains(&a) => {
                let v = args.get(i + 1).map(String::as_str);
                match a {
                    "--prefix" => prefix = v,
                    "--registry" => registry = v,
                    _ => {}
                }
                i += 1;
            }
            _ if a.starts_with("--prefix=") => prefix = a.split_once('=').map(|(_, v)| v),
            _ if a.starts_with("--registry=") => registry = a.split_once('=').map(|(_, v)| v),
            _ if a.starts_with('-') => {}
            _ if verb.is_none() => verb = Some(a),
            _ => specs.push(a),
        }
        i += 1;
    }
    let Some(verb) = verb.filter(|v| verbs.contains(v)) else {
        return Decision::Pass;
    };
    if !global {
        return Decision::Pass;
    }
    let is_openclaw = |s: &str| s == PACKAGE || s.starts_with("openclaw@");
    let ours: Vec<&str> = specs.iter().copied().filter(|s| is_openclaw(s)).collect();
    if specs.is_empty() && matches!(verb, "update" | "up" | "upgrade" | "udpate") {
        return Decision::Refuse(format!(
            "`{tool} {}` would update every global package, OpenClaw included, under its running gateway.\n\
             Run `clawkit update` for OpenClaw, then `CLAWKIT_BYPASS=1 {tool} {}` for the rest.",
            args.join(" "),
            args.join(" ")
        ));
    }
    if ours.is_empty() {
        return Decision::Pass;
    }
    if ours.len() != specs.len() {
        let others: Vec<&str> = specs.iter().copied().filter(|s| !is_openclaw(s)).collect();
        return Decision::Refuse(format!(
            "this installs OpenClaw together with {}: clawkit updates OpenClaw on its own.\n\
             Run `clawkit update` for OpenClaw, then `{tool} {verb} -g {}` for the rest.",
            others.join(" "),
            others.join(" ")
        ));
    }
    if ours.len() > 1 {
        return Decision::Refuse("OpenClaw is named more than once; name one version".into());
    }
    let mut out = vec!["update".to_string()];
    if let Some((_, target)) = ours[0].split_once('@') {
        match Target::parse(target) {
            Ok(_) => out.extend(["--to".into(), target.to_string()]),
            Err(f) => return Decision::Refuse(f.message),
        }
    }
    if let Some(p) = prefix {
        out.extend(["--prefix".into(), p.to_string()]);
    }
    if let Some(r) = registry {
        out.extend(["--registry".into(), r.to_string()]);
    }
    Decision::Update(out)
}

/// `clawkit intercept TOOL -- ARGS…`: decide, then run clawkit update, refuse, or exec the tool.
pub fn run(env: &Env, tool: &str, args: &[OsString], p: &Printer) -> Result<Exit> {
    let utf8: Option<Vec<String>> = args.iter().map(|a| a.to_str().map(String::from)).collect();
    let decision = match utf8 {
        Some(a) if !env.is_true("CLAWKIT_BYPASS") => classify(tool, &a),
        _ => Decision::Pass,
    };
    match decision {
        Decision::Pass => {
            let real = crate::supervisor::tool(env, tool)
                .ok_or_else(|| Failure::new(Exit::Attention, format!("{tool} is not on PATH")))?;
            let err = std::process::Command::new(&real).args(args).exec();
            Err(err).with_context(|| format!("cannot run {}", real.display()))
        }
        Decision::Refuse(msg) => Err(Failure::usage(msg)
            .with_fix("or bypass clawkit once: CLAWKIT_BYPASS=1 <command>")
            .into()),
        Decision::Update(update_args) => {
            p.alert(format!(
                "clawkit: running `clawkit {}` instead of `{tool} {}`",
                update_args.join(" "),
                args.iter()
                    .map(|a| a.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
            let clawkit = crate::supervisor::tool(env, "clawkit")
                .or_else(|| std::env::current_exe().ok())
                .context("cannot find clawkit")?;
            let err = std::process::Command::new(&clawkit)
                .args(&update_args)
                .exec();
            Err(err).with_context(|| format!("cannot run {}", clawkit.display()))
        }
    }
}

/// The snippet for `eval "$(clawkit shell-init bash)"` and friends.
pub fn snippet(shell: &str) -> Result<String, Failure> {
    let posix = |tool: &str| {
        format!(
            "{tool}() {{\n  if [ -n \"${{CLAWKIT_BYPASS:-}}\" ] || ! command -v clawkit >/dev/null 2>&1; then\n    command {tool} \"$@\"\n  else\n    command clawkit intercept {tool} -- \"$@\"\n  fi\n}}\n"
        )
    };
    match shell {
        "bash" | "zsh" => {
            let mut s = format!(
                "# clawkit shell integration ({shell}): global installs of openclaw run `clawkit update`.\n\
                 # Bypass once with CLAWKIT_BYPASS=1. Added by: eval \"$(clawkit shell-init {shell})\"\n"
            );
            s.push_str(&posix("npm"));
            for tool in ["pnpm", "bun"] {
                s.push_str(&format!("if command -v {tool} >/dev/null 2>&1; then\n"));
                s.push_str(&posix(tool));
                s.push_str("fi\n");
            }
            Ok(s)
        }
        "fish" => {
            let f = |tool: &str| {
                format!(
                    "function {tool} --wraps {tool} --description 'clawkit: route global openclaw installs to clawkit update'\n    if set -q CLAWKIT_BYPASS; or not command -q clawkit\n        command {tool} $argv\n    else\n        command clawkit intercept {tool} -- $argv\n    end\nend\n"
                )
            };
            let mut s =
                "# clawkit shell integration (fish). Added by: clawkit shell-init fish | source\n"
                    .to_string();
            s.push_str(&f("npm"));
            for tool in ["pnpm", "bun"] {
                s.push_str(&format!("if command -q {tool}\n"));
                s.push_str(&f(tool));
                s.push_str("end\n");
            }
            Ok(s)
        }
        other => Err(Failure::usage(format!(
            "unsupported shell {other:?}: use bash, zsh or fish"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(tool: &str, line: &str) -> Decision {
        classify(
            tool,
            &line
                .split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>(),
        )
    }

    fn upd(args: &str) -> Decision {
        Decision::Update(args.split_whitespace().map(String::from).collect())
    }

    #[test]
    fn table() {
        let intercepted = [
            ("npm", "install -g openclaw", "update"),
            ("npm", "i -g openclaw@latest", "update --to latest"),
            (
                "npm",
                "install --global openclaw@2026.9.5",
                "update --to 2026.9.5",
            ),
            ("npm", "-g install openclaw", "update"),
            ("npm", "install openclaw -g", "update"),
            (
                "npm",
                "install --location=global openclaw@beta",
                "update --to beta",
            ),
            ("npm", "install --location global openclaw", "update"),
            ("npm", "update -g openclaw", "update"),
            ("npm", "up -g openclaw", "update"),
            (
                "npm",
                "add -g openclaw@2026.7.1-2",
                "update --to 2026.7.1-2",
            ),
            (
                "npm",
                "install -g --prefix /opt/oc openclaw",
                "update --prefix /opt/oc",
            ),
            (
                "npm",
                "install -g --registry=http://r.local/ openclaw",
                "update --registry http://r.local/",
            ),
            ("npm", "i -g openclaw --no-fund", "update"),
            ("pnpm", "add -g openclaw", "update"),
            ("pnpm", "add --global openclaw@latest", "update --to latest"),
            ("bun", "add -g openclaw", "update"),
            (
                "bun",
                "install -g openclaw@2026.9.6",
                "update --to 2026.9.6",
            ),
        ];
        for (tool, line, want) in intercepted {
            assert_eq!(c(tool, line), upd(want), "{tool} {line}");
        }
        let passed = [
            ("npm", "install openclaw"),
            ("npm", "install -g typescript"),
            ("npm", "install -g openclaw-plugin-x"),
            ("npm", "view openclaw version"),
            ("npm", "uninstall -g openclaw"),
            ("npm", "run build"),
            ("npm", "--version"),
            ("npm", ""),
            ("npm", "install -g --prefix openclaw typescript"),
            ("pnpm", "add openclaw"),
            ("bun", "add openclaw"),
            ("yarn", "global add openclaw"),
        ];
        for (tool, line) in passed {
            assert_eq!(c(tool, line), Decision::Pass, "{tool} {line}");
        }
        for (tool, line) in [
            ("npm", "install -g openclaw typescript"),
            ("npm", "update -g"),
            ("npm", "install -g openclaw@$(rm)"),
        ] {
            assert!(
                matches!(c(tool, line), Decision::Refuse(_)),
                "{tool} {line}"
            );
        }
    }
}
