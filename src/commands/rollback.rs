//! `clawkit rollback`: back to the version before the last `clawkit update`, with the state
//! backup that update took (an older binary refuses a config written by a newer one). One
//! transaction: stop → safety backup → swap the kept package back (or npm reinstalls it) →
//! restore that update's backup → start → verify; any failure undoes it (exit 4).

use std::time::{Duration, SystemTime};

use anyhow::{bail, Result};

use crate::backup;
use crate::cli::{Global, RollbackArgs};
use crate::env::Env;
use crate::exit::{Exit, Failure};
use crate::install::PACKAGE;
use crate::journal::{self, Entry};
use crate::member;
use crate::npm::{self, Npm, NPM_DEADLINE};
use crate::openclaw::OpenClaw;
use crate::oplock;
use crate::printer::Printer;
use crate::probe::Snapshot;
use crate::report::RollbackDoc;
use crate::steps;
use crate::txn::{Begin, Change, Scope, Txn};
use crate::version::Version;

/// The update a rollback undoes: the newest successful update (not a restart-only repair) to
/// the installed version, optionally from `want`.
pub fn rollback_target<'a>(
    entries: &'a [Entry],
    current: &Version,
    want: Option<&Version>,
) -> Option<&'a Entry> {
    entries
        .iter()
        .rev()
        .filter(|e| e.command == "update" && e.outcome == "updated")
        .filter(|e| e.from.is_some() && e.from != e.to)
        .find(|e| e.to.as_ref() == Some(current) && want.is_none_or(|w| e.from.as_ref() == Some(w)))
}

pub fn run(env: &Env, g: &Global, args: &RollbackArgs, p: &Printer) -> Result<Exit> {
    let (mut locks, snap) = if args.dry_run {
        (Vec::new(), Snapshot::take(env, &super::target(g))?)
    } else {
        super::lock_and_resume(env, g, p, "rollback")?
    };
    let current = snap.cli_version().cloned().ok_or_else(|| {
        Failure::refused("OpenClaw is not installed: nothing to roll back")
            .with_fix("clawkit update --install --to VERSION")
    })?;
    let entries = journal::read(&journal::path(&snap.layout));
    let entry = rollback_target(&entries, &current, args.to.as_ref()).ok_or_else(|| {
        Failure::refused(format!(
            "no clawkit update to {current}{} in the journal",
            args.to.as_ref().map(|w| format!(" from {w}")).unwrap_or_default()
        ))
        .with_fix("clawkit history lists the updates; `clawkit update --to VERSION --allow-downgrade` installs another version")
    })?;
    let from: Version = entry.from.clone().ok_or_else(|| {
        anyhow::Error::from(Failure::refused(
            "the journal entry has no previous version",
        ))
    })?;
    let inst = snap
        .install
        .as_ref()
        .expect("cli_version implies an install");
    let prefix = inst
        .prefix
        .clone()
        .ok_or_else(|| Failure::refused("the install is not in an npm prefix"))?;
    let root = prefix.join("lib/node_modules").join(PACKAGE);
    let canon_root = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
    let previous = entry
        .previous_package
        .clone()
        .filter(|p| p.join("package.json").exists());
    let work = prefix.join("lib/clawkit");
    let stamp = backup::stamp(SystemTime::now());
    let aside = work
        .join("previous")
        .join(format!("{stamp}-rolled-back-{current}"));
    let selection = member::select(
        env,
        &snap,
        Some(&canon_root),
        member::Options {
            siblings: true,
            start: false,
            restart: true,
        },
    )?;
    let mut notes = selection.notes;
    let members = selection.members;
    if !args.dry_run {
        let more: Vec<_> = members
            .iter()
            .map(|m| m.layout.clawkit_dir())
            .filter(|d| {
                !locks
                    .iter()
                    .any(|l: &oplock::OpLock| l.path == d.join("lock"))
            })
            .collect();
        locks.extend(oplock::acquire_all(&more, "rollback")?);
    }
    let backup_of = |m: &member::Member| backup::backups_dir(&m.layout).join(&entry.id);
    let how = match &previous {
        Some(p) => format!("swap the kept package back ({})", p.display()),
        None => format!("reinstall openclaw@{from} with npm (the kept package is gone)"),
    };
    p.line(format!(
        "rollback: OpenClaw {current} → {from}: {how}; restore the state backup {}",
        entry.id
    ));
    for m in &members {
        if !backup_of(m).join("manifest.json").exists() {
            notes.push(format!(
                "{} has no backup from that update: its state is left as it is",
                m.layout.state_dir.display()
            ));
        }
    }
    for n in &notes {
        p.line(format!("  note: {n}"));
    }
    if args.dry_run {
        if p.json {
            p.json(&RollbackDoc {
                from: Some(current),
                to: Some(from),
                journal_id: Some(entry.id.clone()),
                previous_package: previous,
                notes,
                ..RollbackDoc::new("planned", Exit::Ok)
            });
        }
        return Ok(Exit::Ok);
    }
    if !args.yes && p.interactive {
        super::confirm(p, false, "rollback")?;
    }
    let node = snap.gateway_node(env).ok_or_else(|| {
        Failure::refused("node is not on PATH").with_fix("install Node.js and add it to PATH")
    })?;
    for m in &members {
        if let Err(e) = backup::check_space(&m.layout) {
            return Err(Failure::refused(format!("{e:#}"))
                .with_fix("free disk space on the state dir's file system, then retry")
                .into());
        }
    }
    let mut txn = Txn::begin(
        env,
        p,
        members.clone(),
        Begin {
            scope: Scope::Install(prefix.clone()),
            id: format!("{stamp}-rollback-{current}-to-{from}"),
            command: "rollback",
            from: Some(current.clone()),
            to: Some(from.clone()),
            node: Some(node.path.clone()),
            root: Some(root.clone()),
            previous_package: Some(aside.clone()),
        },
    )?;
    let result = (|| -> Result<()> {
        txn.stop_all()?;
        let safety = txn.backup_all(
            &format!("{stamp}-before-rollback"),
            "before rollback",
            Some(&current),
            Some(&from),
        )?;
        match &previous {
            Some(prev) => {
                let (root, aside, prev, prefix) =
                    (root.clone(), aside.clone(), prev.clone(), prefix.clone());
                txn.apply(
                    Change::Swap {
                        prefix: prefix.clone(),
                        root: root.clone(),
                        aside: Some(aside.clone()),
                        parked: prev.clone(),
                        keep_parked: true,
                        old: Some(current.clone()),
                        new: from.clone(),
                    },
                    "swap the previous package back",
                    |_| {
                        steps::rename(&root, &aside)?;
                        steps::rename(&prev, &root)?;
                        steps::link_bin(&prefix, &steps::bin_entry(&root))?;
                        Ok(((), format!("{current} kept at {}", aside.display())))
                    },
                )?;
            }
            None => {
                let npm = Npm::find(env, node.path.parent().map(Into::into), None)
                    .ok_or_else(|| anyhow::anyhow!("npm is not on PATH"))?;
                let cmd = npm.install(&prefix, &format!("{PACKAGE}@{from}"), NPM_DEADLINE);
                txn.apply(
                    Change::Reinstall {
                        prefix: prefix.clone(),
                        old: Some(current.clone()),
                        new: from.clone(),
                        npm: npm.bin.clone(),
                        registry: None,
                    },
                    &format!("reinstall {from}"),
                    |_| {
                        npm::run_install(&cmd)?;
                        Ok(((), String::new()))
                    },
                )?;
            }
        }
        for (i, m) in members.iter().enumerate() {
            let dir = backup_of(m);
            if dir.join("manifest.json").exists() {
                let b = backup::load(&dir)?;
                let layout = m.layout.clone();
                let id = entry.id.clone();
                txn.change_state(
                    i,
                    &safety[i].dir,
                    &format!("restored the state from before {id}"),
                    &format!("restore {}", m.layout.state_dir.display()),
                    |_| {
                        b.restore(&layout)?;
                        Ok((
                            (),
                            format!("{} entries from {id}", b.manifest.entries.len()),
                        ))
                    },
                )?;
            }
        }
        txn.start_all(|m| m.restart, Duration::from_secs(args.timeout))?;
        let cli = OpenClaw::new(&node.path, &root, env);
        let want = from.clone();
        txn.rec.run("verify CLI version", |_| {
            let v = cli.version()?;
            if v != want {
                bail!("`openclaw --version` says {v}, expected {want}");
            }
            Ok(((), format!("openclaw --version = {v}")))
        })?;
        txn.verify_all(|m| m.restart, Some(&cli), Some(&from))?;
        txn.verified();
        Ok(())
    })();
    let fin = txn.finish(result, "rolled-back", "undone");
    drop(locks);
    Ok(super::report_txn(p, "rollback", &fin, "rolled-back", |t| {
        RollbackDoc {
            journal_id: Some(entry.id.clone()),
            previous_package: previous,
            notes,
            ..RollbackDoc::ended(t)
        }
    }))
}
