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

/// The targets of a command: the selected profile, or with `--all-profiles` every profile found
/// on this host (default first).
pub fn targets(env: &crate::env::Env, g: &Global) -> anyhow::Result<Vec<probe::Target>> {
    let one = target(g)?;
    if !g.all_profiles {
        return Ok(vec![one]);
    }
    Ok(probe::profiles(env)?
        .into_iter()
        .map(|profile| probe::Target {
            profile,
            ..one.clone()
        })
        .collect())
}

/// `--all-profiles`: one document with every profile's, and the worst verdict.
pub fn combine(
    command: &str,
    docs: Vec<serde_json::Value>,
    worst: &str,
    ok: bool,
) -> serde_json::Value {
    serde_json::json!({
        "schema": 1,
        "command": command,
        "all_profiles": true,
        "ok": ok,
        "verdict": worst,
        "profiles": docs,
    })
}
