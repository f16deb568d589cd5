//! The record of an update in its outage window: `<state>/clawkit/inflight.json` (mode 0600).
//! Written before the first gateway is stopped, removed when the update ends. If clawkit is killed
//! in between, the next clawkit finds it (the operation lock is free again) and `clawkit update
//! --resume` brings every gateway back on the previous version. It holds what is needed to
//! restart an unmanaged gateway, environment included, which is why it is private to the user.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::layout::Layout;
use crate::steps::Member;
use crate::supervisor::{Kind, Relaunch, Supervisor};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InFlight {
    pub schema: u32,
    pub id: String,
    pub pid: u32,
    pub from: Option<String>,
    pub to: String,
    pub in_place: bool,
    pub prefix: PathBuf,
    pub root: PathBuf,
    pub aside: PathBuf,
    pub node: PathBuf,
    pub members: Vec<SavedMember>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedMember {
    pub home: PathBuf,
    pub state_dir: PathBuf,
    pub config_path: PathBuf,
    pub port: u16,
    pub was_running: bool,
    pub kind: Kind,
    pub name: Option<String>,
    pub file: Option<PathBuf>,
    pub command: Vec<String>,
    pub relaunch: Option<SavedRelaunch>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedRelaunch {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    pub log: Option<PathBuf>,
}

pub fn path(layout: &Layout) -> PathBuf {
    layout.clawkit_dir().join("inflight.json")
}

impl SavedMember {
    pub fn from_member(m: &Member) -> SavedMember {
        SavedMember {
            home: m.layout.home.clone(),
            state_dir: m.layout.state_dir.clone(),
            config_path: m.layout.config_path.clone(),
            port: m.port,
            was_running: m.was_running,
            kind: m.supervisor.kind,
            name: m.supervisor.name.clone(),
            file: m.supervisor.file.clone(),
            command: m.supervisor.command.clone(),
            relaunch: m.supervisor.relaunch.as_ref().map(|r| SavedRelaunch {
                argv: r.argv.clone(),
                cwd: r.cwd.clone(),
                env: r
                    .env
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.to_string_lossy().into_owned(),
                            v.to_string_lossy().into_owned(),
                        )
                    })
                    .collect(),
                log: r.log.clone(),
            }),
        }
    }

    /// The member as it was, with its gateway as it is now.
    pub fn to_member(&self) -> Member {
        let layout =
            Layout::for_state_dir(&self.home, &self.state_dir, Some(self.config_path.clone()));
        let token = crate::config::Config::load(&self.config_path).token;
        let gateway = crate::gateway::probe(&layout, self.port, token.as_ref());
        let relaunch = self.relaunch.as_ref().map(|r| Relaunch {
            argv: r.argv.clone(),
            cwd: r.cwd.clone(),
            env: r
                .env
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v)))
                .collect(),
            log: r.log.clone(),
            reconstructed: false,
        });
        Member {
            supervisor: Supervisor::restored(
                self.kind,
                self.name.clone(),
                self.file.clone(),
                self.command.clone(),
                relaunch,
            ),
            layout,
            port: self.port,
            gateway,
            was_running: self.was_running,
            restart: self.was_running,
            stop_deadline: crate::steps::STOP_DEADLINE,
        }
    }
}

impl InFlight {
    pub fn write(&self, file: &Path) -> Result<()> {
        if let Some(d) = file.parent() {
            std::fs::create_dir_all(d)?;
        }
        let tmp = file.with_extension("json.tmp");
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(&serde_json::to_vec(self)?)?;
        f.sync_all()?;
        std::fs::rename(&tmp, file)?;
        Ok(())
    }

    pub fn read(file: &Path) -> Option<InFlight> {
        serde_json::from_slice(&std::fs::read(file).ok()?).ok()
    }
}

/// An update that was interrupted: its record exists and no clawkit holds the lock.
pub fn interrupted(layout: &Layout) -> Option<InFlight> {
    let rec = InFlight::read(&path(layout))?;
    // Its owner is gone when nobody holds the operation lock (checked read-only: `status` and
    // `doctor` must not write), or its pid is dead.
    let free = crate::oplock::is_free(&layout.clawkit_dir());
    (free || !crate::proc::alive(rec.pid)).then_some(rec)
}
