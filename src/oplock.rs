//! The lock that keeps two clawkit operations off the same profile. An OS file lock: it dies
//! with its process, so a lock left by a killed clawkit is simply taken over.

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
                    "another clawkit operation is running on this profile{}",
                    if holder.is_empty() {
                        String::new()
                    } else {
                        format!(" ({holder})")
                    }
                ),
            )
            .with_fix("wait for it to finish, then run the command again")
            .into());
        }
        file.set_len(0)?;
        file.rewind()?;
        write!(file, "pid {} {what}", std::process::id())?;
        file.flush()?;
        Ok(OpLock { file, path })
    }
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
        assert!(err.to_string().contains("pid"));
        assert!(!is_free(t.path()));
        drop(a);
        assert!(is_free(t.path()));
        OpLock::acquire(t.path(), "update").unwrap();
    }
}
