//! The shell alias: `clawkit shell-init bash|zsh|fish` prints functions that route `npm`, `pnpm`
//! and `bun` through `clawkit intercept`, which recognises every way of installing or updating
//! OpenClaw globally and runs `clawkit update` instead; everything else goes to the real tool
//! unchanged (same arguments, same exit code).
//!
//! Each tool's command line is read the way that tool reads it (npm and pnpm parse with nopt,
//! bun with its own clap), so a flag's value is never mistaken for a package and a combined
//! short flag (`-gf`) is seen for what it is. A global install of OpenClaw then either maps
//! onto `clawkit update` flag by flag or is refused, naming the flag clawkit cannot honour:
//! nothing is silently dropped unless it is on a short list of flags that cannot matter.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::env::Env;
use crate::exec::quote;
use crate::exit::{Exit, Failure};
use crate::install::PACKAGE;
use crate::npm::Target;
use crate::printer::Printer;
use crate::version::Version;

/// What to do with one package-manager command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Run `clawkit update` with these arguments instead.
    Update(Vec<String>),
    /// Not a global install or update of OpenClaw: run the tool unchanged.
    Pass,
    /// A global install of OpenClaw that clawkit cannot do faithfully: one line saying why.
    Refuse(String),
}

/// What clawkit does with one flag of a global install or update of OpenClaw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Global,
    /// npm's `--location global|user|project`.
    Location,
    DryRun,
    Tag,
    Registry,
    Prefix,
    Yes,
    /// `update --latest` (pnpm, bun): what `clawkit update` does anyway.
    Latest,
    /// Help or version: the tool prints it and installs nothing, so the line passes.
    Help,
    /// Cannot matter for a global install of one package: accepted and dropped (the reason).
    Drop(&'static str),
    /// clawkit cannot honour it (the reason).
    Refuse(&'static str),
}

// Why a flag is dropped. Only flags that change what is printed, or that npm itself ignores
// for a global install, are dropped.
const LOGS: &str = "it only changes how much is logged";
const COLOUR: &str = "it only changes colours";
const FUND: &str = "it only prints funding notices";
const AUDIT: &str = "it only reports known vulnerabilities after the install";
const NOTIFIER: &str = "it only controls npm's notice about newer npm versions";
const PROGRESS: &str = "it only shows or hides a progress bar";
const SUMMARY: &str = "it only hides the summary printed at the end";
// arborist skips saving to package.json for `--global` (reify.js, saveIdealTree).
const NPM_SAVE: &str = "npm writes no package.json for a global install, so it has no effect";

// Why a flag is refused.
const FORCE: &str =
    "clawkit never forces an install past its checks (engines, platform, conflicts)";
const SCRIPTS: &str =
    "it changes how install scripts run; clawkit runs OpenClaw's scripts as shipped and verifies the result";
const DEPS: &str =
    "it changes which dependencies are installed; clawkit installs OpenClaw's full dependency set";
const LAYOUT: &str =
    "it changes how the install is resolved or laid out; clawkit installs the standard layout it verifies";
const PLATFORM: &str =
    "it installs for another platform; clawkit verifies OpenClaw on this machine";
const WORKSPACES: &str = "workspaces and filters do not apply to a global install of OpenClaw";
const SOURCE: &str =
    "it changes where versions come from; clawkit resolves the target version itself";
const FORMAT: &str =
    "it changes the tool's output format; clawkit prints its own (`clawkit update --json` has its own document)";
const CONFIG: &str =
    "clawkit update cannot pass it on to npm (set it in ~/.npmrc or as npm_config_* in the environment)";
const MANIFEST: &str =
    "it changes how the global package is recorded; clawkit installs OpenClaw with npm and cannot record it that way";
const NO_EQUIVALENT: &str = "clawkit update has no equivalent";
const ENV: &str = "it changes the environment bun runs with; clawkit update runs npm in yours";

// ───────────────────────────── npm and pnpm: nopt ─────────────────────────────

/// A tool that parses its command line with nopt (npm, pnpm).
struct Nopt {
    /// Boolean options: `--x`, `--no-x`, `--x true|false`.
    bools: &'static [&'static str],
    /// Options that take a value: `--x value`, `--x=value`.
    values: &'static [&'static str],
    /// Shorthands and what they expand to.
    shorthands: &'static [(&'static str, &'static [&'static str])],
    /// Options typed plain String, which do not take a following `-x`/`--x` as their value
    /// (other value types do); `None`: all of them.
    strings: Option<&'static [&'static str]>,
    /// Words a boolean option also takes as its value (`--color always`).
    bool_words: &'static [(&'static str, &'static [&'static str])],
    /// Boolean options that are also strings: they take any following word that is not a
    /// one-dash flag (nopt's rule for `[null, Boolean, String]`).
    loose: &'static [&'static str],
    /// Unique prefixes of long options stand for them (`--dry-ru`), as npm still allows.
    abbreviations: bool,
    rule: fn(&str) -> Option<Rule>,
}

/// Every npm 11 config that is Boolean (or Boolean among other types).
#[rustfmt::skip]
const NPM_BOOLS: &[&str] = &[
    "all", "allow-same-version", "audit", "bin-links", "browser", "bypass-2fa", "color",
    "commit-hooks", "dangerously-allow-all-scripts", "description", "dev", "diff-ignore-all-space",
    "diff-name-only", "diff-no-prefix", "diff-text", "dry-run", "engine-strict", "expect-results",
    "force", "foreground-scripts", "format-package-lock", "fund", "git-tag-version", "global",
    "global-style", "if-present", "ignore-scripts", "include-staged", "include-workspace-root",
    "include-attestations", "init-private", "install-links", "json", "legacy-bundling",
    "legacy-peer-deps", "link", "long", "offline", "omit-lockfile-registry-resolved", "optional",
    "package-lock", "package-lock-only", "parseable", "allow-scripts-pending", "allow-scripts-pin",
    "prefer-dedupe", "prefer-offline", "prefer-online", "production", "progress", "provenance",
    "read-only", "rebuild-bundle", "save", "save-bundle", "save-dev", "save-exact", "save-optional",
    "save-peer", "save-prod", "packages-all", "shrinkwrap", "sign-git-commit", "sign-git-tag",
    "strict-peer-deps", "strict-allow-scripts", "strict-ssl", "timing", "unicode",
    "update-notifier", "usage", "version", "versions", "workspaces", "workspaces-update", "yes",
];

/// Every npm 11 config that takes a value.
#[rustfmt::skip]
const NPM_VALUES: &[&str] = &[
    "_auth", "access", "allow-directory", "allow-file", "allow-git", "allow-remote",
    "allow-scripts", "also", "audit-level", "auth-type", "before", "ca", "cache", "cache-max",
    "cache-min", "cafile", "call", "cert", "cidr", "cpu", "depth", "diff", "diff-dst-prefix",
    "diff-src-prefix", "diff-unified", "editor", "expect-result-count", "expires", "fetch-retries",
    "fetch-retry-factor", "fetch-retry-maxtimeout", "fetch-retry-mintimeout", "fetch-timeout",
    "git", "globalconfig", "heading", "https-proxy", "include", "init-author-email",
    "init-author-name", "init-author-url", "init-license", "init-module", "init-type",
    "init-version", "init.author.email", "init.author.name", "init.author.url", "init.license",
    "init.module", "init.version", "install-strategy", "key", "libc", "local-address", "location",
    "lockfile-version", "loglevel", "logs-dir", "logs-max", "name", "maxsockets", "message",
    "min-release-age", "min-release-age-exclude", "node-gyp", "node-options", "noproxy", "omit",
    "only", "orgs", "os", "otp", "package", "pack-destination", "packages", "prefix", "preid",
    "provenance-file", "proxy", "registry", "replace-registry-host", "save-prefix", "sbom-format",
    "sbom-type", "scope", "scopes", "packages-and-scopes-permission", "orgs-permission", "password",
    "token-description", "script-shell", "searchexclude", "searchlimit", "searchopts",
    "searchstaleness", "shell", "tag", "tag-version-prefix", "umask", "user-agent", "userconfig",
    "viewer", "which", "workspace",
];

/// npm 11's shorthands (`@npmcli/config` definitions plus its own expansions).
const NPM_SHORTHANDS: &[(&str, &[&str])] = &[
    ("enjoy-by", &["--before"]),
    ("d", &["--loglevel", "info"]),
    ("dd", &["--loglevel", "verbose"]),
    ("ddd", &["--loglevel", "silly"]),
    ("quiet", &["--loglevel", "warn"]),
    ("q", &["--loglevel", "warn"]),
    ("s", &["--loglevel", "silent"]),
    ("silent", &["--loglevel", "silent"]),
    ("verbose", &["--loglevel", "verbose"]),
    ("desc", &["--description"]),
    ("help", &["--usage"]),
    ("local", &["--no-global"]),
    ("n", &["--no-yes"]),
    ("no", &["--no-yes"]),
    ("porcelain", &["--parseable"]),
    ("readonly", &["--read-only"]),
    ("reg", &["--registry"]),
    ("iwr", &["--include-workspace-root"]),
    ("ws", &["--workspaces"]),
    ("a", &["--all"]),
    ("c", &["--call"]),
    ("f", &["--force"]),
    ("g", &["--global"]),
    ("L", &["--location"]),
    ("l", &["--long"]),
    ("m", &["--message"]),
    ("p", &["--parseable"]),
    ("C", &["--prefix"]),
    ("S", &["--save"]),
    ("B", &["--save-bundle"]),
    ("D", &["--save-dev"]),
    ("E", &["--save-exact"]),
    ("O", &["--save-optional"]),
    ("P", &["--save-prod"]),
    ("?", &["--usage"]),
    ("H", &["--usage"]),
    ("h", &["--usage"]),
    ("v", &["--version"]),
    ("w", &["--workspace"]),
    ("y", &["--yes"]),
];

/// npm 11 configs typed plain String.
#[rustfmt::skip]
const NPM_STRINGS: &[&str] = &[
    "call", "diff-dst-prefix", "diff-src-prefix", "editor", "git", "heading", "init-author-email",
    "init-author-name", "init-license", "init-type", "init.author.email", "init.author.name",
    "init.license", "message", "pack-destination", "preid", "save-prefix", "scope", "searchexclude",
    "searchopts", "shell", "tag", "tag-version-prefix", "user-agent", "viewer",
];

const NPM: Nopt = Nopt {
    bools: NPM_BOOLS,
    values: NPM_VALUES,
    shorthands: NPM_SHORTHANDS,
    strings: Some(NPM_STRINGS),
    bool_words: &[
        ("color", &["always"]),
        ("browser", &["null"]),
        ("expect-results", &["null"]),
        ("optional", &["null"]),
        ("production", &["null"]),
        ("workspaces", &["null"]),
        ("yes", &["null"]),
    ],
    loose: &["browser"],
    abbreviations: true,
    rule: npm_rule,
};

fn npm_rule(key: &str) -> Option<Rule> {
    use Rule::*;
    let known = NPM_BOOLS.contains(&key) || NPM_VALUES.contains(&key);
    Some(match key {
        "global" => Global,
        "location" => Location,
        "dry-run" => DryRun,
        "tag" => Tag,
        "registry" => Registry,
        "prefix" => Prefix,
        "yes" => Yes,
        "usage" | "version" => Help,
        "fund" => Drop(FUND),
        "audit" => Drop(AUDIT),
        "update-notifier" => Drop(NOTIFIER),
        "progress" => Drop(PROGRESS),
        "loglevel" => Drop(LOGS),
        "color" => Drop(COLOUR),
        "save" | "save-dev" | "save-optional" | "save-exact" | "save-prod" | "save-bundle"
        | "save-peer" | "save-prefix" => Drop(NPM_SAVE),
        "force" => Refuse(FORCE),
        "ignore-scripts"
        | "foreground-scripts"
        | "script-shell"
        | "allow-scripts"
        | "dangerously-allow-all-scripts"
        | "strict-allow-scripts"
        | "allow-scripts-pending"
        | "allow-scripts-pin"
        | "rebuild-bundle" => Refuse(SCRIPTS),
        "omit" | "include" | "production" | "only" | "also" | "dev" | "optional" => Refuse(DEPS),
        "legacy-peer-deps"
        | "strict-peer-deps"
        | "prefer-dedupe"
        | "install-strategy"
        | "global-style"
        | "legacy-bundling"
        | "install-links"
        | "bin-links"
        | "package-lock"
        | "package-lock-only"
        | "engine-strict"
        | "omit-lockfile-registry-resolved"
        | "lockfile-version" => Refuse(LAYOUT),
        "cpu" | "os" | "libc" => Refuse(PLATFORM),
        "workspace" | "workspaces" | "include-workspace-root" | "workspaces-update" => {
            Refuse(WORKSPACES)
        }
        "offline"
        | "prefer-offline"
        | "prefer-online"
        | "before"
        | "min-release-age"
        | "min-release-age-exclude"
        | "cache"
        | "cache-min"
        | "cache-max" => Refuse(SOURCE),
        "json" | "parseable" | "long" | "unicode" | "timing" => Refuse(FORMAT),
        "userconfig"
        | "globalconfig"
        | "otp"
        | "auth-type"
        | "_auth"
        | "ca"
        | "cafile"
        | "cert"
        | "key"
        | "proxy"
        | "https-proxy"
        | "noproxy"
        | "strict-ssl"
        | "local-address"
        | "maxsockets"
        | "fetch-retries"
        | "fetch-retry-factor"
        | "fetch-retry-maxtimeout"
        | "fetch-retry-mintimeout"
        | "fetch-timeout"
        | "replace-registry-host"
        | "node-options"
        | "node-gyp"
        | "allow-git"
        | "allow-remote"
        | "allow-file"
        | "allow-directory"
        | "user-agent" => Refuse(CONFIG),
        _ if known => Refuse(NO_EQUIVALENT),
        _ => return None,
    })
}

/// The pnpm options clawkit knows (pnpm 8 to 11 `add`, `install`, `update` and the universal
/// ones). pnpm itself rejects options it does not know.
#[rustfmt::skip]
const PNPM_BOOLS: &[&str] = &[
    "global", "yes", "latest", "help", "version", "recursive", "workspace", "workspace-root",
    "include-workspace-root", "ignore-workspace-root-check", "ignore-workspace", "save", "save-dev",
    "save-prod", "save-optional", "save-exact", "save-peer", "save-workspace-protocol",
    "ignore-scripts", "force", "offline", "prefer-offline", "dev", "production", "optional",
    "interactive", "lockfile", "lockfile-only", "frozen-lockfile", "long", "parseable", "json",
    "color", "stream", "aggregate-output", "use-stderr", "shamefully-hoist", "hoist",
    "side-effects-cache", "side-effects-cache-readonly", "verify-store-integrity",
    "strict-peer-dependencies", "link-workspace-packages", "ignore-pnpmfile", "engine-strict",
    "unsafe-perm", "config", "dangerously-allow-all-builds", "trust-lockfile", "pnpm-d", "dry-run",
];
#[rustfmt::skip]
const PNPM_VALUES: &[&str] = &[
    "registry", "loglevel", "reporter", "dir", "prefix", "filter", "filter-prod", "global-dir",
    "global-bin-dir", "store-dir", "cache-dir", "virtual-store-dir", "modules-dir", "lockfile-dir",
    "pnpmfile", "global-pnpmfile", "allow-build", "cpu", "os", "libc", "depth", "save-prefix",
    "save-catalog-name", "network-concurrency", "child-concurrency", "fetch-retries",
    "fetch-retry-factor", "fetch-retry-maxtimeout", "fetch-retry-mintimeout", "fetch-timeout",
    "https-proxy", "proxy", "noproxy", "node-linker", "package-import-method", "test-pattern",
    "changed-files-ignore-pattern", "workspace-packages", "pm-on-fail", "hoist-pattern",
    "public-hoist-pattern", "hoisting-limits", "npm-path", "trust-policy", "trust-policy-exclude",
    "trust-policy-ignore-after", "tag",
];

/// pnpm's universal shorthands (unchanged from pnpm 8 to 10), plus the ones `add` gained since
/// (`-y`, `-e`, `-o`, `--save-catalog`). `-d` means `--loglevel=info` in older pnpm and
/// `--save-dev` in newer `add`.
const PNPM_SHORTHANDS: &[(&str, &[&str])] = &[
    ("s", &["--reporter", "silent"]),
    ("silent", &["--reporter", "silent"]),
    ("d", &["--pnpm-d"]),
    ("dd", &["--loglevel", "verbose"]),
    ("ddd", &["--loglevel", "silly"]),
    ("verbose", &["--loglevel", "verbose"]),
    ("quiet", &["--loglevel", "warn"]),
    ("q", &["--loglevel", "warn"]),
    ("L", &["--latest"]),
    ("r", &["--recursive"]),
    ("h", &["--help"]),
    ("H", &["--help"]),
    ("?", &["--help"]),
    ("usage", &["--help"]),
    ("v", &["--version"]),
    ("f", &["--force"]),
    ("local", &["--no-global"]),
    ("l", &["--long"]),
    ("p", &["--parseable"]),
    ("porcelain", &["--parseable"]),
    ("prod", &["--production"]),
    ("development", &["--dev"]),
    ("g", &["--global"]),
    ("S", &["--save"]),
    ("D", &["--save-dev"]),
    ("P", &["--save-prod"]),
    ("E", &["--save-exact"]),
    ("O", &["--save-optional"]),
    ("e", &["--save-exact"]),
    ("o", &["--save-optional"]),
    ("C", &["--dir"]),
    ("w", &["--workspace-root"]),
    ("i", &["--interactive"]),
    ("F", &["--filter"]),
    ("y", &["--yes"]),
    ("save-catalog", &["--save-catalog-name", "default"]),
];

const PNPM: Nopt = Nopt {
    bools: PNPM_BOOLS,
    values: PNPM_VALUES,
    shorthands: PNPM_SHORTHANDS,
    strings: None,
    bool_words: &[("color", &["always", "auto", "never"])],
    loose: &[],
    abbreviations: false,
    rule: pnpm_rule,
};

fn pnpm_rule(key: &str) -> Option<Rule> {
    use Rule::*;
    Some(match key {
        "global" => Global,
        "registry" => Registry,
        "yes" => Yes,
        "latest" => Latest,
        "help" | "version" => Help,
        "loglevel" | "reporter" => Drop(LOGS),
        "color" => Drop(COLOUR),
        "global-dir" | "global-bin-dir" => Refuse(
            "clawkit updates OpenClaw under npm's global prefix, not in a pnpm global directory",
        ),
        "dir" | "prefix" => Refuse("in pnpm it names a project directory, not npm's prefix"),
        "tag" => Refuse("pnpm add has no --tag; name the version instead, as in openclaw@beta"),
        "dry-run" => Refuse("pnpm add has no --dry-run; `clawkit update --dry-run` shows the plan"),
        "pnpm-d" => {
            Refuse("-d is --loglevel=info in older pnpm and --save-dev in newer `pnpm add`")
        }
        "save"
        | "save-dev"
        | "save-prod"
        | "save-optional"
        | "save-exact"
        | "save-peer"
        | "save-prefix"
        | "save-catalog-name"
        | "save-workspace-protocol" => Refuse(MANIFEST),
        "force" => Refuse(FORCE),
        "ignore-scripts"
        | "allow-build"
        | "dangerously-allow-all-builds"
        | "unsafe-perm"
        | "child-concurrency" => Refuse(SCRIPTS),
        "dev" | "production" | "optional" => Refuse(DEPS),
        "cpu" | "os" | "libc" => Refuse(PLATFORM),
        "recursive"
        | "filter"
        | "filter-prod"
        | "workspace"
        | "workspace-root"
        | "include-workspace-root"
        | "ignore-workspace-root-check"
        | "ignore-workspace"
        | "workspace-packages"
        | "test-pattern"
        | "changed-files-ignore-pattern" => Refuse(WORKSPACES),
        "offline" | "prefer-offline" => Refuse(SOURCE),
        "json" | "parseable" | "long" | "stream" | "aggregate-output" | "use-stderr" => {
            Refuse(FORMAT)
        }
        "interactive" => Refuse("clawkit cannot offer pnpm's interactive selection"),
        "store-dir"
        | "cache-dir"
        | "virtual-store-dir"
        | "modules-dir"
        | "lockfile-dir"
        | "lockfile"
        | "lockfile-only"
        | "frozen-lockfile"
        | "node-linker"
        | "package-import-method"
        | "shamefully-hoist"
        | "hoist"
        | "hoist-pattern"
        | "public-hoist-pattern"
        | "hoisting-limits"
        | "side-effects-cache"
        | "side-effects-cache-readonly"
        | "verify-store-integrity"
        | "strict-peer-dependencies"
        | "link-workspace-packages"
        | "engine-strict"
        | "trust-lockfile"
        | "trust-policy"
        | "trust-policy-exclude"
        | "trust-policy-ignore-after" => Refuse(LAYOUT),
        "pnpmfile" | "global-pnpmfile" | "ignore-pnpmfile" | "config" => {
            Refuse("it changes pnpm's own configuration, which clawkit's npm install does not use")
        }
        "https-proxy"
        | "proxy"
        | "noproxy"
        | "network-concurrency"
        | "fetch-retries"
        | "fetch-retry-factor"
        | "fetch-retry-maxtimeout"
        | "fetch-retry-mintimeout"
        | "fetch-timeout"
        | "npm-path"
        | "pm-on-fail" => Refuse(CONFIG),
        "depth" => Refuse(NO_EQUIVALENT),
        _ => return None,
    })
}

/// One flag as the tool reads it.
#[derive(Debug, Clone)]
struct Flag {
    /// The option it sets (`force` for `-f`), or the name as typed when unknown.
    key: String,
    /// `None`: clawkit does not know it.
    rule: Option<Rule>,
    /// `false` for `--no-x` and `--x false`.
    on: bool,
    value: Option<String>,
    /// As typed (`-f`, `--omit=dev`) and, for one letter of a group, the group (`-gf`).
    shown: String,
    within: Option<String>,
}

impl Flag {
    fn display(&self) -> String {
        match &self.within {
            Some(group) => format!("`{}` (in `{group}`)", self.shown),
            None => format!("`{}`", self.shown),
        }
    }
}

/// A command line split into words (the verb first, then the packages) and flags.
#[derive(Debug, Default)]
struct Parsed {
    words: Vec<String>,
    flags: Vec<Flag>,
}

/// One argument on nopt's work list: shorthands are spliced back in as they expand.
struct Tok {
    text: String,
    shown: String,
    within: Option<String>,
}

impl Nopt {
    fn known(&self, key: &str) -> bool {
        self.bools.contains(&key) || self.values.contains(&key)
    }

    /// nopt's abbreviations: a prefix shared by exactly one option stands for it.
    fn abbreviation(&self, name: &str) -> Option<&'static str> {
        if name.is_empty() || !self.abbreviations {
            return None;
        }
        let mut hits = self
            .bools
            .iter()
            .chain(self.values)
            .filter(|k| k.starts_with(name));
        let first = hits.next()?;
        hits.next().is_none().then_some(*first)
    }

    fn shorthand(&self, name: &str) -> Option<&'static [&'static str]> {
        self.shorthands
            .iter()
            .find(|(s, _)| *s == name)
            .map(|(_, e)| *e)
    }

    /// nopt's `resolveShort`: what `-x`/`--x` expands to, if it is a shorthand.
    fn expand(&self, name: &str) -> Option<Vec<(String, Option<char>)>> {
        if self.known(name) {
            return None;
        }
        if let Some(e) = self.shorthand(name) {
            return Some(e.iter().map(|s| (s.to_string(), None)).collect());
        }
        // A group of one-letter shorthands: `-gf` is `-g -f`.
        let singles: Option<Vec<_>> = name
            .chars()
            .map(|c| {
                let mut b = [0; 4];
                self.shorthand(c.encode_utf8(&mut b)).map(|e| (c, e))
            })
            .collect();
        if let Some(singles) = singles {
            return Some(
                singles
                    .into_iter()
                    .flat_map(|(c, e)| e.iter().map(move |s| (s.to_string(), Some(c))))
                    .collect(),
            );
        }
        if self.abbreviation(name).is_some() {
            return None;
        }
        // An abbreviated multi-letter shorthand (`--verb` for `--verbose`).
        if !self.abbreviations {
            return None;
        }
        let mut hits = self
            .shorthands
            .iter()
            .filter(|(s, _)| s.len() > 1 && s.starts_with(name));
        let (_, e) = hits.next()?;
        hits.next()
            .is_none()
            .then(|| e.iter().map(|s| (s.to_string(), None)).collect())
    }

    fn parse(&self, args: &[String]) -> Parsed {
        let mut out = Parsed::default();
        let mut q: VecDeque<Tok> = args
            .iter()
            .map(|a| Tok {
                text: a.clone(),
                shown: a.clone(),
                within: None,
            })
            .collect();
        while let Some(tok) = q.pop_front() {
            let text = tok.text;
            if text.len() >= 2 && text.bytes().all(|b| b == b'-') {
                out.words.extend(q.into_iter().map(|t| t.text));
                break;
            }
            if !text.starts_with('-') || text.len() < 2 {
                out.words.push(text);
                continue;
            }
            // `--x=v` is `--x v`, whatever --x turns out to be.
            let (name, had_eq) = match text.split_once('=') {
                Some((n, v)) => {
                    q.push_front(Tok {
                        text: v.to_string(),
                        shown: tok.shown.clone(),
                        within: None,
                    });
                    (n.to_string(), true)
                }
                None => (text.clone(), false),
            };
            let bare = name.trim_start_matches('-');
            if let Some(expansion) = self.expand(bare) {
                for (t, letter) in expansion.into_iter().rev() {
                    let (shown, within) = match letter {
                        Some(c) if bare.chars().count() > 1 => {
                            (format!("-{c}"), Some(tok.shown.clone()))
                        }
                        _ => (tok.shown.clone(), tok.within.clone()),
                    };
                    q.push_front(Tok {
                        text: t,
                        shown,
                        within,
                    });
                }
                continue;
            }
            let mut key = bare;
            let mut negated = false;
            while key.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("no-")) {
                negated = !negated;
                key = &key[3..];
            }
            let key = if self.known(key) {
                key
            } else {
                self.abbreviation(key).unwrap_or(key)
            };
            let known = self.known(key);
            let takes_value = !negated && (self.values.contains(&key) || (!known && had_eq));
            let mut flag = Flag {
                key: key.to_string(),
                rule: if known { (self.rule)(key) } else { None },
                on: !negated,
                value: None,
                shown: tok.shown,
                within: tok.within,
            };
            if takes_value {
                // nopt: `--` never is a value; a plain String option leaves `-x`/`--x` alone.
                let string = known && self.strings.is_none_or(|s| s.contains(&key));
                let next_is_value = q.front().is_some_and(|n| {
                    let dashes = n.text.bytes().take_while(|b| *b == b'-').count();
                    let only_dashes = dashes >= 2 && dashes == n.text.len();
                    let flag_like = (dashes == 1 || dashes == 2) && n.text.len() > dashes;
                    !(only_dashes || (string && flag_like))
                });
                if next_is_value {
                    flag.value = q.pop_front().map(|n| n.text);
                }
            } else if let Some(n) = q.front() {
                let words = self
                    .bool_words
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map_or(&[][..], |(_, w)| *w);
                if n.text == "true" || n.text == "false" {
                    flag.on = (n.text == "true") != negated;
                    q.pop_front();
                } else if n.text == "null" && words.contains(&"null") {
                    // `--yes null`: unset, the default.
                    flag.on = false;
                    q.pop_front();
                } else if words.contains(&n.text.as_str())
                    || (!negated
                        && self.loose.contains(&key)
                        && !(n.text.len() >= 2
                            && n.text.starts_with('-')
                            && !n.text[1..].starts_with('-')))
                {
                    flag.value = q.pop_front().map(|n| n.text);
                }
            }
            out.flags.push(flag);
        }
        out
    }
}

// ───────────────────────────── bun: clap ─────────────────────────────

#[derive(Clone, Copy, PartialEq, Eq)]
enum Takes {
    Nothing,
    One,
    /// `-c` / `--config`: a value if one follows that does not start with `-`.
    Optional,
}

/// bun's `add`/`install`/`update` options (src/install/PackageManager/CommandLineArguments.zig,
/// and `bun add --help` of bun 1.4). bun matches names literally (`--no-save` is its own
/// option), ignores long options it does not know and stops at short ones it does not know.
const BUN: &[(&str, Option<char>, Takes, Rule)] = {
    use Rule::*;
    use Takes::*;
    &[
        ("global", Some('g'), Nothing, Global),
        ("registry", None, One, Registry),
        ("dry-run", None, Nothing, DryRun),
        ("latest", None, Nothing, Latest),
        ("help", Some('h'), Nothing, Help),
        ("silent", None, Nothing, Drop(LOGS)),
        ("quiet", None, Nothing, Drop(LOGS)),
        ("verbose", None, Nothing, Drop(LOGS)),
        ("no-progress", None, Nothing, Drop(PROGRESS)),
        ("no-summary", None, Nothing, Drop(SUMMARY)),
        (
            "yarn",
            Some('y'),
            Nothing,
            Refuse("in bun, -y is --yarn (write a yarn.lock), not --yes"),
        ),
        ("production", Some('p'), Nothing, Refuse(DEPS)),
        ("prod", Some('P'), Nothing, Refuse(DEPS)),
        ("omit", None, One, Refuse(DEPS)),
        ("save", None, Nothing, Refuse(MANIFEST)),
        ("save-prod", None, Nothing, Refuse(MANIFEST)),
        ("catalog", None, Optional, Refuse(MANIFEST)),
        ("no-save", None, Nothing, Refuse(MANIFEST)),
        ("dev", Some('d'), Nothing, Refuse(MANIFEST)),
        ("development", Some('D'), Nothing, Refuse(MANIFEST)),
        ("optional", None, Nothing, Refuse(MANIFEST)),
        ("peer", None, Nothing, Refuse(MANIFEST)),
        ("exact", Some('E'), Nothing, Refuse(MANIFEST)),
        ("only-missing", None, Nothing, Refuse(MANIFEST)),
        ("force", Some('f'), Nothing, Refuse(FORCE)),
        ("ignore-scripts", None, Nothing, Refuse(SCRIPTS)),
        ("trust", None, Nothing, Refuse(SCRIPTS)),
        ("concurrent-scripts", None, One, Refuse(SCRIPTS)),
        ("frozen-lockfile", None, Nothing, Refuse(LAYOUT)),
        ("lockfile-only", None, Nothing, Refuse(LAYOUT)),
        ("save-text-lockfile", None, Nothing, Refuse(LAYOUT)),
        ("backend", None, One, Refuse(LAYOUT)),
        ("linker", None, One, Refuse(LAYOUT)),
        ("cache-dir", None, One, Refuse(SOURCE)),
        ("no-cache", None, Nothing, Refuse(SOURCE)),
        ("minimum-release-age", None, One, Refuse(SOURCE)),
        ("minimum-release-age-excludes", None, One, Refuse(SOURCE)),
        ("offline", None, Nothing, Refuse(SOURCE)),
        ("prefer-offline", None, Nothing, Refuse(SOURCE)),
        (
            "no-verify",
            None,
            Nothing,
            Refuse("it skips integrity checks; clawkit verifies what it installs"),
        ),
        ("cpu", None, One, Refuse(PLATFORM)),
        ("os", None, One, Refuse(PLATFORM)),
        ("libc", None, One, Refuse(PLATFORM)),
        ("filter", Some('F'), One, Refuse(WORKSPACES)),
        ("recursive", Some('r'), Nothing, Refuse(WORKSPACES)),
        ("interactive", Some('i'), Nothing, Refuse(NO_EQUIVALENT)),
        ("analyze", Some('a'), Nothing, Refuse(NO_EQUIVALENT)),
        (
            "cwd",
            None,
            One,
            Refuse("it changes bun's working directory"),
        ),
        (
            "config",
            Some('c'),
            Optional,
            Refuse("it reads another bunfig.toml, which clawkit's npm install does not use"),
        ),
        ("ca", None, One, Refuse(CONFIG)),
        ("cafile", None, One, Refuse(CONFIG)),
        ("use-system-ca", None, Nothing, Refuse(CONFIG)),
        ("use-openssl-ca", None, Nothing, Refuse(CONFIG)),
        ("use-bundled-ca", None, Nothing, Refuse(CONFIG)),
        ("env-file", None, One, Refuse(ENV)),
        ("no-env-file", None, Nothing, Refuse(ENV)),
        ("network-concurrency", None, One, Refuse(CONFIG)),
    ]
};

fn parse_bun(args: &[String]) -> Parsed {
    let mut out = Parsed::default();
    let mut i = 0;
    let flag = |key: &str, rule: Option<Rule>, shown: &str, within: Option<&str>| Flag {
        key: key.to_string(),
        rule,
        on: true,
        value: None,
        shown: shown.to_string(),
        within: within.map(String::from),
    };
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--" {
            out.words.extend(args[i..].iter().cloned());
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (name, eq) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            let Some(&(key, _, takes, rule)) = BUN.iter().find(|o| o.0 == name) else {
                // bun ignores long options it does not know.
                out.flags.push(flag(name, None, a, None));
                continue;
            };
            let mut f = flag(key, Some(rule), a, None);
            match (takes, eq) {
                (Takes::Nothing, Some(_)) => f.rule = None, // bun rejects a value here
                (_, Some(v)) => f.value = Some(v.to_string()),
                (Takes::One, None) => {
                    f.value = args.get(i).cloned();
                    i += 1;
                }
                (Takes::Optional, None) => {
                    if args.get(i).is_some_and(|n| !n.starts_with('-')) {
                        f.value = args.get(i).cloned();
                        i += 1;
                    }
                }
                (Takes::Nothing, None) => {}
            }
            out.flags.push(f);
        } else if a.len() > 1 && a.starts_with('-') {
            // A chain of one-letter options; a letter that takes a value ends it.
            let letters: Vec<char> = a[1..].chars().collect();
            let group = (letters.len() > 1).then_some(a.as_str());
            let mut k = 0;
            while k < letters.len() {
                let c = letters[k];
                let shown = format!("-{c}");
                let Some(&(key, _, takes, rule)) = BUN.iter().find(|o| o.1 == Some(c)) else {
                    // bun stops with an error at a letter it does not know.
                    out.flags.push(flag(&shown, None, &shown, group));
                    break;
                };
                let mut f = flag(key, Some(rule), &shown, group);
                k += 1;
                if takes != Takes::Nothing {
                    let rest: String = letters[k..].iter().collect();
                    let rest = rest.strip_prefix('=').unwrap_or(&rest).to_string();
                    if !rest.is_empty() {
                        f.value = Some(rest);
                    } else if takes == Takes::One
                        || args.get(i).is_some_and(|n| !n.starts_with('-'))
                    {
                        f.value = args.get(i).cloned();
                        i += 1;
                    }
                    out.flags.push(f);
                    break;
                }
                out.flags.push(f);
            }
        } else {
            out.words.push(a.clone());
        }
    }
    // bun picks its command as the first argument that does not start with `-`, before it
    // parses options: if an option took that word as its value, bun still runs that command
    // with one word fewer, so the verb slot is that word whatever the parse made of it.
    if let Some(cmd) = args.iter().find(|a| !a.starts_with('-')) {
        if out.words.first() != Some(cmd) {
            out.words.insert(0, cmd.clone());
        }
    }
    out
}

// ───────────────────────────── verbs and specs ─────────────────────────────

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Install,
    Update,
    /// npm's `install-test`: installs, then runs the package's tests.
    InstallTest,
}

fn verb(tool: &str, word: &str) -> Option<Verb> {
    match (tool, word) {
        // npm 11's aliases and the unique abbreviations it accepts (lib/utils/cmd-list.js).
        (
            "npm",
            "install" | "i" | "in" | "ins" | "inst" | "insta" | "instal" | "isnt" | "isnta"
            | "isntal" | "isntall" | "add",
        ) => Some(Verb::Install),
        (
            "npm",
            "update" | "u" | "up" | "upd" | "upda" | "updat" | "upgrade" | "upg" | "upgr" | "upgra"
            | "upgrad" | "udpate" | "ud" | "udp" | "udpa" | "udpat",
        ) => Some(Verb::Update),
        (
            "npm",
            "install-test" | "installTest" | "it" | "install-t" | "install-te" | "install-tes",
        ) => Some(Verb::InstallTest),
        // pnpm runs `install` with packages as `add`.
        ("pnpm", "add" | "install" | "i") => Some(Verb::Install),
        ("pnpm", "update" | "up" | "upgrade") => Some(Verb::Update),
        // `bun upgrade` upgrades bun itself.
        ("bun", "add" | "a" | "install" | "i") => Some(Verb::Install),
        ("bun", "update") => Some(Verb::Update),
        _ => None,
    }
}

/// Where a package named on the command line would come from, as npm-package-arg reads it.
#[derive(Debug)]
enum Spec {
    Registry {
        name: String,
        /// `None` for no version (`openclaw`, `openclaw@`, `openclaw@*`).
        version: Option<String>,
    },
    /// A tarball (`.tgz`, `.tar.gz`, `.tar`) or a directory; `path` is `None` when clawkit
    /// cannot resolve it (an unusual `file:` URL, no HOME for `~/`).
    Path {
        name: Option<String>,
        path: Option<PathBuf>,
        tarball: bool,
    },
    /// `alias@npm:target`.
    Alias {
        name: String,
        target: Option<String>,
    },
    /// A git repository, a URL or another protocol (`link:`, `jsr:`…).
    Elsewhere { name: Option<String>, what: String },
}

fn is_url(s: &str) -> bool {
    let s = s.strip_prefix("git+").unwrap_or(s);
    s.split_once(':').is_some_and(|(scheme, _)| {
        !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphabetic())
    })
}

fn is_file_type(s: &str) -> bool {
    let s = s.to_ascii_lowercase();
    [".tgz", ".tar.gz", ".tar"].iter().any(|e| s.ends_with(e))
}

fn is_posix_file(s: &str) -> bool {
    let b = s.as_bytes();
    s.starts_with('.')
        || s.starts_with("~/")
        || s.starts_with('/')
        || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':')
}

/// `git@github.com:owner/repo.git`.
fn is_scp_git(s: &str) -> bool {
    let Some((user, rest)) = s.split_once('@') else {
        return false;
    };
    let Some((host, path)) = rest.split_once(':') else {
        return false;
    };
    !user.is_empty() && host.contains('.') && !host.starts_with('.') && !path.is_empty()
}

/// What hosted-git-info takes for a repository: `github:o/r`, `gitlab:`…, the `owner/repo`
/// shorthand, and git URLs.
fn git_what(spec: &str) -> Option<String> {
    let lower = spec.to_ascii_lowercase();
    let shorthand = {
        let body = spec.split('#').next().unwrap_or(spec);
        let parts: Vec<&str> = body.split('/').collect();
        parts.len() == 2
            && parts.iter().all(|p| {
                !p.is_empty() && !p.contains([':', '@', '%']) && !p.contains(char::is_whitespace)
            })
            && !body.starts_with(['.', '-', '~'])
    };
    let git = shorthand
        || [
            "github:",
            "gitlab:",
            "bitbucket:",
            "gist:",
            "git+",
            "git:",
            "ssh:",
        ]
        .iter()
        .any(|p| lower.starts_with(p))
        || ["github.com/", "gitlab.com/", "bitbucket.org/"]
            .iter()
            .any(|h| lower.starts_with(&format!("https://{h}")));
    git.then(|| "a git repository".to_string())
}

fn parse_spec(arg: &str, cwd: &Path, home: Option<&Path>) -> Spec {
    // npm looks for the `@` after the first character (a scope's `@` is not it).
    let skip = arg.chars().next().map_or(0, char::len_utf8);
    let name_end = arg[skip..].find('@').map(|i| i + skip);
    let name_part = name_end.map_or(arg, |i| &arg[..i]);
    let (name, spec) = if is_url(arg) {
        (None, arg)
    } else if is_scp_git(arg) {
        return Spec::Elsewhere {
            name: None,
            what: "a git repository".into(),
        };
    } else if !name_part.starts_with('@') && (name_part.contains('/') || is_file_type(name_part)) {
        (None, arg)
    } else if let Some(i) = name_end {
        (Some(name_part.to_string()), &arg[i + 1..])
    } else if arg.starts_with(['.', '_']) {
        // Not a valid package name: npm reads it as a path or fails.
        (None, arg)
    } else {
        (Some(arg.to_string()), "*")
    };
    let lower = spec.to_ascii_lowercase();
    if lower.starts_with("file:") || is_posix_file(spec) {
        return Spec::Path {
            name,
            path: file_path(spec, cwd, home),
            tarball: is_file_type(spec),
        };
    }
    if lower.starts_with("npm:") {
        let target = match parse_spec(&spec[4..], cwd, home) {
            Spec::Registry { name, .. } => Some(name),
            _ => None,
        };
        return Spec::Alias {
            name: name.unwrap_or_default(),
            target,
        };
    }
    if let Some(what) = git_what(spec) {
        return Spec::Elsewhere { name, what };
    }
    if is_url(spec) {
        let what = if lower.starts_with("http://") || lower.starts_with("https://") {
            "a URL".to_string()
        } else {
            format!("a `{}:` spec", lower.split(':').next().unwrap_or_default())
        };
        return Spec::Elsewhere { name, what };
    }
    if spec.contains('/') || is_file_type(spec) {
        return Spec::Path {
            name,
            path: file_path(spec, cwd, home),
            tarball: is_file_type(spec),
        };
    }
    match name {
        Some(name) => Spec::Registry {
            name,
            version: Some(spec.to_string()).filter(|v| !v.is_empty() && v != "*"),
        },
        // Not a valid name either: npm fails on it.
        None => Spec::Registry {
            name: spec.to_string(),
            version: None,
        },
    }
}

/// The absolute path of a path spec, as npm resolves it (`~/` is HOME, the rest is relative
/// to the current directory); `None` for `file:` URLs clawkit does not resolve.
fn file_path(spec: &str, cwd: &Path, home: Option<&Path>) -> Option<PathBuf> {
    let rest = if spec
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("file:"))
    {
        let rest = &spec[5..];
        if rest.contains(['%', '?', '#']) {
            return None;
        }
        if let Some(abs) = rest.strip_prefix("//") {
            if abs.starts_with('/') || abs.starts_with("~/") {
                abs
            } else {
                return None;
            }
        } else {
            rest
        }
    } else {
        spec
    };
    resolve(rest, cwd, home)
}

/// `~/x` → HOME/x, relative → against `cwd`, then `.` and `..` folded (node's path.resolve).
fn resolve(p: &str, cwd: &Path, home: Option<&Path>) -> Option<PathBuf> {
    let joined = match p.strip_prefix("~/") {
        Some(rest) => home?.join(rest),
        None => cwd.join(p),
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Some(out)
}

/// Whose package a spec installs.
enum Owner {
    /// OpenClaw, from here.
    Ours(Source),
    /// Another package (or nothing: npm fails on it).
    Other,
    /// clawkit cannot tell whether it is OpenClaw: why.
    Unsure(String),
}

enum Source {
    Registry(Option<String>),
    Path(PathBuf),
    /// OpenClaw from somewhere clawkit does not install from: why.
    Unsupported(String),
}

/// An npm registry clawkit update accepts: an http(s) URL with a host.
fn http_url(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    ["http://", "https://"].iter().any(|scheme| {
        lower
            .strip_prefix(scheme)
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
    }) && !s.contains(char::is_whitespace)
}

/// `openclaw-2026.9.6.tgz`, as `npm pack` names OpenClaw's tarball.
fn openclaw_tarball_name(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    [".tgz", ".tar.gz", ".tar"]
        .iter()
        .find_map(|e| name.strip_suffix(e))
        .and_then(|n| n.strip_prefix("openclaw-"))
        .is_some_and(|v| v.parse::<Version>().is_ok())
}

enum Found {
    Name(String),
    /// Nothing there: npm fails on it, installing nothing.
    Missing,
    Unreadable(String),
}

/// The `name` in a package's package.json: a directory's, or a tarball's `package/package.json`
/// (what `npm pack` makes, and what `clawkit update --package` reads).
fn package_name(path: &Path, tarball: bool) -> Found {
    let text = if tarball {
        if !path.exists() {
            return Found::Missing;
        }
        let out = crate::exec::Cmd::new("tar")
            .arg("-xOf")
            .arg(path)
            .arg("package/package.json")
            .timeout(Duration::from_secs(60))
            .run();
        match out {
            Ok(o) if o.success() => o.stdout,
            _ => return Found::Unreadable("it is not an npm package tarball".into()),
        }
    } else {
        match std::fs::read_to_string(path.join("package.json")) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Found::Missing,
            Err(e) if e.raw_os_error() == Some(nix::libc::ENOTDIR) => return Found::Missing,
            Err(e) => return Found::Unreadable(format!("its package.json cannot be read ({e})")),
        }
    };
    match serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("name")?.as_str().map(String::from))
    {
        Some(n) => Found::Name(n),
        None => Found::Unreadable("its package.json has no name".into()),
    }
}

fn owner(arg: &str, cwd: &Path, home: Option<&Path>) -> Owner {
    let ours = |n: &Option<String>| n.as_deref() == Some(PACKAGE);
    match parse_spec(arg, cwd, home) {
        Spec::Registry { name, version } if name == PACKAGE => {
            Owner::Ours(Source::Registry(version))
        }
        Spec::Registry { .. } => Owner::Other,
        Spec::Alias { name, target } if name == PACKAGE || target.as_deref() == Some(PACKAGE) => {
            Owner::Ours(Source::Unsupported(format!(
                "`{arg}` is an npm alias; clawkit installs OpenClaw only as openclaw"
            )))
        }
        Spec::Alias { .. } => Owner::Other,
        Spec::Elsewhere { name, what } if ours(&name) => Owner::Ours(Source::Unsupported(format!(
            "`{arg}` is {what}; clawkit installs OpenClaw only from the registry or a local tarball"
        ))),
        Spec::Elsewhere { name: Some(_), .. } => Owner::Other,
        Spec::Elsewhere { name: None, what } => Owner::Unsure(format!(
            "`{arg}` is {what}, so clawkit cannot tell whether it is OpenClaw (clawkit installs \
             OpenClaw only from the registry or a local tarball)"
        )),
        Spec::Path { path: None, .. } => {
            Owner::Unsure(format!("clawkit cannot resolve the path `{arg}`"))
        }
        Spec::Path {
            name,
            path: Some(path),
            tarball,
        } => {
            if !path.exists() {
                // Nothing there: npm fails on it, installing nothing.
                return Owner::Other;
            }
            let openclaw = if name.is_some() {
                ours(&name)
            } else if tarball && openclaw_tarball_name(&path) {
                // npm pack's name is enough: `clawkit update --package` checks the contents.
                true
            } else {
                match package_name(&path, tarball) {
                    Found::Name(n) => n == PACKAGE,
                    Found::Missing => false,
                    Found::Unreadable(why) => {
                        return Owner::Unsure(format!(
                            "clawkit cannot tell whether `{arg}` is OpenClaw: {why}"
                        ))
                    }
                }
            };
            match (openclaw, tarball) {
                (false, _) => Owner::Other,
                (true, true) => Owner::Ours(Source::Path(path)),
                // `clawkit update --package` takes a tarball, as `npm pack` makes it.
                (true, false) => Owner::Ours(Source::Unsupported(format!(
                    "`{arg}` is an OpenClaw directory and clawkit installs OpenClaw from the \
                     registry or a tarball: run `npm pack {}`, then install the tarball it makes",
                    quote(arg)
                ))),
            }
        }
    }
}

// ───────────────────────────── the decision ─────────────────────────────

/// Classifies `tool args…` (tool is `npm`, `pnpm` or `bun`); `cwd` and `home` resolve path
/// specs and `--prefix` the way the tool would.
pub fn classify(tool: &str, args: &[String], cwd: &Path, home: Option<&Path>) -> Decision {
    let parsed = match tool {
        "npm" => NPM.parse(args),
        "pnpm" => PNPM.parse(args),
        "bun" => parse_bun(args),
        _ => return Decision::Pass,
    };
    let decision = decide(tool, args, &parsed, cwd, home);
    if decision != Decision::Pass || help(&parsed) {
        return decision;
    }
    // A flag clawkit does not know may take a value it read as a package, or hide the verb:
    // when the words of a global OpenClaw install are all there, refuse rather than guess.
    let Some(unknown) = parsed.flags.iter().find(|f| f.rule.is_none()) else {
        return decision;
    };
    let maybe_global = global(&parsed.flags)
        || parsed
            .flags
            .iter()
            .any(|f| f.rule.is_none() && !f.key.is_empty() && "global".starts_with(&f.key));
    let verb_word = args.iter().any(|a| verb(tool, a).is_some());
    let openclaw_word = args
        .iter()
        .any(|a| a == PACKAGE || a.starts_with("openclaw@"));
    if maybe_global && verb_word && openclaw_word {
        return refusal(
            tool,
            args,
            format!(
                "{}: clawkit does not know this {tool} flag, so it cannot tell whether this \
                 installs OpenClaw",
                unknown.display()
            ),
        );
    }
    decision
}

fn help(p: &Parsed) -> bool {
    p.flags.iter().any(|f| f.on && f.rule == Some(Rule::Help))
}

/// `-g`/`--global` (the last one wins), or npm's `--location global`.
fn global(flags: &[Flag]) -> bool {
    let mut global = false;
    let mut location = false;
    for f in flags {
        match f.rule {
            Some(Rule::Global) => global = f.on,
            Some(Rule::Location) if f.on => match f.value.as_deref() {
                Some("global") => location = true,
                // npm drops an invalid value: back to the default, `user`.
                _ => location = false,
            },
            _ => {}
        }
    }
    global || location
}

/// Words as a user would type them.
fn shell_line(words: &[impl AsRef<str>]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| quote(w.as_ref())).collect();
    quoted.join(" ")
}

/// One line: why, then how to run the real tool anyway.
fn refusal(tool: &str, args: &[String], why: impl std::fmt::Display) -> Decision {
    Decision::Refuse(format!(
        "{why}; to run the real {tool}: CLAWKIT_BYPASS=1 {tool} {}",
        shell_line(args)
    ))
}

fn decide(tool: &str, args: &[String], p: &Parsed, cwd: &Path, home: Option<&Path>) -> Decision {
    let Some((first, rest)) = p.words.split_first() else {
        return Decision::Pass;
    };
    let Some(verb) = verb(tool, first) else {
        return Decision::Pass;
    };
    if !global(&p.flags) || help(p) {
        return Decision::Pass;
    }
    // `npm install -g` with no package installs the current directory's package.
    let here = [".".to_string()];
    let specs = if rest.is_empty() && tool == "npm" && verb != Verb::Update {
        &here[..]
    } else {
        rest
    };
    if specs.is_empty() {
        return if verb == Verb::Update {
            refusal(
                tool,
                args,
                format!(
                    "`{tool} {}` would update every global package, OpenClaw included, under \
                     its running gateway: run `clawkit update` for OpenClaw, then this for the rest",
                    shell_line(args)
                ),
            )
        } else {
            Decision::Pass
        };
    }
    let owners: Vec<(&String, Owner)> = specs.iter().map(|s| (s, owner(s, cwd, home))).collect();
    if owners.iter().all(|(_, o)| matches!(o, Owner::Other)) {
        return Decision::Pass;
    }
    if let Some((_, Owner::Unsure(why))) =
        owners.iter().find(|(_, o)| matches!(o, Owner::Unsure(_)))
    {
        return refusal(tool, args, why);
    }
    let others: Vec<&str> = owners
        .iter()
        .filter(|(_, o)| matches!(o, Owner::Other))
        .map(|(s, _)| s.as_str())
        .collect();
    if !others.is_empty() {
        let ours = if verb == Verb::Install {
            "clawkit update --install"
        } else {
            "clawkit update"
        };
        return refusal(
            tool,
            args,
            format!(
                "this installs OpenClaw together with {}, and clawkit updates OpenClaw on its own: \
                 run `{ours}`, then `{tool} {first} -g {}`",
                others.join(" "),
                shell_line(&others)
            ),
        );
    }
    if owners.len() > 1 {
        return refusal(
            tool,
            args,
            "OpenClaw is named more than once: name one version",
        );
    }
    let Some((spec, Owner::Ours(source))) = owners.into_iter().next() else {
        return Decision::Pass;
    };
    if let Source::Unsupported(why) = &source {
        return refusal(tool, args, why);
    }
    if verb == Verb::InstallTest {
        return refusal(
            tool,
            args,
            format!(
                "`{tool} {first}` also runs the package's tests, which clawkit update does not"
            ),
        );
    }

    let mut dry_run = false;
    let mut yes = false;
    let mut tag: Option<&str> = None;
    let mut registry: Option<&str> = None;
    let mut prefix: Option<&str> = None;
    for f in &p.flags {
        match f.rule {
            None => {
                return refusal(
                    tool,
                    args,
                    format!("{}: clawkit does not know this {tool} flag", f.display()),
                )
            }
            Some(Rule::Refuse(why)) => {
                return refusal(tool, args, format!("{}: {why}", f.display()))
            }
            Some(Rule::DryRun) => dry_run = f.on,
            Some(Rule::Yes) => yes = f.on,
            Some(rule @ (Rule::Tag | Rule::Registry | Rule::Prefix)) => {
                let v = match (f.on, f.value.as_deref()) {
                    // npm turns `--no-tag` into the tag "false" and `--no-prefix` into ./false.
                    (false, _) => {
                        return refusal(
                            tool,
                            args,
                            format!(
                                "{}: clawkit cannot tell what {tool} makes of it",
                                f.display()
                            ),
                        )
                    }
                    (true, Some(v)) if !v.is_empty() => Some(v),
                    (true, _) => {
                        return refusal(tool, args, format!("{} needs a value", f.display()))
                    }
                };
                match rule {
                    Rule::Tag => tag = v,
                    Rule::Registry => registry = v,
                    _ => prefix = v,
                }
            }
            Some(Rule::Global | Rule::Location | Rule::Latest | Rule::Help | Rule::Drop(_)) => {}
        }
    }

    let mut out = vec!["update".to_string()];
    match source {
        Source::Registry(version) => {
            // npm applies --tag only to a spec without a version.
            let target = version.as_deref().or(tag);
            if let Some(t) = target {
                if Target::parse(t).is_err() {
                    let what = if version.is_some() {
                        format!("`{spec}`")
                    } else {
                        format!("`--tag {t}`")
                    };
                    return refusal(
                        tool,
                        args,
                        format!(
                            "{what} names neither an OpenClaw version (2026.9.6) nor a dist-tag \
                             (latest, beta); clawkit installs exactly one, not a range"
                        ),
                    );
                }
                out.extend(["--to".into(), t.to_string()]);
            }
        }
        Source::Path(path) => out.extend(["--package".into(), path.display().to_string()]),
        Source::Unsupported(why) => return refusal(tool, args, why),
    }
    if let Some(p) = prefix {
        match resolve(p, cwd, home) {
            Some(abs) => out.extend(["--prefix".into(), abs.display().to_string()]),
            None => return refusal(tool, args, "`--prefix ~/…` needs HOME, which is not set"),
        }
    }
    if let Some(r) = registry {
        if !http_url(r) {
            return refusal(
                tool,
                args,
                format!("`{r}` is not an http(s) registry URL, which clawkit update needs"),
            );
        }
        out.extend(["--registry".into(), r.to_string()]);
    }
    if verb == Verb::Install {
        out.push("--install".into());
    }
    if dry_run {
        out.push("--dry-run".into());
    }
    if yes {
        out.push("--yes".into());
    }
    Decision::Update(out)
}

/// `clawkit intercept TOOL -- ARGS…`: decide, then run clawkit update, refuse, or exec the tool.
pub fn run(env: &Env, tool: &str, args: &[OsString], p: &Printer) -> Result<Exit> {
    let decision = if env.is_true("CLAWKIT_BYPASS") {
        Decision::Pass
    } else {
        let lossy: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        match classify(tool, &lossy, &cwd, env.home().as_deref()) {
            Decision::Update(_) if args.iter().any(|a| a.to_str().is_none()) => refusal(
                tool,
                &lossy,
                "an argument is not valid UTF-8, so clawkit cannot pass it on to clawkit update",
            ),
            d => d,
        }
    };
    match decision {
        Decision::Pass => {
            let real = env
                .which(tool)
                .ok_or_else(|| Failure::new(Exit::Attention, format!("{tool} is not on PATH")))?;
            let err = std::process::Command::new(&real).args(args).exec();
            Err(err).with_context(|| format!("cannot run {}", real.display()))
        }
        Decision::Refuse(msg) => Err(Failure::usage(msg).into()),
        Decision::Update(update_args) => {
            p.alert(format!(
                "clawkit: running `clawkit {}` instead of `{tool} {}`",
                update_args.join(" "),
                args.iter()
                    .map(|a| a.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
            let clawkit = env
                .which("clawkit")
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

/// The command lines the alias is tested with: the unit test below classifies them, and
/// tests/shell.rs types each one into bash, zsh and fish.
#[doc(hidden)]
pub mod table {
    use std::path::Path;

    /// `TOOL ARGS… => EXPECTED`, one per line. EXPECTED is `pass` (the tool runs unchanged),
    /// `refuse: TEXT` (nothing runs; the one-line message contains TEXT) or the exact
    /// `clawkit update` argv, where `{cwd}` is the directory the line runs in (made by
    /// `fixtures`) and `{home}` is HOME, its parent.
    pub const ROWS: &str = "\
npm install -g openclaw => update --install
npm i -g openclaw@latest => update --to latest --install
npm install --global openclaw@2026.9.5 => update --to 2026.9.5 --install
npm -g install openclaw => update --install
npm install openclaw -g => update --install
npm install --location=global openclaw@beta => update --to beta --install
npm install --location global openclaw => update --install
npm i -L global openclaw => update --install
npm isnt -g openclaw => update --install
npm add -g openclaw@2026.7.1-2 => update --to 2026.7.1-2 --install
npm update -g openclaw => update
npm up --global openclaw => update
npm upgrade -g openclaw@2026.9.6 => update --to 2026.9.6
npm i -g openclaw@latest --dry-run => update --to latest --install --dry-run
npm i --dry-run -g openclaw --no-dry-run => update --install
npm i -g openclaw --dry-ru => update --install --dry-run
npm install -g openclaw --tag beta => update --to beta --install
npm install -g openclaw --tag=next => update --to next --install
npm install -g openclaw@2026.9.6 --tag beta => update --to 2026.9.6 --install
npm update -g openclaw --tag beta => update --to beta
npm install -g --prefix /opt/oc openclaw => update --prefix /opt/oc --install
npm install -g --prefix=rel/../dir openclaw => update --prefix {cwd}/dir --install
npm i -C /opt/oc -g openclaw --registry http://r.local/ => update --prefix /opt/oc --registry http://r.local/ --install
npm i -g openclaw --registry=http://r.local/ -y => update --registry http://r.local/ --install --yes
npm i -gy openclaw => update --install --yes
npm i -g openclaw --no-fund --no-audit --no-update-notifier --no-progress => update --install
npm i -gq openclaw --loglevel warn --color=always -s => update --install
npm i -gSDEOPB openclaw --save-peer --no-save -dd => update --install
npm i -g -- openclaw => update --install
npm i -g ./openclaw-2026.9.6.tgz => update --package {cwd}/openclaw-2026.9.6.tgz --install
npm i -g openclaw-2026.9.6.tgz => update --package {cwd}/openclaw-2026.9.6.tgz --install
npm i -g file:oc.tgz => update --package {cwd}/oc.tgz --install
npm i -g ~/openclaw-2026.9.6.tgz => update --package {home}/openclaw-2026.9.6.tgz --install
npm i -g openclaw@./oc.tgz --dry-run => update --package {cwd}/oc.tgz --install --dry-run
npm i -gf openclaw => refuse: `-f` (in `-gf`): clawkit never forces
npm install -g openclaw --force => refuse: `--force`
npm install -g openclaw --ignore-scripts => refuse: `--ignore-scripts`
npm install -g openclaw --omit=optional => refuse: `--omit=optional`
npm install -g openclaw --include dev => refuse: `--include`
npm i -g openclaw --foreground-scripts => refuse: `--foreground-scripts`
npm i -g openclaw --legacy-peer-deps => refuse: `--legacy-peer-deps`
npm i -g openclaw --install-strategy=nested => refuse: `--install-strategy=nested`
npm i -g openclaw --cpu arm64 --os linux => refuse: `--cpu`
npm i -g openclaw -w pkg => refuse: `-w`
npm i -g openclaw --json => refuse: `--json`
npm i -g openclaw --frobnicate => refuse: `--frobnicate`: clawkit does not know this npm flag
npm --cache /tmp/c i -g openclaw => refuse: `--cache`
npm install -g openclaw typescript => refuse: together with typescript
npm update -g => refuse: every global package
npm install -g openclaw@2026.x => refuse: `openclaw@2026.x` names neither
npm install -g openclaw --tag 2026.x => refuse: `--tag 2026.x` names neither
npm i -g openclaw --tag => refuse: `--tag` needs a value
npm i -g openclaw --no-tag => refuse: `--no-tag`: clawkit cannot tell
npm i -g openclaw openclaw@beta => refuse: more than once
npm i -g https://example.com/openclaw-2026.9.6.tgz => refuse: is a URL
npm i -g github:openclaw/openclaw => refuse: is a git repository
npm i -g openclaw/openclaw => refuse: is a git repository
npm i -g openclaw@git+https://example.com/oc.git => refuse: clawkit installs OpenClaw only from the registry
npm i -g oc@npm:openclaw => refuse: npm alias
npm i -g ./junk.tgz => refuse: not an npm package tarball
npm i -g ./checkout/ => refuse: run `npm pack ./checkout/`, then install the tarball it makes
npm i -g openclaw --registry=ftp://r.local/ => refuse: `ftp://r.local/` is not an http(s) registry URL
npm install-test -g openclaw => refuse: also runs the package's tests
npm install openclaw => pass
npm install -g typescript => pass
npm install -g openclaw-plugin-x => pass
npm i -g typescript --force => pass
npm view openclaw version => pass
npm uninstall -g openclaw => pass
npm run build -- --watch => pass
npm --version => pass
npm install -g --prefix openclaw typescript => pass
npm i -g --prefix openclaw => pass
npm i -g openclaw --help => pass
npm i -g openclaw -v => pass
npm i openclaw -g --global=false => pass
npm i --location=user openclaw => pass
npm i -g ./typescript-5.9.2.tgz => pass
npm i -g ./other/ => pass
npm i -g ./missing/ => pass
npm i -g ./openclaw-2026.9.7.tgz => pass
npm i -g left-pad@github:someone/left-pad => pass
npm link openclaw => pass
pnpm add -g openclaw => update --install
pnpm add --global openclaw@latest => update --to latest --install
pnpm install -g openclaw@beta => update --to beta --install
pnpm i -g openclaw --registry https://r.local/ => update --registry https://r.local/ --install
pnpm add -g openclaw --silent --reporter=append-only --loglevel warn --no-color => update --install
pnpm add -gy openclaw => update --install --yes
pnpm update -g openclaw => update
pnpm up -gL openclaw => update
pnpm add -g ./openclaw-2026.9.6.tgz => update --package {cwd}/openclaw-2026.9.6.tgz --install
pnpm add -g openclaw --global-dir /x => refuse: `--global-dir`
pnpm add -g openclaw --dry-run => refuse: `--dry-run`: pnpm add has no --dry-run
pnpm add -g openclaw --tag beta => refuse: `--tag`: pnpm add has no --tag
pnpm add -g openclaw --prefix /opt/oc => refuse: `--prefix`: in pnpm it names a project directory
pnpm add -gD openclaw => refuse: `-D` (in `-gD`)
pnpm add -g openclaw -d => refuse: `-d`
pnpm add -g openclaw --allow-build=esbuild => refuse: `--allow-build=esbuild`
pnpm add -g openclaw --save-catalog => refuse: `--save-catalog`: it changes how the global package is recorded
pnpm add -g openclaw --frobnicate => refuse: `--frobnicate`
pnpm update -g => refuse: every global package
pnpm add -g link:../openclaw => refuse: a `link:` spec
pnpm add openclaw => pass
pnpm add -g typescript => pass
pnpm install => pass
pnpm update -g typescript => pass
pnpm add -g openclaw --help => pass
pnpm -C openclaw add -g typescript => pass
bun add -g openclaw => update --install
bun add --global openclaw@2026.9.6 => update --to 2026.9.6 --install
bun install -g openclaw => update --install
bun i -g openclaw --dry-run => update --install --dry-run
bun a -g openclaw --registry=https://r.local/ --no-progress --silent => update --registry https://r.local/ --install
bun -g add openclaw --verbose --no-summary => update --install
bun update -g openclaw --latest => update
bun add -g ./openclaw-2026.9.6.tgz => update --package {cwd}/openclaw-2026.9.6.tgz --install
bun add -g openclaw -y => refuse: `-y`: in bun, -y is --yarn
bun add -gE openclaw => refuse: `-E` (in `-gE`)
bun add -g openclaw --tag=beta => refuse: `--tag=beta`: clawkit does not know this bun flag
bun add -g openclaw --trust => refuse: `--trust`
bun add -g openclaw --env-file=.env.ci => refuse: `--env-file=.env.ci`
bun add -g openclaw --registry => refuse: `--registry` needs a value
bun update -g => refuse: every global package
bun add openclaw => pass
bun add -g typescript => pass
bun run build => pass
bun upgrade => pass
bun pm ls -g => pass
bun add -g openclaw --help => pass
";

    pub enum Expect {
        Pass,
        Refuse(&'static str),
        Update(Vec<&'static str>),
    }

    pub struct Row {
        pub line: &'static str,
        pub expect: Expect,
    }

    impl Row {
        pub fn tool(&self) -> &'static str {
            self.line.split(' ').next().unwrap_or_default()
        }

        /// The expected `clawkit update` argv with the directories filled in.
        pub fn argv(&self, cwd: &Path, home: &Path) -> Option<Vec<String>> {
            match &self.expect {
                Expect::Update(a) => Some(
                    a.iter()
                        .map(|w| {
                            w.replace("{cwd}", &cwd.display().to_string())
                                .replace("{home}", &home.display().to_string())
                        })
                        .collect(),
                ),
                _ => None,
            }
        }
    }

    pub fn rows() -> Vec<Row> {
        ROWS.lines()
            .map(|l| {
                let (line, want) = l.split_once(" => ").expect("TOOL ARGS => EXPECTED");
                let expect = match want {
                    "pass" => Expect::Pass,
                    w => match w.strip_prefix("refuse: ") {
                        Some(text) => Expect::Refuse(text),
                        None => Expect::Update(w.split(' ').collect()),
                    },
                };
                Row { line, expect }
            })
            .collect()
    }

    /// The files the rows name, in `cwd`: OpenClaw's tarball as `npm pack` names it (also in
    /// HOME, `cwd`'s parent), the same tarball renamed, another package's tarball, a file that
    /// is no tarball, an OpenClaw checkout and another package's directory.
    pub fn fixtures(cwd: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(cwd)?;
        let pack = |name: &str, file: &str| -> std::io::Result<()> {
            let src = cwd.join(format!(".src-{file}"));
            std::fs::create_dir_all(src.join("package"))?;
            std::fs::write(
                src.join("package/package.json"),
                format!(r#"{{"name":"{name}","version":"2026.9.6"}}"#),
            )?;
            let ok = std::process::Command::new("tar")
                .arg("-czf")
                .arg(cwd.join(file))
                .arg("-C")
                .arg(&src)
                .arg("package")
                .status()?
                .success();
            std::fs::remove_dir_all(&src)?;
            if ok {
                Ok(())
            } else {
                Err(std::io::Error::other("tar failed"))
            }
        };
        pack("openclaw", "openclaw-2026.9.6.tgz")?;
        if let Some(home) = cwd.parent() {
            std::fs::copy(
                cwd.join("openclaw-2026.9.6.tgz"),
                home.join("openclaw-2026.9.6.tgz"),
            )?;
        }
        pack("openclaw", "oc.tgz")?;
        pack("typescript", "typescript-5.9.2.tgz")?;
        std::fs::write(cwd.join("junk.tgz"), "not a tarball")?;
        for (dir, name) in [("checkout", "openclaw"), ("other", "left-pad")] {
            std::fs::create_dir_all(cwd.join(dir))?;
            std::fs::write(
                cwd.join(dir).join("package.json"),
                format!(r#"{{"name":"{name}"}}"#),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::table::{Expect, Row};
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    fn check(row: &Row, cwd: &Path, home: &Path) {
        let w = words(row.line);
        let got = classify(&w[0], &w[1..], cwd, Some(home));
        match &row.expect {
            Expect::Pass => assert_eq!(got, Decision::Pass, "{}", row.line),
            Expect::Refuse(text) => {
                let Decision::Refuse(msg) = &got else {
                    panic!("{}: want a refusal, got {got:?}", row.line)
                };
                assert!(msg.contains(text), "{}: {msg}", row.line);
                assert!(!msg.contains('\n'), "{}: one line: {msg}", row.line);
                let bypass = format!("; to run the real {0}: CLAWKIT_BYPASS=1 {0} ", w[0]);
                assert!(msg.contains(&bypass), "{}: {msg}", row.line);
            }
            Expect::Update(_) => assert_eq!(
                got,
                Decision::Update(row.argv(cwd, home).unwrap()),
                "{}",
                row.line
            ),
        }
    }

    #[test]
    fn table() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path();
        let cwd = home.join("work");
        table::fixtures(&cwd).unwrap();
        let rows = table::rows();
        for row in &rows {
            check(row, &cwd, home);
        }
        for tool in ["npm", "pnpm", "bun"] {
            for kind in [0, 1, 2] {
                let n = rows
                    .iter()
                    .filter(|r| r.tool() == tool)
                    .filter(|r| match r.expect {
                        Expect::Update(_) => kind == 0,
                        Expect::Refuse(_) => kind == 1,
                        Expect::Pass => kind == 2,
                    })
                    .count();
                assert!(n >= 5, "{tool}: only {n} rows of kind {kind}");
            }
        }
        assert!(rows.len() >= 40);
    }

    #[test]
    fn non_ascii_never_panics() {
        // Found by tests/parsers.rs: flags and specs are sliced only on char boundaries.
        for line in [
            "-𝒩",
            "--𝒩o-x",
            "--no-𝒩",
            "𝒩@1",
            "file𝒩",
            "-g𝒩",
            "i -g 𝒩penclaw",
        ] {
            for tool in ["npm", "pnpm", "bun"] {
                let _ = classify(tool, &words(line), Path::new("/"), None);
            }
        }
    }

    #[test]
    fn every_known_flag_has_a_rule() {
        for (tool, n) in [("npm", &NPM), ("pnpm", &PNPM)] {
            for key in n.bools.iter().chain(n.values) {
                assert!((n.rule)(key).is_some(), "{tool} --{key}");
            }
            for (short, expansion) in n.shorthands {
                let key = expansion[0].trim_start_matches("--");
                let key = key.strip_prefix("no-").unwrap_or(key);
                assert!(n.known(key), "{tool} -{short} expands to unknown --{key}");
            }
        }
    }

    #[test]
    fn other_tools_pass() {
        let cwd = Path::new("/");
        assert_eq!(
            classify("yarn", &words("global add openclaw"), cwd, None),
            Decision::Pass
        );
    }

    #[test]
    fn specs_are_read_as_npm_reads_them() {
        let cwd = Path::new("/w");
        let home = Some(Path::new("/h"));
        let kind = |s: &str| match parse_spec(s, cwd, home) {
            Spec::Registry { name, version } => format!("registry {name} {version:?}"),
            Spec::Path {
                name,
                path,
                tarball,
            } => {
                format!("path {name:?} {path:?} {tarball}")
            }
            Spec::Alias { name, target } => format!("alias {name} {target:?}"),
            Spec::Elsewhere { name, what } => format!("elsewhere {name:?} {what}"),
        };
        for (spec, want) in [
            ("openclaw", "registry openclaw None"),
            ("openclaw@", "registry openclaw None"),
            ("openclaw@*", "registry openclaw None"),
            ("openclaw@beta", "registry openclaw Some(\"beta\")"),
            ("@openclaw/cli", "registry @openclaw/cli None"),
            ("checkout", "registry checkout None"),
            ("a/b.tgz", "elsewhere None a git repository"),
            ("foo/bar#main", "elsewhere None a git repository"),
            ("dir/", "path None Some(\"/w/dir\") false"),
            ("a/b/c", "path None Some(\"/w/a/b/c\") false"),
            (".", "path None Some(\"/w\") false"),
            ("..", "path None Some(\"/\") false"),
            (".hidden", "path None Some(\"/w/.hidden\") false"),
            ("~/", "path None Some(\"/h\") false"),
            ("x.TAR.GZ", "path None Some(\"/w/x.TAR.GZ\") true"),
            ("file:///abs/x.tgz", "path None Some(\"/abs/x.tgz\") true"),
            ("file://~/x.tgz", "path None Some(\"/h/x.tgz\") true"),
            ("file:~/x.tgz", "path None Some(\"/h/x.tgz\") true"),
            ("file:../x.tgz", "path None Some(\"/x.tgz\") true"),
            ("file://host/x.tgz", "path None None true"),
            ("file:a%20b.tgz", "path None None true"),
            (
                "openclaw@./x.tgz",
                "path Some(\"openclaw\") Some(\"/w/x.tgz\") true",
            ),
            ("oc@npm:openclaw@latest", "alias oc Some(\"openclaw\")"),
            (
                "openclaw@npm:typescript",
                "alias openclaw Some(\"typescript\")",
            ),
            ("git@github.com:o/r.git", "elsewhere None a git repository"),
            ("https://github.com/o/r", "elsewhere None a git repository"),
            ("https://e.com/x.tgz", "elsewhere None a URL"),
            (
                "openclaw@github:o/r",
                "elsewhere Some(\"openclaw\") a git repository",
            ),
            ("link:../x", "elsewhere None a `link:` spec"),
        ] {
            assert_eq!(kind(spec), want, "{spec}");
        }
    }
}
