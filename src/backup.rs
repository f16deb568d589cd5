//! Backups of OpenClaw state: the config (and its `.bak` files) and everything under the state
//! dir that a new release may migrate, with a manifest of size, sha256 and mode per file.
//! A restore makes the covered tree byte-identical to the backup again: files are rewritten
//! with their modes, and files that appeared since the backup are removed.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::layout::Layout;
use crate::version::Version;

/// Top-level entries of the state dir that are never backed up or restored: clawkit's own
/// files, logs, locks and temp files, the user's workspace (but see [`WORKSPACE`]), and caches
/// OpenClaw rebuilds.
pub const EXCLUDED: &[&str] = &[
    "clawkit",
    "logs",
    "tmp",
    "workspace",
    "media",
    "cache",
    "node_modules",
    "plugin-runtime-deps",
    "browser",
];

/// The agents' workspace in the state dir. Its top-level files are OpenClaw's own (`AGENTS.md`,
/// `TOOLS.md`, `HEARTBEAT.md`, `openclaw-workspace-state.json`), and a newer release's
/// `doctor --fix` rewrites, merges and renames them (seen with 2026.9.6 on a 2026.6.11
/// workspace): they are backed up and restored like state (manifest schema 2 on). Its
/// directories (the agents' own work) and the directory itself are never backed up, restored or
/// removed.
pub const WORKSPACE: &str = "workspace";

/// The manifest schema from which a backup holds the workspace's top-level files: a restore
/// from an older backup leaves them alone (it never saw them).
const WORKSPACE_SCHEMA: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    File,
    Dir,
    /// A symbolic link. A link to a file also carries the file's content (size, sha256, stored
    /// under `files/`); a link to a directory is followed, its children listed under its path.
    Symlink,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Entry {
    /// Relative to the state dir; the config outside it is `@config/<name>`.
    pub path: String,
    pub kind: Kind,
    pub mode: u32,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub target: Option<String>,
}

impl Entry {
    /// Does the backup hold file content for this entry?
    pub fn has_content(&self) -> bool {
        self.sha256.is_some()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Manifest {
    pub schema: u32,
    pub id: String,
    pub created_at: String,
    pub reason: String,
    pub from: Option<Version>,
    pub to: Option<Version>,
    pub state_dir: PathBuf,
    pub config_path: PathBuf,
    pub entries: Vec<Entry>,
}

impl Manifest {
    pub fn total_size(&self) -> u64 {
        self.entries.iter().filter_map(|e| e.size).sum()
    }

    /// Every entry path stays inside the state dir (or names a config file next to the config):
    /// no absolute paths, no `..`, nothing a damaged or hostile manifest could write elsewhere.
    pub fn check_paths(&self) -> Result<()> {
        for e in &self.entries {
            let bad = |why: &str| {
                anyhow::anyhow!(
                    "the manifest entry {:?} {why}: the backup is damaged or was tampered with",
                    e.path.chars().take(80).collect::<String>()
                )
            };
            let rel = match e.path.strip_prefix("@config/") {
                Some(name) => {
                    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
                        return Err(bad("is not a plain config file name"));
                    }
                    continue;
                }
                None => Path::new(&e.path),
            };
            if e.path.is_empty() || e.path.contains('\0') {
                return Err(bad("is empty"));
            }
            if !rel
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)))
            {
                return Err(bad("leaves the state dir"));
            }
            if e.kind == Kind::File && e.sha256.is_none() {
                return Err(bad("has no checksum"));
            }
        }
        Ok(())
    }
}

pub struct Backup {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

/// A link clawkit saw in the live state: its path as a manifest names it, and its target.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SeenLink {
    pub path: String,
    pub target: String,
}

/// The links of the live state whose target leaves the state dir (those a restore writes
/// through only while they are in place). Recorded before a change, so that its undo may put
/// them back when the change replaced one (a config rewritten by renaming a file over its link).
pub fn outside_links(layout: &Layout) -> Vec<SeenLink> {
    scope(layout)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(rel, path)| {
            let target = fs::read_link(&path).ok()?.to_string_lossy().to_string();
            (!link_stays_inside(layout, &rel, &target)).then_some(SeenLink { path: rel, target })
        })
        .collect()
}

pub fn backups_dir(layout: &Layout) -> PathBuf {
    layout.clawkit_dir().join("backups")
}

/// A timestamp usable in file names: `20261125T131500Z`.
pub fn stamp(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .replace(['-', ':'], "")
}

pub fn sha256_file(p: &Path) -> Result<String> {
    let mut f = fs::File::open(p).with_context(|| format!("cannot read {}", p.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// The config lives outside the state dir when OPENCLAW_CONFIG_PATH says so.
fn config_outside(layout: &Layout) -> bool {
    !layout.config_path.starts_with(&layout.state_dir)
}

/// Every path the backup covers, as (relative name, absolute path), parents before children.
/// Symbolic links to directories are followed (once: loops are refused), so a state dir whose
/// `state/` is a link to another disk is backed up with its content.
pub fn scope(layout: &Layout) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    if layout.state_dir.is_dir() {
        let mut visited = vec![fs::canonicalize(&layout.state_dir)?];
        walk(&layout.state_dir, "", &mut out, true, &mut visited)?;
    }
    if config_outside(layout) {
        let cfg = &layout.config_path;
        if let (Some(dir), Some(name)) = (cfg.parent(), cfg.file_name()) {
            let name = name.to_string_lossy().to_string();
            if let Ok(rd) = fs::read_dir(dir) {
                let mut found: Vec<_> = rd.flatten().collect();
                found.sort_by_key(|e| e.file_name());
                for e in found {
                    let n = e.file_name().to_string_lossy().to_string();
                    if n == name || n.starts_with(&format!("{name}.bak")) {
                        out.push((format!("@config/{n}"), e.path()));
                    }
                }
            }
        }
    }
    Ok(out)
}

fn walk(
    dir: &Path,
    rel: &str,
    out: &mut Vec<(String, PathBuf)>,
    top: bool,
    visited: &mut Vec<PathBuf>,
) -> Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().to_string();
        if top && name == WORKSPACE {
            workspace_files(&e.path(), out)?;
            continue;
        }
        if top && EXCLUDED.contains(&name.as_str()) {
            continue;
        }
        let r = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let path = e.path();
        let meta = fs::symlink_metadata(&path)?;
        out.push((r.clone(), path.clone()));
        let into = if meta.is_dir() {
            Some(path.clone())
        } else if meta.file_type().is_symlink() && fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
            let real = fs::canonicalize(&path)?;
            if visited
                .iter()
                .any(|v| real.starts_with(v) || v.starts_with(&real))
            {
                anyhow::bail!(
                    "{} links to {}, which the backup already covers (a link loop or a second name for the same directory); clawkit cannot back it up safely",
                    path.display(),
                    real.display()
                );
            }
            visited.push(real);
            Some(path.clone())
        } else {
            None
        };
        if let Some(d) = into {
            walk(&d, &r, out, false, visited)?;
        }
    }
    Ok(())
}

/// The regular files directly in the workspace directory `dir` (not a link to one): no
/// directories, no links, and not the directory itself ([`WORKSPACE`]).
fn workspace_files(dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    if !fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        return Ok(());
    }
    let mut files: Vec<_> = fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .flatten()
        .filter(|e| fs::symlink_metadata(e.path()).is_ok_and(|m| m.is_file()))
        .collect();
    files.sort_by_key(|e| e.file_name());
    for e in files {
        let name = e.file_name().to_string_lossy().to_string();
        out.push((format!("{WORKSPACE}/{name}"), e.path()));
    }
    Ok(())
}

/// Where `p` really is: its nearest existing ancestor with every link resolved, and the rest of
/// the path (not there yet, so created as plain directories) as written.
fn real_path(p: &Path) -> PathBuf {
    for a in p.ancestors() {
        if let Ok(real) = fs::canonicalize(a) {
            return match p.strip_prefix(a) {
                Ok(rest) if !rest.as_os_str().is_empty() => real.join(rest),
                _ => real,
            };
        }
    }
    p.to_path_buf()
}

/// Does a link at `rel` (a manifest path) with this target point inside what a backup covers,
/// judged on the names alone? See [`Backup::check_links`].
fn link_stays_inside(layout: &Layout, rel: &str, target: &str) -> bool {
    use std::path::Component;
    let t = Path::new(target);
    if let Some(name) = rel.strip_prefix("@config/") {
        // Next to a config outside the state dir: only one of the config's own names.
        let Some(cfg) = layout.config_path.file_name().map(|n| n.to_string_lossy()) else {
            return false;
        };
        let plain = t.components().count() == 1 && !target.contains('/');
        return plain
            && name != target
            && (target == cfg || target.starts_with(&format!("{cfg}.bak")));
    }
    let under = if t.is_absolute() {
        let canon = fs::canonicalize(&layout.state_dir).ok();
        match t
            .strip_prefix(&layout.state_dir)
            .ok()
            .or_else(|| canon.as_deref().and_then(|c| t.strip_prefix(c).ok()))
        {
            Some(r) => r.to_path_buf(),
            None => return false,
        }
    } else {
        Path::new(rel).parent().unwrap_or(Path::new("")).join(t)
    };
    let mut parts = Vec::new();
    for c in under.components() {
        match c {
            Component::Normal(n) => parts.push(n.to_string_lossy().to_string()),
            Component::CurDir => {}
            _ => return false,
        }
    }
    parts
        .first()
        .is_some_and(|first| !EXCLUDED.contains(&first.as_str()))
}

fn resolve(layout: &Layout, rel: &str) -> PathBuf {
    match rel.strip_prefix("@config/") {
        Some(name) => layout
            .config_path
            .parent()
            .map(|d| d.join(name))
            .unwrap_or_else(|| PathBuf::from(name)),
        None => layout.state_dir.join(rel),
    }
}

/// The bytes a backup of this state would take (file contents, links followed).
pub fn estimate(layout: &Layout) -> Result<u64> {
    let mut total = 0;
    for (_, path) in scope(layout)? {
        if let Ok(m) = fs::metadata(&path) {
            if m.is_file() {
                total += m.len();
            }
        }
    }
    Ok(total)
}

/// Room kept free beyond the backup itself (the gateway and SQLite need some to start).
pub const SPARE_BYTES: u64 = 32 * 1024 * 1024;

/// Refuses when the state dir's file system cannot hold a backup of it with room to spare.
pub fn check_space(layout: &Layout) -> Result<(u64, u64)> {
    let need = estimate(layout)? + SPARE_BYTES;
    let at = layout
        .state_dir
        .ancestors()
        .find(|a| a.exists())
        .unwrap_or(Path::new("/"));
    let free = fs4::available_space(at).unwrap_or(u64::MAX);
    if free < need {
        anyhow::bail!(
            "a backup of {} needs {} MB but only {} MB are free there",
            layout.state_dir.display(),
            need / 1_048_576 + 1,
            free / 1_048_576
        );
    }
    Ok((need, free))
}

/// A cheap fingerprint of the covered state (names, kinds, sizes, modes, modification times):
/// different when anything was written since it was taken. No file is read.
pub fn fingerprint(layout: &Layout) -> Result<String> {
    use std::os::unix::fs::MetadataExt as _;
    let mut h = Sha256::new();
    for (rel, path) in scope(layout)? {
        let m = fs::symlink_metadata(&path)?;
        let followed = fs::metadata(&path).ok();
        let m2 = followed.as_ref().unwrap_or(&m);
        h.update(format!(
            "{rel}\0{}\0{}\0{}\0{}.{}\n",
            m.file_type().is_symlink(),
            m2.len(),
            m2.mode(),
            m2.mtime(),
            m2.mtime_nsec()
        ));
    }
    Ok(hex::encode(h.finalize()))
}

/// OpenClaw processes working on this state dir (holding its database or lock files open, or a
/// live gateway lock): a backup or restore must wait for them.
pub fn busy(layout: &Layout) -> Vec<u32> {
    let mut pids: Vec<u32> = crate::gateway::read_locks(layout)
        .into_iter()
        .filter(|l| !l.stale)
        .filter_map(|l| l.pid)
        .filter(|p| crate::proc::alive(*p) && *p != std::process::id())
        .collect();
    if layout.state_dir.is_dir() {
        pids.extend(crate::proc::holders_under(
            &layout.state_dir,
            &[
                layout.state_dir.join("logs"),
                layout.state_dir.join("clawkit"),
            ],
        ));
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

fn ensure_quiet(layout: &Layout, what: &str) -> Result<()> {
    let pids = busy(layout);
    if !pids.is_empty() {
        anyhow::bail!(
            "cannot {what} {}: process(es) {pids:?} still work on it (a gateway or an OpenClaw command)",
            layout.state_dir.display()
        );
    }
    Ok(())
}

/// Copies the covered state into `<state>/clawkit/backups/<id>/`. Run only while no OpenClaw
/// process writes the state (SQLite databases are copied with their -wal/-shm files); it checks.
/// A backup that fails half-way (a full disk) is removed before the error is returned.
pub fn create(
    layout: &Layout,
    id: &str,
    reason: &str,
    from: Option<Version>,
    to: Option<Version>,
) -> Result<Backup> {
    ensure_quiet(layout, "back up")?;
    check_space(layout)?;
    let root = backups_dir(layout).join(id);
    match create_in(layout, &root, id, reason, from, to) {
        Ok(b) => Ok(b),
        Err(e) => {
            let _ = fs::remove_dir_all(&root);
            Err(e.context(format!(
                "the backup failed and its partial copy {} was removed",
                root.display()
            )))
        }
    }
}

fn create_in(
    layout: &Layout,
    root: &Path,
    id: &str,
    reason: &str,
    from: Option<Version>,
    to: Option<Version>,
) -> Result<Backup> {
    let files_dir = root.join("files");
    fs::create_dir_all(&files_dir)
        .with_context(|| format!("cannot create {}", files_dir.display()))?;
    for d in [backups_dir(layout), root.to_path_buf(), files_dir.clone()] {
        fs::set_permissions(&d, fs::Permissions::from_mode(0o700))?;
    }
    let copy_file = |path: &Path, dest: &Path, mode: u32| -> Result<(u64, String)> {
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        let n =
            fs::copy(path, dest).with_context(|| format!("cannot back up {}", path.display()))?;
        fs::set_permissions(dest, fs::Permissions::from_mode(mode))?;
        Ok((n, sha256_file(dest)?))
    };
    let mut entries = Vec::new();
    for (rel, path) in scope(layout)? {
        let meta = fs::symlink_metadata(&path)?;
        let mode = meta.mode() & 0o7777;
        let dest = files_dir.join(&rel);
        if meta.file_type().is_symlink() {
            let target = fs::read_link(&path)?.to_string_lossy().to_string();
            let followed = fs::metadata(&path).ok();
            let (size, sha256, mode) = match &followed {
                Some(m) if m.is_file() => {
                    let tmode = m.mode() & 0o7777;
                    let (n, sha) = copy_file(&path, &dest, tmode)?;
                    (Some(n), Some(sha), tmode)
                }
                Some(m) if m.is_dir() => {
                    fs::create_dir_all(&dest)?;
                    fs::set_permissions(&dest, fs::Permissions::from_mode(0o700))?;
                    (None, None, m.mode() & 0o7777)
                }
                _ => (None, None, mode),
            };
            entries.push(Entry {
                path: rel,
                kind: Kind::Symlink,
                mode,
                size,
                sha256,
                target: Some(target),
            });
        } else if meta.is_dir() {
            fs::create_dir_all(&dest)?;
            fs::set_permissions(&dest, fs::Permissions::from_mode(0o700))?;
            entries.push(Entry {
                path: rel,
                kind: Kind::Dir,
                mode,
                size: None,
                sha256: None,
                target: None,
            });
        } else if meta.is_file() {
            let (n, sha) = copy_file(&path, &dest, mode)?;
            entries.push(Entry {
                path: rel,
                kind: Kind::File,
                mode,
                size: Some(n),
                sha256: Some(sha),
                target: None,
            });
        }
    }
    let manifest = Manifest {
        schema: WORKSPACE_SCHEMA,
        id: id.to_string(),
        created_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        reason: reason.to_string(),
        from,
        to,
        state_dir: layout.state_dir.clone(),
        config_path: layout.config_path.clone(),
        entries,
    };
    let mpath = root.join("manifest.json");
    let tmp = root.join("manifest.json.tmp");
    {
        let mut f = fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(&manifest)?)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, &mpath)?;
    Ok(Backup {
        dir: root.to_path_buf(),
        manifest,
    })
}

pub fn load(dir: &Path) -> Result<Backup> {
    let mpath = dir.join("manifest.json");
    let text = fs::read(&mpath).with_context(|| format!("cannot read {}", mpath.display()))?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a clawkit manifest", mpath.display()))?;
    Ok(Backup {
        dir: dir.to_path_buf(),
        manifest,
    })
}

impl Backup {
    /// Checks every manifest path and every backed-up file against its checksum before anything
    /// is overwritten.
    pub fn verify(&self) -> Result<()> {
        self.manifest.check_paths()?;
        for e in self.manifest.entries.iter().filter(|e| e.has_content()) {
            let p = self.dir.join("files").join(&e.path);
            let sha = sha256_file(&p)?;
            if Some(&sha) != e.sha256.as_ref() {
                bail!(
                    "backup file {} does not match its checksum: the backup is damaged",
                    p.display()
                );
            }
        }
        Ok(())
    }

    /// Refuses, before anything is written, a link this restore could write outside the state
    /// through.
    ///
    /// A tampered manifest can record a link `a` → `/anywhere` and a file `a/x`: recreating the
    /// link and then writing the file through it writes outside the state dir. But legit backups
    /// hold such links too (a `state/` directory on another disk, a config kept in a dotfiles
    /// repo), and a restore must keep writing through them. The rule:
    /// - a link whose target stays inside the covered tree (relative without `..`, or absolute
    ///   under the state dir; not into clawkit's own files or another excluded entry; for the
    ///   config outside the state dir, one of its own `.bak` names) is recreated as recorded;
    /// - any other link is restored only when the live state holds that very link now (same
    ///   path, same target): it was there when the backup was taken and still is, so writing
    ///   through it writes where the user's state already lives; or, in the undo of a change,
    ///   when clawkit saw that very link in the live state as the change began (`seen`, kept in
    ///   the in-flight record, not in the backup). Absent, pointing elsewhere, or replaced by a
    ///   file or directory otherwise: refused, naming the entry and how to put it back.
    ///
    /// A link is never created and then written through unless it stays inside or clawkit saw
    /// it in the live state itself.
    pub fn check_links(&self, layout: &Layout, seen: &[SeenLink]) -> Result<()> {
        for e in self
            .manifest
            .entries
            .iter()
            .filter(|e| e.kind == Kind::Symlink)
        {
            let shown = |s: &str| s.chars().take(120).collect::<String>();
            let Some(target) = e
                .target
                .as_deref()
                .filter(|t| !t.is_empty() && !t.contains('\0'))
            else {
                bail!(
                    "the manifest entry {:?} is a link without a target: the backup is damaged or was tampered with",
                    shown(&e.path)
                );
            };
            if link_stays_inside(layout, &e.path, target)
                || seen.iter().any(|l| l.path == e.path && l.target == target)
            {
                continue;
            }
            let dest = resolve(layout, &e.path);
            let now = match fs::symlink_metadata(&dest) {
                Err(_) => "there is no such link now".to_string(),
                Ok(m) if m.file_type().is_symlink() => match fs::read_link(&dest) {
                    Ok(t) if t.as_os_str() == std::ffi::OsStr::new(target) => continue,
                    Ok(t) => format!("it links to {:?} now", shown(&t.to_string_lossy())),
                    Err(_) => "it cannot be read now".to_string(),
                },
                Ok(m) if m.is_dir() => "it is a directory now".to_string(),
                Ok(_) => "it is a file now".to_string(),
            };
            bail!(
                "the backup records {} as a link to {:?}, outside {}, but {now}: clawkit writes through such a link only while it is in place, so this backup cannot be restored as it is (if the link is yours, put it back with `ln -s {} {}`, after moving aside what is there now, and retry)",
                dest.display(),
                shown(target),
                layout.state_dir.display(),
                crate::exec::quote(&shown(target)),
                crate::exec::quote(&dest.to_string_lossy()),
            );
        }
        Ok(())
    }

    /// Where this restore may write: the state dir, the config's directory (when the config
    /// lives outside the state dir), and what the links [`Backup::check_links`] let through
    /// point to. Canonical paths.
    fn write_roots(&self, layout: &Layout, seen: &[SeenLink]) -> Vec<PathBuf> {
        let mut roots = vec![real_path(&layout.state_dir)];
        if config_outside(layout) {
            if let Some(dir) = layout.config_path.parent() {
                roots.push(real_path(dir));
            }
        }
        for e in self
            .manifest
            .entries
            .iter()
            .filter(|e| e.kind == Kind::Symlink)
        {
            let dest = resolve(layout, &e.path);
            if let Ok(real) = fs::canonicalize(&dest) {
                let same = fs::read_link(&dest).is_ok_and(|t| {
                    Some(t.as_os_str()) == e.target.as_deref().map(std::ffi::OsStr::new)
                });
                if same {
                    roots.push(real);
                }
            }
        }
        for l in seen {
            let recorded = self.manifest.entries.iter().any(|e| {
                e.kind == Kind::Symlink && e.path == l.path && e.target.as_ref() == Some(&l.target)
            });
            let dest = resolve(layout, &l.path);
            if let (true, Some(parent)) = (recorded, dest.parent()) {
                roots.push(real_path(&parent.join(&l.target)));
            }
        }
        roots
    }

    /// Makes the covered state byte-identical to this backup. Run only with the gateway stopped
    /// (it checks that no OpenClaw process works on the state). Links are checked first
    /// ([`Backup::check_links`]), and every write is checked to land inside the state dir or a
    /// link that check let through.
    pub fn restore(&self, layout: &Layout) -> Result<()> {
        self.restore_through(layout, &[])
    }

    /// [`Backup::restore`] in the undo of a change, which may also put back the links that
    /// were in the live state as the change began (`seen`, from the in-flight record).
    pub fn restore_through(&self, layout: &Layout, seen: &[SeenLink]) -> Result<()> {
        self.verify()?;
        self.check_links(layout, seen)?;
        ensure_quiet(layout, "restore")?;
        let roots = self.write_roots(layout, seen);
        // Belt and braces: `real` (a path about to be written, links resolved) is inside.
        let inside = |p: &Path, real: PathBuf| -> Result<()> {
            if roots.iter().any(|r| real.starts_with(r)) {
                Ok(())
            } else {
                bail!(
                    "refusing to write {}: it resolves to {}, outside {} (the backup is damaged or was tampered with)",
                    p.display(),
                    real.display(),
                    layout.state_dir.display()
                )
            }
        };
        let wanted: std::collections::HashSet<&str> = self
            .manifest
            .entries
            .iter()
            .map(|e| e.path.as_str())
            .collect();
        // 1. Remove what appeared since (deepest first, so directories empty out).
        let mut current = scope(layout).unwrap_or_default();
        current.reverse();
        for (rel, path) in current {
            if wanted.contains(rel.as_str()) {
                continue;
            }
            if self.manifest.schema < WORKSPACE_SCHEMA && rel.starts_with(&format!("{WORKSPACE}/"))
            {
                continue; // a backup from before the workspace's files were kept
            }
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            }
            .with_context(|| format!("cannot remove {}", path.display()))?;
        }
        // 2. Put every entry back, parents first, with its mode.
        let write_file = |src: &Path, dest: &Path, mode: u32| -> Result<()> {
            let tmp = dest.with_file_name(format!(
                ".{}.clawkit-restore",
                dest.file_name().unwrap_or_default().to_string_lossy()
            ));
            if let Some(parent) = dest.parent() {
                // The file itself is replaced (renamed over), never written through.
                let name = dest.file_name().unwrap_or_default();
                inside(dest, real_path(parent).join(name))?;
                fs::create_dir_all(parent)?;
            }
            fs::copy(src, &tmp).with_context(|| format!("cannot restore {}", dest.display()))?;
            fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))?;
            fs::rename(&tmp, dest)?;
            Ok(())
        };
        for e in &self.manifest.entries {
            let dest = resolve(layout, &e.path);
            match e.kind {
                Kind::Dir => {
                    if fs::symlink_metadata(&dest).is_ok_and(|m| !m.is_dir()) {
                        fs::remove_file(&dest)?;
                    }
                    inside(&dest, real_path(&dest))?;
                    fs::create_dir_all(&dest)?;
                }
                Kind::Symlink => {
                    let target = e.target.as_deref().unwrap_or_default();
                    let same = fs::read_link(&dest)
                        .is_ok_and(|t| t.as_os_str() == std::ffi::OsStr::new(target));
                    if !same {
                        match fs::symlink_metadata(&dest) {
                            Ok(m) if m.is_dir() => fs::remove_dir_all(&dest)?,
                            Ok(_) => fs::remove_file(&dest)?,
                            Err(_) => {}
                        }
                        if let Some(parent) = dest.parent() {
                            fs::create_dir_all(parent)?;
                        }
                        std::os::unix::fs::symlink(target, &dest)?;
                    }
                    if e.has_content() {
                        // The content of a linked file goes where the link points.
                        let real = fs::canonicalize(&dest).unwrap_or_else(|_| dest.clone());
                        write_file(&self.dir.join("files").join(&e.path), &real, e.mode)?;
                    }
                }
                Kind::File => {
                    if fs::symlink_metadata(&dest).is_ok_and(|m| m.is_dir()) {
                        fs::remove_dir_all(&dest)?;
                    }
                    write_file(&self.dir.join("files").join(&e.path), &dest, e.mode)?;
                }
            }
        }
        // Directory modes last: a 0500 directory would refuse its own children.
        for e in self.manifest.entries.iter().filter(|e| e.kind == Kind::Dir) {
            fs::set_permissions(resolve(layout, &e.path), fs::Permissions::from_mode(e.mode))?;
        }
        // 3. Prove it.
        for e in self.manifest.entries.iter().filter(|e| e.has_content()) {
            let p = resolve(layout, &e.path);
            if Some(sha256_file(&p)?) != e.sha256 {
                bail!("{} differs from the backup after the restore", p.display());
            }
        }
        Ok(())
    }
}

/// All backups of a profile, newest first.
pub fn list(layout: &Layout) -> Vec<Backup> {
    let mut v: Vec<Backup> = fs::read_dir(backups_dir(layout))
        .map(|rd| rd.flatten().filter_map(|e| load(&e.path()).ok()).collect())
        .unwrap_or_default();
    v.sort_by(|a, b| b.manifest.id.cmp(&a.manifest.id));
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Env;
    use crate::layout::{resolve as resolve_layout, Profile};

    fn tree_hash(dir: &Path) -> Vec<(String, u32, String)> {
        let mut v = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                let m = fs::symlink_metadata(&p).unwrap();
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().to_string();
                if rel.starts_with("clawkit") {
                    continue;
                }
                if m.is_dir() {
                    stack.push(p.clone());
                    v.push((rel, m.mode() & 0o7777, String::new()));
                } else {
                    v.push((rel, m.mode() & 0o7777, sha256_file(&p).unwrap()));
                }
            }
        }
        v.sort();
        v
    }

    /// The default profile's layout with its state dir at `<dir>/s`.
    fn layout_in(dir: &Path) -> Layout {
        let env = Env::from_pairs([
            ("HOME", dir.as_os_str()),
            ("OPENCLAW_STATE_DIR", dir.join("s").as_os_str()),
        ]);
        resolve_layout(&env, &Profile::Default, None).unwrap()
    }

    #[test]
    fn restore_is_byte_identical_with_modes() {
        let t = tempfile::tempdir().unwrap();
        let layout = layout_in(t.path());
        let s = &layout.state_dir;
        fs::create_dir_all(s.join("devices")).unwrap();
        fs::create_dir_all(s.join("identity")).unwrap();
        fs::create_dir_all(s.join("logs")).unwrap();
        fs::write(s.join("openclaw.json"), "{gateway:{auth:{token:'x'}}}").unwrap();
        fs::write(s.join("devices/paired.json"), "{}").unwrap();
        fs::set_permissions(
            s.join("devices/paired.json"),
            fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        fs::set_permissions(s.join("identity"), fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(s.join("identity/device.json"), "{\"k\":1}").unwrap();
        fs::set_permissions(
            s.join("identity/device.json"),
            fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        fs::write(s.join("logs/x.log"), "log").unwrap();
        let before = tree_hash(s);

        let b = create(&layout, "t1", "test", None, None).unwrap();
        let copied = b.dir.join("files/devices/paired.json");
        assert_eq!(fs::metadata(&copied).unwrap().mode() & 0o777, 0o600);
        assert!(!b.dir.join("files/logs").exists(), "logs are excluded");

        // A "migration": rename, rewrite, add, change a mode.
        fs::rename(
            s.join("devices/paired.json"),
            s.join("devices/paired.json.migrated"),
        )
        .unwrap();
        fs::write(
            s.join("openclaw.json"),
            "{meta:{lastTouchedVersion:'2026.9.5'}}",
        )
        .unwrap();
        fs::create_dir_all(s.join("state")).unwrap();
        fs::write(s.join("state/openclaw.sqlite"), "db").unwrap();
        fs::set_permissions(
            s.join("identity/device.json"),
            fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        fs::write(s.join("logs/x.log"), "log2").unwrap();

        load(&b.dir).unwrap().restore(&layout).unwrap();
        let mut after = tree_hash(s);
        // logs are outside the backup: only they may differ.
        after.retain(|e| !e.0.starts_with("logs/"));
        let mut want = before;
        want.retain(|e| !e.0.starts_with("logs/"));
        assert_eq!(after, want);
    }

    /// What a newer release's `doctor --fix` did to a 2026.6.11 workspace (2026.9.6, seen in
    /// `scripts/e2e-systemd older_poisoned`): rewrote AGENTS.md, removed TOOLS.md and
    /// HEARTBEAT.md, renamed the workspace state file. The undo puts the top-level files back;
    /// the agents' own directories in the workspace are never touched.
    #[test]
    fn the_workspace_top_level_files_are_restored_and_its_directories_left_alone() {
        let t = tempfile::tempdir().unwrap();
        let layout = layout_in(t.path());
        let s = &layout.state_dir;
        let w = s.join(WORKSPACE);
        fs::create_dir_all(w.join("project")).unwrap();
        fs::write(s.join("openclaw.json"), "{}").unwrap();
        for (f, c) in [
            ("AGENTS.md", "# agents"),
            ("TOOLS.md", "# tools"),
            ("HEARTBEAT.md", "# heartbeat"),
            ("openclaw-workspace-state.json", "{\"v\":1}"),
        ] {
            fs::write(w.join(f), c).unwrap();
        }
        fs::write(w.join("project/notes.md"), "mine").unwrap();
        let before = tree_hash(s);

        let b = create(&layout, "t1", "test", None, None).unwrap();
        assert!(b.dir.join("files/workspace/AGENTS.md").is_file());
        assert!(
            !b.dir.join("files/workspace/project").exists(),
            "the workspace's directories are not backed up"
        );
        // The migration.
        fs::write(w.join("AGENTS.md"), "# agents\n# tools\n# heartbeat").unwrap();
        fs::remove_file(w.join("TOOLS.md")).unwrap();
        fs::remove_file(w.join("HEARTBEAT.md")).unwrap();
        fs::rename(
            w.join("openclaw-workspace-state.json"),
            w.join("openclaw-workspace-state.json.migrated.abc"),
        )
        .unwrap();
        load(&b.dir).unwrap().restore(&layout).unwrap();
        assert_eq!(tree_hash(s), before);

        // The agents' work since the backup: a new directory and a new file in one; both stay.
        fs::create_dir_all(w.join("later")).unwrap();
        fs::write(w.join("later/x.md"), "x").unwrap();
        fs::write(w.join("project/more.md"), "more").unwrap();
        load(&b.dir).unwrap().restore(&layout).unwrap();
        assert_eq!(fs::read_to_string(w.join("later/x.md")).unwrap(), "x");
        assert_eq!(
            fs::read_to_string(w.join("project/more.md")).unwrap(),
            "more"
        );
        assert_eq!(
            fs::read_to_string(w.join("project/notes.md")).unwrap(),
            "mine"
        );

        // A backup from before (schema 1) never saw the workspace's files: its restore leaves
        // them as they are.
        let mut m: Manifest =
            serde_json::from_str(&fs::read_to_string(b.dir.join("manifest.json")).unwrap())
                .unwrap();
        m.schema = 1;
        m.entries.retain(|e| !e.path.starts_with("workspace/"));
        fs::write(
            b.dir.join("manifest.json"),
            serde_json::to_string_pretty(&m).unwrap(),
        )
        .unwrap();
        fs::write(w.join("AGENTS.md"), "# edited since").unwrap();
        load(&b.dir).unwrap().restore(&layout).unwrap();
        assert_eq!(
            fs::read_to_string(w.join("AGENTS.md")).unwrap(),
            "# edited since"
        );
        assert!(w.join("TOOLS.md").is_file());
    }

    #[test]
    fn which_link_targets_stay_inside() {
        let env = Env::from_pairs([("HOME", "/h"), ("OPENCLAW_CONFIG_PATH", "/etc/oc/oc.json")]);
        let layout = resolve_layout(&env, &Profile::Default, None).unwrap();
        let inside = |rel: &str, target: &str| link_stays_inside(&layout, rel, target);
        assert!(inside("agents/main/current", "s1.jsonl"));
        assert!(inside("agents/main/current", "./s1.jsonl"));
        assert!(inside("latest", "/h/.openclaw/state/openclaw.sqlite"));
        // Out of the state dir, by name or by `..`, or into what a backup never covers.
        assert!(!inside("state", "/mnt/disk2/state"));
        assert!(!inside("a", "../../x"));
        assert!(!inside("agents/main/current", "../other/s1.jsonl"));
        assert!(!inside("a", "/h/.openclaw/../x"));
        assert!(!inside("a", "clawkit/backups"));
        assert!(!inside("a", "/h/.openclaw/logs/x.log"));
        assert!(!inside("a", "/h/.openclaw"));
        assert!(!inside("a", "."));
        // Next to a config outside the state dir: only the config's own names.
        assert!(inside("@config/oc.json.bak", "oc.json"));
        assert!(!inside("@config/oc.json", "oc.json"));
        assert!(!inside("@config/oc.json", ".bashrc"));
        assert!(!inside("@config/oc.json", "/home/u/dotfiles/oc.json"));
    }

    #[test]
    fn a_link_replaced_since_is_put_back_only_when_seen_before_the_change() {
        let t = tempfile::tempdir().unwrap();
        let env = Env::from_pairs([("HOME", t.path().as_os_str())]);
        let layout = resolve_layout(&env, &Profile::Default, None).unwrap();
        fs::create_dir_all(&layout.state_dir).unwrap();
        let dotfiles = t.path().join("dotfiles.json");
        fs::write(&dotfiles, "{old: 1}").unwrap();
        std::os::unix::fs::symlink(&dotfiles, &layout.config_path).unwrap();
        let seen = outside_links(&layout);
        assert_eq!(
            seen,
            vec![SeenLink {
                path: "openclaw.json".into(),
                target: dotfiles.to_string_lossy().into()
            }]
        );
        let b = create(&layout, "t3", "test", None, None).unwrap();
        // A release rewrites the config by renaming a new file over the link.
        fs::remove_file(&layout.config_path).unwrap();
        fs::write(&layout.config_path, "{new: 1}").unwrap();
        fs::write(&dotfiles, "{changed: 1}").unwrap();
        let err = b.restore(&layout).unwrap_err().to_string();
        assert!(err.contains("it is a file now"), "{err}");
        assert_eq!(fs::read_to_string(&dotfiles).unwrap(), "{changed: 1}");
        b.restore_through(&layout, &seen).unwrap();
        assert_eq!(fs::read_link(&layout.config_path).unwrap(), dotfiles);
        assert_eq!(fs::read_to_string(&dotfiles).unwrap(), "{old: 1}");
        // A link seen with another target does not count.
        fs::remove_file(&layout.config_path).unwrap();
        let other = vec![SeenLink {
            path: "openclaw.json".into(),
            target: "/elsewhere".into(),
        }];
        assert!(b.restore_through(&layout, &other).is_err());
    }

    #[test]
    fn damaged_backup_is_refused_before_touching_state() {
        let t = tempfile::tempdir().unwrap();
        let env = Env::from_pairs([("HOME", t.path().as_os_str())]);
        let layout = resolve_layout(&env, &Profile::Default, None).unwrap();
        fs::create_dir_all(&layout.state_dir).unwrap();
        fs::write(&layout.config_path, "{}").unwrap();
        let b = create(&layout, "t2", "test", None, None).unwrap();
        fs::write(b.dir.join("files/openclaw.json"), "tampered").unwrap();
        fs::write(&layout.config_path, "{now: 1}").unwrap();
        assert!(b
            .restore(&layout)
            .unwrap_err()
            .to_string()
            .contains("damaged"));
        assert_eq!(fs::read_to_string(&layout.config_path).unwrap(), "{now: 1}");
    }
}
