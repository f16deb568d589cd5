//! The exit-code contract, shared by every command.
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | ok (also: already up to date, nothing to do) |
//! | 1 | failed and needs attention (the message says what to do) |
//! | 2 | usage error (bad flag or argument) |
//! | 3 | problem found (skew, unhealthy gateway, split install) |
//! | 4 | update failed and was rolled back; the previous version is verified running |
//! | 5 | another clawkit operation holds the lock |
//! | 6 | refused before changing anything (preflight) |
//! | 7 | an update is available (`update --check` only) |
//! | 128+N | aborted by a second signal N (see [`crate::signals`]); `clawkit resume` finishes |

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exit {
    Ok = 0,
    Attention = 1,
    Usage = 2,
    Problem = 3,
    RolledBack = 4,
    Locked = 5,
    Refused = 6,
    UpdateAvailable = 7,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// The table printed in `--help` and the README.
pub const CONTRACT: &str = "\
Exit codes (the same for every command):
  0  ok, or nothing to do
  1  failed and needs attention (the message names the next step)
  2  usage error
  3  problem found (version skew, unhealthy gateway, split install)
  4  update failed and was rolled back; the previous version is verified running
  5  another clawkit operation holds the lock
  6  refused before changing anything
  7  an update is available (update --check only)
  128+N  aborted by a second signal N (130 for Ctrl-C) while undoing: the message says
         what is left, `clawkit resume` finishes the undo";

/// An expected failure that maps to a specific exit code. Carried through `anyhow::Error` and
/// recovered in `main` by downcasting; anything else is exit 1.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub message: String,
    /// One concrete next step for the user.
    pub fix: Option<String>,
}

impl Failure {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Failure {
            exit,
            message: message.into(),
            fix: None,
        }
    }

    pub fn refused(message: impl Into<String>) -> Self {
        Self::new(Exit::Refused, message)
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n  fix: {fix}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Failure {}

/// The exit code for an error that escaped a command.
pub fn exit_for(err: &anyhow::Error) -> Exit {
    err.chain()
        .find_map(|e| e.downcast_ref::<Failure>())
        .map_or(Exit::Attention, |f| f.exit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn failure_survives_context() {
        let err = Err::<(), _>(Failure::refused("no"))
            .context("while planning")
            .unwrap_err();
        assert_eq!(exit_for(&err), Exit::Refused);
        assert_eq!(exit_for(&anyhow::anyhow!("boom")), Exit::Attention);
    }

    #[test]
    fn codes_match_contract() {
        let all = [
            Exit::Ok,
            Exit::Attention,
            Exit::Usage,
            Exit::Problem,
            Exit::RolledBack,
            Exit::Locked,
            Exit::Refused,
        ];
        for (i, e) in all.iter().enumerate() {
            assert_eq!(e.code() as usize, i);
            assert!(CONTRACT.contains(&format!("  {i}  ")));
        }
    }
}
