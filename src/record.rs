//! The persisted undo log of a transaction (`inflight.json`, mode 0600): the changes an operation
//! made, each with what its undo needs, and the members it stopped (with what it takes to bring
//! an unmanaged gateway back, environment included, which is why the file is private). Read by
//! `status`/`doctor` (an interrupted operation) and by `txn` (to undo or resume it).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::proc;
use crate::supervisor::Kind;
use crate::version::Version;

/// One change, with what its undo needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Change {
    /// The gateway of a member was stopped. Undo: start it again (if it was running), wait
    /// until healthy, check its version.
    Stop { member: usize },
    /// A safety backup of a member's state. Undo: none (the backup is kept).
    Backup { member: usize, dir: PathBuf },
    /// A member's state was changed (`what`). Undo: restore the backup in `backup` (through the
    /// `links` seen before the change), and the service definition as it was before (`unit`):
    /// a newer release's `doctor --fix` rewrites an older release's systemd unit or LaunchAgent
    /// while it migrates.
    State {
        member: usize,
        backup: PathBuf,
        what: String,
        #[serde(default)]
        unit: Option<RemovedFile>,
        /// The links leaving the state dir that were in the live state when the change began:
        /// the undo may put them back and restore through them (see `Backup::check_links`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        links: Vec<crate::backup::SeenLink>,
    },
    /// `root` now holds the package staged at `incoming`; the previous one was moved to `aside`
    /// (`None`: there was none). Undo: move the new one to `parked`, the old one back, relink
    /// `bin/openclaw`.
    Swap {
        prefix: PathBuf,
        root: PathBuf,
        aside: Option<PathBuf>,
        parked: PathBuf,
        /// Keep the package moved to `parked` (a rollback's kept copy goes back where it was).
        #[serde(default)]
        keep_parked: bool,
        old: Option<Version>,
        new: Version,
    },
    /// npm installed `new` over `old` in the prefix itself. Undo: npm installs `old` again.
    Reinstall {
        prefix: PathBuf,
        old: Option<Version>,
        new: Version,
        npm: PathBuf,
        registry: Option<String>,
    },
    /// A member's gateway was started (`pid` when clawkit spawned it itself). Undo: stop what
    /// serves its port now, and that pid.
    Start { member: usize, pid: Option<u32> },
    /// Files that were removed (stale gateway locks), with their content. Undo: write them back.
    Removed { files: Vec<RemovedFile> },
}

/// A file's bytes and mode, kept to be written back.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RemovedFile {
    pub path: PathBuf,
    pub mode: u32,
    /// The content, hex-encoded.
    pub content: String,
}

impl RemovedFile {
    /// The file as it is now (`None` when it cannot be read).
    pub fn read(path: &std::path::Path) -> Option<RemovedFile> {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).ok()?;
        let bytes = std::fs::read(path).ok()?;
        Some(RemovedFile {
            path: path.to_path_buf(),
            mode: meta.permissions().mode() & 0o7777,
            content: hex::encode(bytes),
        })
    }

    /// Writes the kept bytes and mode back (parents created as needed).
    pub fn write_back(&self) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let bytes = hex::decode(&self.content).unwrap_or_default();
        if let Some(d) = self.path.parent() {
            std::fs::create_dir_all(d)?;
        }
        std::fs::write(&self.path, bytes)?;
        std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(self.mode))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Logged {
    pub change: Change,
    pub done: bool,
    #[serde(default)]
    pub undone: bool,
}

/// Where a transaction's record lives: with the install (operations that replace it) or with
/// the profile.
#[derive(Debug, Clone)]
pub enum Scope {
    Install(PathBuf),
    Profile(PathBuf),
}

impl Scope {
    pub fn record_path(&self) -> PathBuf {
        match self {
            Scope::Install(prefix) => prefix.join("lib/clawkit/inflight.json"),
            Scope::Profile(state_dir) => state_dir.join("clawkit/inflight.json"),
        }
    }
}

/// The persisted undo log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub schema: u32,
    pub id: String,
    /// `update`, `rollback`, `repair pairing`, `repair lock`, `reset devices`, `backups restore`.
    pub command: String,
    pub pid: u32,
    pub started_at: String,
    pub from: Option<Version>,
    pub to: Option<Version>,
    /// The node and package root of the install after an undo (to verify versions over RPC).
    pub node: Option<PathBuf>,
    pub root: Option<PathBuf>,
    pub members: Vec<SavedMember>,
    /// The version each member's gateway reported before the operation.
    pub versions_before: Vec<Option<Version>>,
    pub changes: Vec<Logged>,
    /// Every forward step is done and verified: only the commit is left.
    pub forward_done: bool,
    /// Each member's state fingerprint after the last completed change.
    pub fingerprints: Vec<Option<String>>,
    /// Journals the entry goes to (each member's profile).
    pub journals: Vec<PathBuf>,
    /// The package kept for `clawkit rollback` (update only).
    pub previous_package: Option<PathBuf>,
}

impl Record {
    pub fn write(&self, file: &Path) -> Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        if let Some(d) = file.parent() {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
        }
        let tmp = file.with_extension("json.tmp");
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(&serde_json::to_vec(self)?)
            .and_then(|_| f.sync_all())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, file)?;
        if let Some(d) = file.parent().and_then(|d| std::fs::File::open(d).ok()) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    pub fn read(file: &Path) -> Option<Record> {
        serde_json::from_slice(&std::fs::read(file).ok()?).ok()
    }

    pub fn touches_package(&self) -> bool {
        self.changes
            .iter()
            .any(|l| matches!(l.change, Change::Swap { .. } | Change::Reinstall { .. }))
    }

    /// What an abort now would leave behind, in one paragraph.
    pub fn left_behind(&self, path: &Path) -> String {
        let mut parts = Vec::new();
        for l in self.changes.iter().filter(|l| !l.undone) {
            match &l.change {
                Change::Stop { member } => {
                    if let Some(m) = self.members.get(*member).filter(|m| m.was_running) {
                        parts.push(format!("the gateway on port {} may be stopped", m.port));
                    }
                }
                Change::Swap { root, aside, .. } => parts.push(format!(
                    "{} holds the new package{}",
                    root.display(),
                    aside
                        .as_ref()
                        .map(|a| format!(" (the previous one is {})", a.display()))
                        .unwrap_or_default()
                )),
                Change::Reinstall { new, .. } => parts.push(format!("npm installed {new}")),
                Change::State { backup, what, .. } => parts.push(format!(
                    "the state was changed ({what}); its backup is {}",
                    backup.display()
                )),
                _ => {}
            }
        }
        if parts.is_empty() {
            parts.push("nothing was changed yet".into());
        }
        format!(
            "Left behind: {}. The record is {}.",
            parts.join("; "),
            path.display()
        )
    }
}

/// A member as persisted: what is needed to bring it back after clawkit itself was killed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedMember {
    pub home: PathBuf,
    pub state_dir: PathBuf,
    pub config_path: PathBuf,
    #[serde(default)]
    pub profile: Option<String>,
    pub port: u16,
    pub was_running: bool,
    #[serde(default)]
    pub restart: bool,
    pub kind: Kind,
    pub name: Option<String>,
    pub file: Option<PathBuf>,
    pub command: Vec<String>,
    pub relaunch: Option<SavedRelaunch>,
    #[serde(default)]
    pub stop_deadline_secs: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedRelaunch {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    pub log: Option<PathBuf>,
}

/// A transaction whose clawkit is gone.
#[derive(Debug, Clone)]
pub struct Pending {
    pub path: PathBuf,
    pub record: Record,
}

fn owner_alive(r: &Record) -> bool {
    r.pid != std::process::id()
        && proc::alive(r.pid)
        && proc::info(r.pid).is_some_and(|i| {
            i.exe
                .as_ref()
                .and_then(|e| e.file_name())
                .is_some_and(|n| n.to_string_lossy().starts_with("clawkit"))
        })
}

/// The interrupted transactions that concern a profile: its own, and its install's.
pub fn pending(state_dir: &Path, prefix: Option<&Path>) -> Vec<Pending> {
    let mut paths = vec![Scope::Profile(state_dir.to_path_buf()).record_path()];
    if let Some(p) = prefix {
        paths.push(Scope::Install(p.to_path_buf()).record_path());
    }
    paths
        .into_iter()
        .filter_map(|path| {
            let record = Record::read(&path)?;
            (!owner_alive(&record)).then_some(Pending { path, record })
        })
        .collect()
}

/// A human line for `status`/`doctor`.
pub fn describe(pend: &Pending) -> String {
    format!(
        "`clawkit {}` {} was interrupted ({}); run `clawkit resume`",
        pend.record.command,
        pend.record.id,
        pend.record.left_behind(&pend.path)
    )
}
