//! One file per command. Each takes the parsed flags and returns an exit status; expected
//! outcomes (skew found, rolled back, refused) are statuses, not errors.

pub mod backups;
pub mod doctor;
pub mod history;
pub mod intercept;
pub mod repair;
pub mod rollback;
pub mod status;
pub mod update;

use crate::cli::Global;
use crate::exit::Failure;
use crate::layout::Profile;
use crate::probe;

/// Validated selection of profile/prefix/port from the global flags.
pub fn target(g: &Global) -> Result<probe::Target, Failure> {
    let profile = match (&g.profile, g.dev) {
        (_, true) => Profile::Named("dev".into()),
        (Some(name), _) => Profile::parse(name)?,
        (None, false) => Profile::Default,
    };
    let prefix = match &g.prefix {
        Some(p) if p.as_os_str().is_empty() => {
            return Err(Failure::usage("--prefix is empty"));
        }
        Some(p) => Some(std::path::absolute(p).unwrap_or_else(|_| p.clone())),
        None => None,
    };
    Ok(probe::Target {
        profile,
        prefix,
        port: g.port,
    })
}
