//! The locks that keep two clawkit operations apart: one per profile (`<state>/clawkit/lock`)
//! and one per install (`<prefix>/lib/clawkit/lock`), so `clawkit update` and
//! `clawkit --profile work update` on one install cannot both swap it. OS file locks: they die
//! with their process, so a lock left by a killed clawkit is simply taken over.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use fs4::fs_std::FileExt;

use crate::exit::{Exit, Failure};

#[derive(Debug)]
pub struct OpLock {
    file: File,
    pub path: PathBuf,
}

impl OpLock {
    /// Takes the lock or fails with exit 5, naming the holder.
    pub fn acquire(dir: &Path, what: &str) -> Result<OpLock> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join("lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let got = file
            .try_lock_exclusive()
            .with_context(|| format!("cannot lock {}", path.display()))?;
        if !got {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(Failure::new(
                Exit::Locked,
                format!(
                    "another clawkit operation holds {}{}",
                    path.display(),
                    if holder.is_empty() {
                        String::new()
                    } else {
                        format!(": {holder}")
                    }
                ),
            )
            .with_fix("wait for it to finish, then run the command again")
            .into());
        }
        file.set_len(0)?;
        file.rewind()?;
        write!(
            file,
            "`clawkit {what}` (pid {}, since {})",
            std::process::id(),
            humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        )?;
        file.flush()?;
        Ok(OpLock { file, path })
    }
}

/// Takes every lock in `dirs` (deduplicated, in a fixed order, so two operations never wait on
/// each other) or fails with exit 5 naming the holder. Released when the guards drop.
pub fn acquire_all(dirs: &[PathBuf], what: &str) -> Result<Vec<OpLock>> {
    let mut dirs: Vec<PathBuf> = dirs.to_vec();
    dirs.sort();
    dirs.dedup();
    dirs.iter().map(|d| OpLock::acquire(d, what)).collect()
}

/// True when no clawkit operation holds the lock in `dir`. Opens the lock file read-only and
/// writes nothing (a flock on a read-only descriptor is still a lock).
pub fn is_free(dir: &Path) -> bool {
    let Ok(file) = File::open(dir.join("lock")) else {
        return true;
    };
    match file.try_lock_exclusive() {
        Ok(true) => {
            let _ = FileExt::unlock(&file);
            true
        }
        _ => false,
    }
}

impl Drop for OpLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = FileExt::unlock(&self.file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_gets_exit_5_and_release_frees_it() {
        let t = tempfile::tempdir().unwrap();
        let a = OpLock::acquire(t.path(), "update").unwrap();
        let err = OpLock::acquire(t.path(), "update").unwrap_err();
        assert_eq!(crate::exit::exit_for(&err), Exit::Locked);
        assert!(err.to_string().contains("pid"), "{err}");
        assert!(err.to_string().contains("`clawkit update`"), "{err}");
        assert!(!is_free(t.path()));
        drop(a);
        assert!(is_free(t.path()));
        OpLock::acquire(t.path(), "update").unwrap();
    }
}
