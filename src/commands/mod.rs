//! One file per command. Each takes the parsed flags and returns an exit status; expected
//! outcomes (skew found, rolled back, refused) are statuses, not errors.

pub mod backups;
pub mod config;
pub mod doctor;
pub mod history;
pub mod intercept;
pub mod repair;
pub mod resume;
pub mod rollback;
pub mod schedule;
pub mod status;
pub mod update;

use crate::cli::Global;
use crate::layout::Profile;
use crate::probe;

/// The selection of profile/prefix/port from the global flags (clap validated each).
pub fn target(g: &Global) -> probe::Target {
    let profile = match (&g.profile, g.dev) {
        (_, true) => Profile::Named("dev".into()),
        (Some(p), _) => p.clone(),
        (None, false) => Profile::Default,
    };
    probe::Target {
        profile,
        prefix: g.prefix.clone(),
        port: g.port,
    }
}

/// The targets of a command: the selected profile, or with `--all-profiles` every profile found
/// on this host (default first).
pub fn targets(
    env: &crate::env::Env,
    g: &Global,
    all_profiles: bool,
) -> anyhow::Result<Vec<probe::Target>> {
    let one = target(g);
    if !all_profiles {
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

/// The end of every transaction-guarded command except `update` (which reports more): one JSON
/// document (every field present) and the human lines; the exit code of the contract.
pub fn report_txn<D: serde::Serialize>(
    p: &crate::printer::Printer,
    command: &str,
    fin: &crate::txn::Finished,
    ok_outcome: &str,
    doc: impl FnOnce(crate::report::TxnEnd) -> D,
) -> crate::exit::Exit {
    use crate::txn::{Change, Ended};
    let exit = fin.ended.exit();
    let (outcome, error, fix) = match &fin.ended {
        Ended::Committed => (ok_outcome.to_string(), None, None),
        Ended::Undone { error } => (
            "undone".to_string(),
            Some(error.clone()),
            Some(
                "the previous state runs again; `clawkit history show` has the failed step"
                    .to_string(),
            ),
        ),
        Ended::Failed { error, manual } => (
            "failed".to_string(),
            Some(error.clone()),
            Some(manual.clone()),
        ),
    };
    let backup = fin.record.changes.iter().find_map(|l| match &l.change {
        Change::Backup { dir, .. } => Some(dir.clone()),
        _ => None,
    });
    if p.json {
        p.json(&doc(crate::report::TxnEnd {
            outcome: outcome.clone(),
            exit,
            id: Some(fin.record.id.clone()),
            from: fin.record.from.clone(),
            to: fin.record.to.clone(),
            error,
            fix,
            backup: backup.clone(),
            downtime_ms: fin.outage_ms,
            duration_ms: Some(fin.duration_ms),
            steps: fin.rec.steps.clone(),
        }));
    }
    let shown_backup = backup.map_or("(none)".into(), |b| b.display().to_string());
    match &fin.ended {
        Ended::Committed => p.line(format!("{} {command}: {outcome}; backup {shown_backup}", p.mark("ok"))),
        Ended::Undone { error } => p.alert(format!(
            "{command} failed and was undone; the previous state runs again: {error}\n  backup: {shown_backup}"
        )),
        Ended::Failed { error, manual } => p.alert(format!(
            "{command} failed and could not be undone: {error}\n  next: {manual}"
        )),
    }
    exit
}

/// Takes the locks of a profile operation (the profile's and its install's), then finishes any
/// operation a killed clawkit left behind; returns the locks and a fresh snapshot.
pub fn lock_and_resume(
    env: &crate::env::Env,
    g: &Global,
    p: &crate::printer::Printer,
    what: &str,
) -> anyhow::Result<(Vec<crate::oplock::OpLock>, crate::probe::Snapshot)> {
    let target = target(g);
    let snap = crate::probe::Snapshot::take(env, &target)?;
    let prefix = snap.install.as_ref().and_then(|i| i.prefix.clone());
    let mut dirs = vec![snap.layout.clawkit_dir()];
    dirs.extend(prefix.as_ref().map(|p| p.join("lib/clawkit")));
    let locks = crate::oplock::acquire_all(&dirs, what)?;
    if crate::txn::resume_pending(env, p, &snap.layout.state_dir, prefix.as_deref())?.is_some() {
        return Ok((locks, crate::probe::Snapshot::take(env, &target)?));
    }
    Ok((locks, snap))
}

/// Asks "[y/N]" on a terminal; without one, `--yes` is required.
pub fn confirm(p: &crate::printer::Printer, yes: bool, what: &str) -> anyhow::Result<()> {
    use crate::exit::Failure;
    if yes {
        return Ok(());
    }
    if !p.interactive {
        return Err(Failure::refused(format!("{what} needs confirmation"))
            .with_fix("pass --yes to confirm")
            .into());
    }
    p.line(format!("{what}: proceed? [y/N] "));
    let mut a = String::new();
    std::io::stdin().read_line(&mut a)?;
    if matches!(a.trim(), "y" | "Y" | "yes" | "YES") {
        Ok(())
    } else {
        Err(Failure::refused("cancelled; nothing was changed").into())
    }
}
