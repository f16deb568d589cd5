//! The rehearsal, between staging and the stop, while the old gateway keeps serving: the staged
//! release migrates a private copy of each profile's state and boots on it on a spare loopback
//! port. A release that fails to migrate, crashes, stays unhealthy or reports another version is
//! refused (exit 6) before anything is stopped. The copy also tells whether the migration
//! changes anything; when it does not, the outage skips `openclaw doctor --fix`.
//!
//! Isolation: the copy lives in a 0700 directory under `<state>/clawkit/`; the rehearsal runs
//! with its own `HOME`, `TMPDIR`, XDG dirs, `OPENCLAW_STATE_DIR` and `OPENCLAW_CONFIG_PATH`, a
//! config rewritten so that every path into the real state dir points into the copy, update
//! checks, telemetry, mDNS and bonjour off, and `--update-canary` where the release has it (no
//! channels, scheduled services, sandbox host or update check). SQLite databases are copied with
//! SQLite's online backup, consistent while the old gateway writes them. Only the compile cache
//! (`NODE_COMPILE_CACHE`) is shared with the real gateway: the real start after the swap then
//! finds the new release's modules already compiled.

use std::ffi::OsString;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::backup::{self, WORKSPACE};
use crate::env::Env;
use crate::exec::Cmd;
use crate::gateway;
use crate::member::Member;
use crate::openclaw::OpenClaw;
use crate::proc;
use crate::signals::Interrupt;
use crate::steps::Recorder;
use crate::version::Version;

/// Files bigger than this (session logs) are not copied: no migration rewrites them.
const MAX_COPIED_FILE: u64 = 64 * 1024 * 1024;
/// A second gateway needs about this much memory (550-650 MB measured) and a migration as much.
pub const MIN_AVAILABLE_MEMORY: u64 = 1200 * 1024 * 1024;

/// What one profile's rehearsal found.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Rehearsed {
    pub profile: String,
    pub state_dir: PathBuf,
    /// Did the release's migration change the copy (beyond the config's `meta` stamp)?
    pub migration_changes: bool,
    /// `--update-canary` was used (2026.9.4+); otherwise the isolating config.
    pub canary: bool,
    pub port: u16,
    pub migrate_ms: u64,
    pub boot_ms: u64,
    pub readyz: Option<Value>,
}

/// How a rehearsal ended.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(tag = "result", rename_all = "kebab-case")]
#[schemars(deny_unknown_fields)]
pub enum Verdict {
    Passed {
        profiles: Vec<Rehearsed>,
    },
    Failed {
        /// `snapshot`, `migrate`, `boot`, `health`, `version`.
        step: String,
        profile: String,
        error: String,
        log_tail: String,
    },
    Skipped {
        reason: String,
    },
}

impl Verdict {
    /// True when the rehearsal ran and proved that no profile's migration changes anything.
    pub fn nothing_to_migrate(&self) -> bool {
        matches!(self, Verdict::Passed { profiles } if !profiles.is_empty() && profiles.iter().all(|p| !p.migration_changes))
    }
}

/// Why the rehearsal cannot run here (or `None` when it can).
pub fn cannot_run(members: &[Member]) -> Option<String> {
    if !members.iter().any(|m| m.layout.state_dir.is_dir()) {
        return Some("there is no state to rehearse on (a fresh install)".into());
    }
    if let Some(avail) = available_memory() {
        if avail < MIN_AVAILABLE_MEMORY {
            return Some(format!(
                "only {} MB of memory available; a second gateway and its migration need about {} MB",
                avail / 1_048_576,
                MIN_AVAILABLE_MEMORY / 1_048_576
            ));
        }
    }
    None
}

fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// The private places of one rehearsal.
pub struct Private {
    pub root: PathBuf,
    pub home: PathBuf,
    pub state: PathBuf,
    pub config: PathBuf,
    pub tmp: PathBuf,
    pub log: PathBuf,
}

impl Private {
    pub fn new(member: &Member, id: &str) -> Private {
        let root = member.layout.clawkit_dir().join(format!("rehearsal-{id}"));
        Private {
            home: root.join("home"),
            state: root.join("state"),
            config: root.join("state/openclaw.json"),
            tmp: root.join("tmp"),
            log: root.join("gateway.log"),
            root,
        }
    }

    /// The environment every rehearsal command runs with: nothing of the user's but PATH and
    /// the locale, everything else private.
    pub fn env(&self, env: &Env, compile_cache: Option<&Path>) -> Vec<(OsString, OsString)> {
        let mut v: Vec<(OsString, OsString)> = Vec::new();
        for key in ["PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ"] {
            if let Some(val) = env.get_os(key) {
                v.push((key.into(), val.to_os_string()));
            }
        }
        let p = |k: &str, path: &Path| (OsString::from(k), path.as_os_str().to_os_string());
        v.push(p("HOME", &self.home));
        v.push(p("OPENCLAW_HOME", &self.home));
        v.push(p("TMPDIR", &self.tmp));
        v.push(p("TMP", &self.tmp));
        v.push(p("TEMP", &self.tmp));
        // The copy's workspace (its top-level files are copied with the state): OpenClaw's
        // default when the state dir is set, named so that no workspace of the user's is used.
        v.push(p("OPENCLAW_WORKSPACE_DIR", &self.state.join(WORKSPACE)));
        v.push(p("XDG_CONFIG_HOME", &self.home.join(".config")));
        v.push(p("XDG_CACHE_HOME", &self.home.join(".cache")));
        v.push(p("XDG_DATA_HOME", &self.home.join(".local/share")));
        v.push(p("XDG_STATE_HOME", &self.home.join(".local/state")));
        v.push(p("OPENCLAW_STATE_DIR", &self.state));
        v.push(p("OPENCLAW_CONFIG_PATH", &self.config));
        v.push(p("npm_config_cache", &self.home.join(".npm")));
        // What OpenClaw's own update rehearsal sets (measured: with these, 6.11 without
        // --update-canary sends nothing either), plus bonjour and telemetry off.
        for (k, val) in [
            ("OPENCLAW_SKIP_CHANNELS", "1"),
            ("OPENCLAW_SKIP_PROVIDERS", "1"),
            ("OPENCLAW_SKIP_CRON", "1"),
            ("OPENCLAW_SKIP_GMAIL_WATCHER", "1"),
            ("OPENCLAW_SKIP_CANVAS_HOST", "1"),
            ("OPENCLAW_SKIP_BROWSER_CONTROL_SERVER", "1"),
            ("OPENCLAW_SKIP_STARTUP_MODEL_PREWARM", "1"),
            ("OPENCLAW_NO_AUTO_UPDATE", "1"),
            ("OPENCLAW_DISABLE_BONJOUR", "1"),
            ("DO_NOT_TRACK", "1"),
            ("NO_COLOR", "1"),
            ("FORCE_COLOR", "0"),
        ] {
            v.push((k.into(), val.into()));
        }
        if let Some(c) = compile_cache {
            v.push(p("NODE_COMPILE_CACHE", c));
        }
        v
    }
}

fn is_sqlite(p: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 16];
    std::fs::File::open(p)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head == b"SQLite format 3\0"
}

/// A consistent copy of a live SQLite database (the online backup API: pages copied under a
/// read transaction, whatever the writer does meanwhile; WAL content included).
fn copy_sqlite(from: &Path, to: &Path) -> Result<()> {
    let src = rusqlite::Connection::open_with_flags(
        from,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open {}", from.display()))?;
    src.busy_timeout(Duration::from_secs(10))?;
    let mut dst = rusqlite::Connection::open(to)?;
    {
        let b = rusqlite::backup::Backup::new(&src, &mut dst)?;
        b.run_to_completion(256, Duration::from_millis(5), None)
            .with_context(|| format!("cannot copy the database {}", from.display()))?;
    }
    // The copy is a plain database file, no WAL beside it.
    dst.pragma_update(None, "journal_mode", "DELETE").ok();
    // Leases name the live gateway's process: in the copy nobody holds them (OpenClaw's doctor
    // would otherwise refuse to migrate "a database still open in process N").
    for table in ["agent_database_leases", "state_leases"] {
        let exists: bool = dst
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get(0),
            )
            .unwrap_or(false);
        if exists {
            dst.execute(&format!("DELETE FROM \"{table}\""), [])
                .with_context(|| {
                    format!("cannot clear {table} in the copy of {}", from.display())
                })?;
        }
    }
    drop(dst);
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

fn mkdir_private(p: &Path) -> Result<()> {
    std::fs::create_dir_all(p).with_context(|| format!("cannot create {}", p.display()))?;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o700))?;
    Ok(())
}

/// Sets `path` (dotted) to `value` in a JSON config, creating objects on the way.
fn set(cfg: &mut Value, path: &str, value: Value) {
    let mut node = cfg;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, k) in parts.iter().enumerate() {
        if !node.is_object() {
            *node = serde_json::json!({});
        }
        let o = node.as_object_mut().expect("an object");
        if i + 1 == parts.len() {
            o.insert((*k).to_string(), value);
            return;
        }
        node = o
            .entry((*k).to_string())
            .or_insert_with(|| serde_json::json!({}));
    }
}

/// The config keys that keep a rehearsal gateway to itself, for the release `to`: accepted by
/// 6.11 and 9.x (checked with `openclaw config set`), except `models.catalogRefresh`, which
/// exists from 2026.8 (older releases reject keys they do not know).
fn isolate(cfg: &mut Value, to: &Version) {
    set(cfg, "update.checkOnStart", Value::Bool(false));
    set(cfg, "cron.enabled", Value::Bool(false));
    set(cfg, "discovery.mdns.mode", Value::from("off"));
    set(cfg, "gateway.tailscale.mode", Value::from("off"));
    set(cfg, "agents.defaults.heartbeat.every", Value::from("0m"));
    set(cfg, "hooks.enabled", Value::Bool(false));
    set(cfg, "gateway.controlUi.enabled", Value::Bool(false));
    if to >= &Version::new(2026, 8, 0) {
        set(cfg, "models.catalogRefresh.enabled", Value::Bool(false));
    }
}

/// The lock files 9.x leaves in the fixed `/tmp/openclaw-state-locks-<uid>/` for a state dir
/// (named by the first 8 hex digits of the sha256 of its database's real path): a rehearsal
/// removes its own.
fn remove_global_locks(private: &Private) {
    let db = private.state.join("state/openclaw.sqlite");
    let real = std::fs::canonicalize(&db).unwrap_or(db);
    let h = hex::encode(Sha256::digest(real.to_string_lossy().as_bytes()));
    let dir = PathBuf::from(format!(
        "/tmp/openclaw-state-locks-{}",
        nix::unistd::getuid()
    ));
    for kind in ["gateway-lifecycle", "state-handles", "state-lifecycle"] {
        let _ = std::fs::remove_file(dir.join(format!("{kind}.{}.lock.sqlite", &h[..8])));
    }
}

/// Copies a profile's state into `private` (databases by the online backup, the rest as files)
/// and writes the config with every path into the real state dir pointed into the copy. Returns
/// the agents' workspaces that lie outside the state dir (not copied: see [`confine_workspaces`]).
pub fn snapshot(
    member: &Member,
    private: &Private,
    to: &Version,
    env: &Env,
) -> Result<Vec<String>> {
    let layout = &member.layout;
    if private.root.exists() {
        std::fs::remove_dir_all(&private.root)?;
    }
    for d in [&private.root, &private.home, &private.state, &private.tmp] {
        mkdir_private(d)?;
    }
    let real_state = std::fs::canonicalize(&layout.state_dir).unwrap_or(layout.state_dir.clone());
    for (rel, path) in backup::scope(layout)? {
        if rel.starts_with("@config/") {
            continue; // the config is written below
        }
        let dest = private.state.join(&rel);
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(_) => continue, // a dangling link
        };
        if meta.is_dir() {
            mkdir_private(&dest)?;
            continue;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let sidecar = ["-wal", "-shm", "-journal"].iter().any(|s| {
            name.strip_suffix(s)
                .is_some_and(|base| is_sqlite(&path.with_file_name(base)))
        });
        if sidecar {
            continue; // folded into the database by the backup API
        }
        if let Some(parent) = dest.parent() {
            mkdir_private(parent)?;
        }
        if is_sqlite(&path) {
            copy_sqlite(&path, &dest)?;
        } else if meta.len() <= MAX_COPIED_FILE {
            std::fs::copy(&path, &dest)
                .with_context(|| format!("cannot copy {}", path.display()))?;
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    // The config: parsed (JSON5), paths into the real state dir moved into the copy, the log
    // file inside the copy, written as JSON (valid JSON5).
    let mut cfg: Value = std::fs::read_to_string(&layout.config_path)
        .ok()
        .and_then(|t| json5::from_str(&t).ok())
        .unwrap_or_else(|| serde_json::json!({}));
    let from = [
        layout.state_dir.to_string_lossy().to_string(),
        real_state.to_string_lossy().to_string(),
    ];
    let into = private.state.to_string_lossy().to_string();
    repoint(&mut cfg, &from, &into);
    let mut unseen = confine_workspaces(&mut cfg, &layout.home, &from, private);
    // The real migration's default workspace, when the environment names one elsewhere.
    if let Some(w) = env
        .get_os("OPENCLAW_WORKSPACE_DIR")
        .filter(|w| !w.is_empty())
    {
        let w = PathBuf::from(w);
        if !from.iter().any(|f| w == Path::new(f).join(WORKSPACE)) {
            unseen.push(w.to_string_lossy().to_string());
        }
    }
    if let Some(o) = cfg.as_object_mut() {
        let logging = o.entry("logging").or_insert_with(|| serde_json::json!({}));
        if let Some(l) = logging.as_object_mut() {
            l.insert(
                "file".into(),
                Value::from(
                    private
                        .root
                        .join("logs/openclaw.log")
                        .to_string_lossy()
                        .to_string(),
                ),
            );
        }
    }
    isolate(&mut cfg, to);
    let _ = std::fs::remove_file(&private.config);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&private.config)?;
    use std::io::Write;
    f.write_all(serde_json::to_string_pretty(&cfg)?.as_bytes())?;
    Ok(unseen)
}

/// Keeps the rehearsal off the user's workspaces. A workspace the config names
/// (`agents.defaults.workspace`, `agents.list[].workspace`; OpenClaw prefers them to any
/// default) inside the state dir is in the copy; one outside it (or relative) would be the
/// user's own, which the rehearsal's `doctor --fix` would migrate in place while the gateway
/// runs: it is pointed at an empty directory of the rehearsal's instead, and returned, so that
/// the rehearsal does not claim the migration changes nothing. `~` is the user's home (run after
/// [`repoint`]; `from` are the real state dir's names).
fn confine_workspaces(
    cfg: &mut Value,
    home: &Path,
    from: &[String],
    private: &Private,
) -> Vec<String> {
    let into = private.state.to_string_lossy().to_string();
    let mut unseen = Vec::new();
    let agents = cfg.get_mut("agents").and_then(Value::as_object_mut);
    let Some(agents) = agents else {
        return unseen;
    };
    let mut slots: Vec<&mut Value> = Vec::new();
    for (key, v) in agents.iter_mut() {
        match (key.as_str(), v) {
            ("defaults", d) => slots.extend(d.get_mut("workspace")),
            ("list", Value::Array(list)) => {
                slots.extend(list.iter_mut().filter_map(|a| a.get_mut("workspace")))
            }
            _ => {}
        }
    }
    for (i, slot) in slots.into_iter().enumerate() {
        let Some(raw) = slot.as_str().map(str::trim).filter(|w| !w.is_empty()) else {
            continue;
        };
        let expanded = match raw.strip_prefix('~') {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                format!("{}{rest}", home.to_string_lossy())
            }
            _ => raw.to_string(),
        };
        let mut v = Value::from(expanded.clone());
        repoint(&mut v, from, &into);
        let path = PathBuf::from(v.as_str().unwrap_or_default());
        if in_the_copy(&path, &private.state) {
            *slot = v;
        } else {
            // Named as the user wrote it ([`repoint`] has already moved it into the copy).
            let shown = match (expanded.strip_prefix(into.as_str()), from.first()) {
                (Some(rest), Some(real)) if rest.is_empty() || rest.starts_with('/') => {
                    format!("{real}{rest}")
                }
                _ => expanded,
            };
            unseen.push(shown);
            let elsewhere = private.root.join(format!("workspace-outside-{i}"));
            *slot = Value::from(elsewhere.to_string_lossy().to_string());
        }
    }
    unseen
}

/// Whether the copy holds the workspace `path` whole: under the copied state dir, without `..`,
/// and not in a directory the copy leaves out (the workspace's own subdirectories included: only
/// its top-level files are copied).
fn in_the_copy(path: &Path, state: &Path) -> bool {
    use std::path::Component;
    let Ok(rel) = path.strip_prefix(state) else {
        return false;
    };
    let parts: Vec<Component> = rel.components().collect();
    if parts.iter().any(|c| !matches!(c, Component::Normal(_))) {
        return false;
    }
    match parts.first() {
        None => true,
        Some(first) if first.as_os_str() == WORKSPACE => parts.len() == 1,
        Some(first) => !backup::EXCLUDED.iter().any(|x| first.as_os_str() == *x),
    }
}

/// Replaces the prefix `from` by `to` in every string of a JSON value.
fn repoint(v: &mut Value, from: &[String], to: &str) {
    match v {
        Value::String(s) => {
            for f in from {
                if let Some(rest) = s.strip_prefix(f.as_str()) {
                    if rest.is_empty() || rest.starts_with('/') {
                        *s = format!("{to}{rest}");
                        break;
                    }
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| repoint(x, from, to)),
        Value::Object(o) => o.values_mut().for_each(|x| repoint(x, from, to)),
        _ => {}
    }
}

/// A digest of the copy that ignores what every run changes: the config's `meta` stamp, its
/// `.bak` rotations, logs and temp files.
pub fn digest(private: &Private) -> Result<String> {
    let mut files = Vec::new();
    let mut stack = vec![private.state.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)?.flatten() {
            let p = e.path();
            let rel = p
                .strip_prefix(&private.state)
                .unwrap_or(&p)
                .to_string_lossy()
                .to_string();
            if rel.starts_with("logs") || rel.starts_with("tmp") || rel.contains(".bak") {
                continue;
            }
            // A database's WAL and shared memory are read through the database itself below.
            if rel.ends_with("-wal") || rel.ends_with("-shm") || rel.ends_with("-journal") {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push((rel, p));
            }
        }
    }
    files.sort();
    let mut h = Sha256::new();
    for (rel, p) in files {
        h.update(rel.as_bytes());
        if p == private.config {
            let mut v: Value = std::fs::read_to_string(&p)
                .ok()
                .and_then(|t| json5::from_str(&t).ok())
                .unwrap_or(Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.remove("meta");
            }
            h.update(serde_json::to_vec(&v)?);
        } else if let Some(d) = is_sqlite(&p).then(|| sqlite_digest(&p).ok()).flatten() {
            // Opening a database rewrites bytes (change counters, checkpoints) that change
            // nothing: a database counts as changed when its schema, user_version or rows do.
            h.update(d.as_bytes());
        } else {
            h.update(backup::sha256_file(&p)?.as_bytes());
        }
    }
    Ok(hex::encode(h.finalize()))
}

/// The logical content of a database: user_version, every schema entry, every row of every
/// table (in rowid order where there is one).
pub fn sqlite_digest(p: &Path) -> Result<String> {
    let c = rusqlite::Connection::open_with_flags(
        p,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let mut h = Sha256::new();
    let uv: i64 = c.query_row("pragma user_version", [], |r| r.get(0))?;
    h.update(uv.to_le_bytes());
    let mut st =
        c.prepare("select type, name, coalesce(sql, '') from sqlite_master order by type, name")?;
    let entries: Vec<(String, String, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (kind, name, sql) in &entries {
        h.update(format!("{kind}\0{name}\0{sql}\0").as_bytes());
        if kind != "table" || name.starts_with("sqlite_") {
            continue;
        }
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        let mut rows = match c.prepare(&format!("select * from {quoted} order by rowid")) {
            Ok(s) => s,
            // WITHOUT ROWID tables: their primary key orders them.
            Err(_) => c.prepare(&format!("select * from {quoted} order by 1"))?,
        };
        let n = rows.column_count();
        let mut q = rows.query([])?;
        while let Some(row) = q.next()? {
            for i in 0..n {
                use rusqlite::types::ValueRef;
                match row.get_ref(i)? {
                    ValueRef::Null => h.update(b"N"),
                    ValueRef::Integer(v) => h.update(format!("I{v}").as_bytes()),
                    ValueRef::Real(v) => h.update(format!("R{v}").as_bytes()),
                    ValueRef::Text(t) => {
                        h.update(format!("T{}:", t.len()).as_bytes());
                        h.update(t);
                    }
                    ValueRef::Blob(b) => {
                        h.update(format!("B{}:", b.len()).as_bytes());
                        h.update(b);
                    }
                }
            }
            h.update(b"\n");
        }
    }
    Ok(hex::encode(h.finalize()))
}

/// The command that boots the staged release on the copy.
pub fn boot_cmd(cli: &OpenClaw, port: u16, canary: bool) -> Vec<String> {
    let mut v = vec![
        cli.node.to_string_lossy().into_owned(),
        cli.package_root
            .join("openclaw.mjs")
            .to_string_lossy()
            .into_owned(),
        "gateway".into(),
        "run".into(),
        "--bind".into(),
        "loopback".into(),
        "--port".into(),
        port.to_string(),
    ];
    if canary {
        v.push("--update-canary".into());
    }
    v
}

/// Does this release's `gateway run` have `--update-canary`? It is a hidden option (not in
/// `--help`), added in 2026.9.4.
pub fn has_canary(to: &Version) -> bool {
    to >= &Version::new(2026, 9, 4)
}

fn free_port() -> Result<u16> {
    for _ in 0..50 {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        let p = l.local_addr()?.port();
        drop(l);
        // Keep clear of the gateway's derived ports (up to +110) and of anything listening.
        if p < 65_000 && (0..=120).step_by(10).all(|d| !proc::port_open(p + d)) {
            return Ok(p);
        }
    }
    bail!("no free loopback port for the rehearsal")
}

fn tail(p: &Path, n: usize) -> String {
    crate::steps::tail_file(p, n)
}

struct Booted {
    child: std::process::Child,
}

impl Drop for Booted {
    fn drop(&mut self) {
        let pgid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGTERM);
        let end = Instant::now() + Duration::from_secs(15);
        while Instant::now() < end {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// What to rehearse: the release `to` (its CLI `cli`, staged or installed) on every member's
/// state; `timeout` is the update's health deadline.
pub struct Job<'a> {
    pub cli: &'a OpenClaw,
    pub members: &'a [Member],
    pub to: &'a Version,
    pub id: &'a str,
    pub timeout: Duration,
}

/// Rehearses the job on every member's state, one after the other.
pub fn rehearse(env: &Env, rec: &mut Recorder, job: &Job, interrupt: &Interrupt) -> Verdict {
    let Job {
        cli,
        members,
        to,
        id,
        timeout,
    } = *job;
    let mut profiles = Vec::new();
    for m in members.iter().filter(|m| m.layout.state_dir.is_dir()) {
        let private = Private::new(m, id);
        let result = one(env, rec, cli, m, to, &private, timeout, interrupt);
        remove_global_locks(&private);
        let _ = std::fs::remove_dir_all(&private.root);
        match result {
            Ok(r) => profiles.push(r),
            Err((step, error, log_tail)) => {
                return Verdict::Failed {
                    step,
                    profile: m.profile_name().to_string(),
                    error,
                    log_tail,
                }
            }
        }
    }
    Verdict::Passed { profiles }
}

#[allow(clippy::too_many_arguments)]
fn one(
    env: &Env,
    rec: &mut Recorder,
    cli: &OpenClaw,
    m: &Member,
    to: &Version,
    private: &Private,
    timeout: Duration,
    interrupt: &Interrupt,
) -> Result<Rehearsed, (String, String, String)> {
    let fail =
        |step: &str, e: anyhow::Error, log: String| (step.to_string(), format!("{e:#}"), log);
    let profile = m.profile_name().to_string();
    let compile_cache = m.supervisor.gateway_tmpdir().join("node-compile-cache");
    let penv = private.env(env, Some(&compile_cache));
    let unseen = rec
        .run(&format!("rehearse {profile}: copy the state"), |_| {
            let unseen = snapshot(m, private, to, env)?;
            let mut detail = format!("into {}", private.root.display());
            if !unseen.is_empty() {
                detail += &format!(
                    "; not copied, outside the state dir: the workspace {} (its migration is not \
                     rehearsed, so the real one is never skipped)",
                    unseen.join(", ")
                );
            }
            Ok((unseen, detail))
        })
        .map_err(|e| fail("snapshot", e, String::new()))?;
    let before = digest(private).map_err(|e| fail("snapshot", e, String::new()))?;

    // The migration, by the staged release, on the copy.
    let mut doctor = Cmd::new(&cli.node)
        .arg(cli.package_root.join("openclaw.mjs"))
        .args(["doctor", "--fix", "--non-interactive"])
        .timeout(Duration::from_secs(300))
        .cancel_on(interrupt.flag());
    for (k, v) in &penv {
        doctor = doctor.env(k, v);
    }
    let t = Instant::now();
    let migrated = rec.run(&format!("rehearse {profile}: migrate the copy"), |_| {
        let out = doctor.run()?;
        if !out.success() {
            bail!(
                "`openclaw doctor --fix --non-interactive` failed on the copy ({}):\n{}",
                crate::exec::describe_code(out.code),
                crate::exec::indent(&out.tail(12))
            );
        }
        Ok(((), String::new()))
    });
    let migrate_ms = t.elapsed().as_millis() as u64;
    if let Err(e) = migrated {
        let text = format!("{e:#}");
        let log = text
            .lines()
            .skip(1)
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("\n");
        return Err(fail("migrate", e, log));
    }
    let after = digest(private).map_err(|e| fail("migrate", e, String::new()))?;
    // A workspace the copy does not hold may need the migration: never claim it changes nothing.
    let migration_changes = before != after || !unseen.is_empty();

    // Boot it on a spare loopback port.
    let canary = has_canary(to);
    let port = free_port().map_err(|e| fail("boot", e, String::new()))?;
    let argv = boot_cmd(cli, port, canary);
    let t = Instant::now();
    let log = private.log.clone();
    let booted = rec.run(
        &format!(
            "rehearse {profile}: boot {to} on port {port}{}",
            if canary { " (--update-canary)" } else { "" }
        ),
        |line| {
            let out = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)?;
            let mut c = Command::new(&argv[0]);
            c.args(&argv[1..])
                .current_dir(&private.root)
                .env_clear()
                .envs(penv.iter().map(|(k, v)| (k, v)))
                .stdin(Stdio::null())
                .stdout(out.try_clone()?)
                .stderr(out)
                .process_group(0);
            let child = c.spawn().context("cannot start the rehearsal gateway")?;
            let mut booted = Booted { child };
            let end = Instant::now() + timeout;
            loop {
                if let Ok(Some(st)) = booted.child.try_wait() {
                    bail!("the rehearsal gateway exited during startup ({st})");
                }
                match gateway::Startup::probe(port, Duration::from_millis(1000)) {
                    gateway::Startup::Status(code, v) => {
                        let status = v.get("status").and_then(Value::as_str).unwrap_or("?");
                        line.set(&format!("/startupz says {status}"));
                        if code == 200 && status == "started" {
                            return Ok((
                                (booted, v),
                                format!("healthy after {:.1}s", t.elapsed().as_secs_f64()),
                            ));
                        }
                    }
                    gateway::Startup::Unsupported
                        if gateway::healthz(port, Duration::from_millis(1000)) =>
                    {
                        return Ok((
                            (booted, Value::Null),
                            format!("healthy after {:.1}s (/healthz)", t.elapsed().as_secs_f64()),
                        ));
                    }
                    _ => {}
                }
                if interrupt.fired() {
                    bail!("interrupted");
                }
                if Instant::now() >= end {
                    bail!(
                        "the rehearsal gateway did not become healthy within {}s",
                        timeout.as_secs()
                    );
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        },
    );
    let (booted, startupz) = booted.map_err(|e| {
        let step = if format!("{e:#}").contains("within") {
            "health"
        } else {
            "boot"
        };
        fail(step, e, tail(&log, 12))
    })?;
    let boot_ms = t.elapsed().as_millis() as u64;
    let readyz =
        crate::http::get(port, "/readyz", None, Duration::from_millis(1500)).and_then(|r| r.json());
    // The version it reports.
    let reported = startupz
        .get("version")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Version>().ok());
    let version_check =
        rec.run(
            &format!("rehearse {profile}: check the version"),
            |_| match &reported {
                Some(v) if v != to => bail!("the rehearsal gateway reports {v}, expected {to}"),
                Some(v) => Ok(((), format!("/startupz says {v}"))),
                None => Ok((
                    (),
                    "this release does not report its version over HTTP".into(),
                )),
            },
        );
    rec.run(&format!("rehearse {profile}: stop it"), |_| {
        drop(booted);
        Ok(((), String::new()))
    })
    .ok();
    version_check.map_err(|e| fail("version", e, tail(&log, 12)))?;
    Ok(Rehearsed {
        profile,
        state_dir: m.layout.state_dir.clone(),
        migration_changes,
        canary,
        port,
        migrate_ms,
        boot_ms,
        readyz,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_database_counts_as_changed_only_when_its_content_does() {
        let t = tempfile::tempdir().unwrap();
        let db = t.path().join("x.sqlite");
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(
            "pragma journal_mode=wal; create table a(k text primary key, v text); insert into a values('x','1');",
        )
        .unwrap();
        drop(c);
        let d1 = sqlite_digest(&db).unwrap();
        // Opened, checkpointed, vacuumed: other bytes, the same content.
        let before = std::fs::read(&db).unwrap();
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch("pragma wal_checkpoint(truncate); vacuum;")
            .unwrap();
        drop(c);
        assert_ne!(std::fs::read(&db).unwrap(), before);
        assert_eq!(sqlite_digest(&db).unwrap(), d1);
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute("update a set v='2'", []).unwrap();
        drop(c);
        assert_ne!(sqlite_digest(&db).unwrap(), d1, "a row changed");
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute("update a set v='1'", []).unwrap();
        c.execute_batch("pragma user_version=5").unwrap();
        drop(c);
        assert_ne!(sqlite_digest(&db).unwrap(), d1, "user_version changed");
    }

    use super::*;

    /// A live WAL database (a writer holds it open with uncheckpointed pages) is copied whole and
    /// consistent; the live process's leases are cleared in the copy only.
    #[test]
    fn live_database_is_copied_with_its_wal_and_without_leases() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("openclaw.sqlite");
        let live = rusqlite::Connection::open(&src).unwrap();
        live.pragma_update(None, "journal_mode", "WAL").unwrap();
        live.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        live.execute_batch(
            "CREATE TABLE agent_database_leases (lease_id TEXT, owner_pid INTEGER);
             INSERT INTO agent_database_leases VALUES ('l1', 4242);
             CREATE TABLE devices (id TEXT);
             INSERT INTO devices VALUES ('phone');",
        )
        .unwrap();
        assert!(
            t.path()
                .join("openclaw.sqlite-wal")
                .metadata()
                .unwrap()
                .len()
                > 0
        );
        let dst = t.path().join("copy.sqlite");
        copy_sqlite(&src, &dst).unwrap();
        let copy = rusqlite::Connection::open(&dst).unwrap();
        let devices: i64 = copy
            .query_row("SELECT count(*) FROM devices", [], |r| r.get(0))
            .unwrap();
        assert_eq!(devices, 1, "rows still in the WAL are in the copy");
        let leases: i64 = copy
            .query_row("SELECT count(*) FROM agent_database_leases", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(leases, 0, "the copy holds no lease of the live process");
        let live_leases: i64 = live
            .query_row("SELECT count(*) FROM agent_database_leases", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(live_leases, 1, "the live database is not written");
        assert!(!t.path().join("copy.sqlite-wal").exists());
        assert!(is_sqlite(&dst) && !is_sqlite(&t.path().join("openclaw.sqlite-wal")));
    }

    #[test]
    fn config_paths_into_the_state_dir_move_into_the_copy() {
        let mut v = serde_json::json!({
            "logging": {"file": "/h/.openclaw/logs/x.log"},
            "agents": {"list": [{"workspace": "/h/.openclaw/workspace"}, {"workspace": "/h/.openclaw-other/w"}]},
            "x": "/h/.openclawish"
        });
        repoint(&mut v, &["/h/.openclaw".into()], "/p/state");
        assert_eq!(v["logging"]["file"], "/p/state/logs/x.log");
        assert_eq!(v["agents"]["list"][0]["workspace"], "/p/state/workspace");
        assert_eq!(v["agents"]["list"][1]["workspace"], "/h/.openclaw-other/w");
        assert_eq!(v["x"], "/h/.openclawish");
    }

    /// A workspace outside the state dir is the user's own: the rehearsal's `doctor --fix` must
    /// never see it (OpenClaw takes the config's workspace before any environment variable).
    #[test]
    fn workspaces_outside_the_state_dir_are_kept_from_the_rehearsal() {
        let private = Private {
            root: "/p".into(),
            home: "/p/home".into(),
            state: "/p/state".into(),
            config: "/p/state/openclaw.json".into(),
            tmp: "/p/tmp".into(),
            log: "/p/gateway.log".into(),
        };
        let from = ["/h/.openclaw".to_string()];
        let mut v = serde_json::json!({"agents": {
            "defaults": {"workspace": "~/.openclaw/workspace"},
            "list": [
                {"id": "a", "workspace": "/h/.openclaw/workspace-a"},
                {"id": "b", "workspace": "/srv/ws"},
                {"id": "c", "workspace": "~/notes"},
                {"id": "d", "workspace": "relative/ws"},
                {"id": "e", "workspace": "/h/.openclaw/../../etc"},
                {"id": "f", "workspace": "/h/.openclaw/workspace/sub"},
                {"id": "g", "workspace": "/h/.openclaw/cache/ws"},
                {"id": "h"}
            ]
        }});
        repoint(&mut v, &from, "/p/state");
        let unseen = confine_workspaces(&mut v, Path::new("/h"), &from, &private);
        assert_eq!(
            unseen,
            [
                "/srv/ws",
                "/h/notes",
                "relative/ws",
                "/h/.openclaw/../../etc",
                "/h/.openclaw/workspace/sub",
                "/h/.openclaw/cache/ws"
            ]
        );
        let a = &v["agents"];
        assert_eq!(a["defaults"]["workspace"], "/p/state/workspace");
        assert_eq!(a["list"][0]["workspace"], "/p/state/workspace-a");
        for (i, agent) in a["list"].as_array().unwrap()[1..7].iter().enumerate() {
            let w = agent["workspace"].as_str().unwrap();
            assert!(w.starts_with("/p/workspace-outside-"), "{i}: {w}");
        }
        assert!(a["list"][7].get("workspace").is_none());
        // No agents, no workspaces: nothing to keep away.
        let mut none = serde_json::json!({"gateway": {"port": 1}});
        assert!(confine_workspaces(&mut none, Path::new("/h"), &from, &private).is_empty());
    }
}
