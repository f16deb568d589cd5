//! `clawkit rollback`: back to the version before the last `clawkit update`, with the state
//! backup that update took (an older binary refuses a config written by a newer one).

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Result};
use serde_json::json;

use crate::backup;
use crate::cli::{Global, RollbackArgs};
use crate::env::Env;
use crate::exit::{Exit, Failure};
use crate::install::PACKAGE;
use crate::journal::{self, Entry};
use crate::node::Node;
use crate::npm::Npm;
use crate::openclaw::OpenClaw;
use crate::oplock::OpLock;
use crate::printer::Printer;
use crate::probe::Snapshot;
use crate::steps::{self, Recorder};
use crate::version::Version;

pub fn run(env: &Env, g: &Global, args: &RollbackArgs, p: &Printer) -> Result<Exit> {
    let snap = Snapshot::take(env, &super::target(g)?)?;
    let _lock = if args.dry_run {
        None
    } else {
        Some(OpLock::acquire(&snap.layout.clawkit_dir(), "rollback")?)
    };
    let want: Option<Version> = match &args.to {
        Some(v) => Some(
            v.parse()
                .map_err(|e: crate::version::ParseError| Failure::usage(e.to_string()))?,
        ),
        None => None,
    };
    let current = snap.cli_version().cloned().ok_or_else(|| {
        Failure::refused("OpenClaw is not installed: nothing to roll back")
            .with_fix("clawkit update --to VERSION")
    })?;
    let entries = journal::read(&journal::path(&snap.layout));
    let entry: &Entry = entries
        .iter()
        .rev()
        .filter(|e| e.command == "update" && e.outcome == "updated" && e.from.is_some())
        .find(|e| {
            e.to.as_deref() == Some(current.to_string().as_str())
                && want.as_ref().is_none_or(|w| e.from.as_deref() == Some(w.to_string().as_str()))
        })
        .ok_or_else(|| {
            Failure::refused(format!(
                "no clawkit update to {current}{} in the journal",
                want.as_ref().map(|w| format!(" from {w}")).unwrap_or_default()
            ))
            .with_fix("clawkit history lists the updates; `clawkit update --to VERSION --allow-downgrade` installs another version")
        })?;
    let from: Version = entry
        .from
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(|_| Failure::refused("the journal entry has no valid previous version"))?;
    let inst = snap
        .install
        .as_ref()
        .expect("cli_version implies an install");
    let prefix = inst
        .prefix
        .clone()
        .ok_or_else(|| Failure::refused("the install is not in an npm prefix"))?;
    let root = prefix.join("lib/node_modules").join(PACKAGE);
    let previous = entry
        .previous_package
        .clone()
        .filter(|p| p.join("package.json").exists());
    let work = prefix.join("lib/clawkit");
    let stamp = backup::stamp(SystemTime::now());
    let aside = work
        .join("previous")
        .join(format!("{stamp}-rolled-back-{current}"));
    let mut notes = Vec::new();
    let members = steps::members(env, &snap, true, false, true, &mut notes)?;
    let backup_of = |m: &steps::Member| backup::backups_dir(&m.layout).join(&entry.id);
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
            p.json(&json!({"schema": 1, "command": "rollback", "outcome": "planned", "from": current, "to": from, "journal_id": entry.id, "previous_package": previous, "notes": notes}));
        }
        return Ok(Exit::Ok);
    }
    if !args.yes && p.interactive {
        p.line("Proceed? [y/N] ");
        let mut a = String::new();
        std::io::stdin().read_line(&mut a)?;
        if !matches!(a.trim(), "y" | "Y" | "yes") {
            return Err(Failure::refused("rollback cancelled; nothing was changed").into());
        }
    }

    let node = snap
        .supervisor
        .node
        .clone()
        .filter(|n| n.is_absolute())
        .map(|n| Node::at(&n))
        .or(snap.node.clone());
    let Some(node) = node else {
        return Err(Failure::refused("node is not on PATH").into());
    };
    let mut rec = Recorder::new(p);
    let started = SystemTime::now();
    let swapped = std::cell::Cell::new(false);
    let mut change = |rec: &mut Recorder| -> Result<()> {
        match &previous {
            Some(prev) => rec.run("swap the previous package back", |_| {
                steps::rename(&root, &aside)?;
                if let Err(e) = steps::rename(prev, &root) {
                    let _ = steps::rename(&aside, &root);
                    return Err(e);
                }
                swapped.set(true);
                Ok(((), format!("{current} kept at {}", aside.display())))
            })?,
            None => {
                let npm_bin = crate::supervisor::tool(env, "npm")
                    .ok_or_else(|| anyhow::anyhow!("npm is not on PATH"))?;
                let npm = Npm::new(npm_bin, node.path.parent().map(PathBuf::from), None);
                let cmd = npm.install(
                    &prefix,
                    &format!("{PACKAGE}@{from}"),
                    Duration::from_secs(900),
                );
                rec.run(&format!("reinstall {from}"), |_| {
                    let out = cmd.run()?;
                    if !out.success() {
                        bail!(crate::npm::explain(&out));
                    }
                    swapped.set(true);
                    Ok(((), String::new()))
                })?
            }
        }
        for m in &members {
            let dir = backup_of(m);
            if dir.join("manifest.json").exists() {
                let b = backup::load(&dir)?;
                rec.run(&format!("restore {}", m.layout.state_dir.display()), |_| {
                    b.restore(&m.layout)?;
                    Ok((
                        (),
                        format!("{} entries from {}", b.manifest.entries.len(), entry.id),
                    ))
                })?;
            }
        }
        Ok(())
    };
    let mut undo = |rec: &mut Recorder| -> Result<()> {
        if swapped.get() && previous.is_some() {
            rec.run("undo: swap back", |_| {
                steps::rename(&root, previous.as_ref().expect("checked"))?;
                steps::rename(&aside, &root)?;
                Ok(((), String::new()))
            })?;
        } else if swapped.get() {
            bail!("the reinstall of {from} replaced {current}; reinstall it with `clawkit update --to {current}`");
        }
        Ok(())
    };
    let cli = OpenClaw::new(&node.path, &root);
    let outcome = steps::bracket(
        env,
        &mut rec,
        &members,
        &format!("{stamp}-before-rollback"),
        "before rollback",
        Duration::from_secs(args.timeout),
        Some(&from),
        Some(&cli),
        &mut change,
        &mut undo,
    );
    let name = match &outcome {
        steps::Bracketed::Done { .. } => "rolled-back",
        steps::Bracketed::Undone { .. } => "undone",
        steps::Bracketed::Failed { .. } => "failed",
    };
    let entry_out = Entry {
        schema: 1,
        id: format!("{stamp}-rollback-{current}-to-{from}"),
        command: "rollback".into(),
        started_at: humantime::format_rfc3339_seconds(started).to_string(),
        finished_at: Some(humantime::format_rfc3339_seconds(SystemTime::now()).to_string()),
        from: Some(current.to_string()),
        to: Some(from.to_string()),
        outcome: name.into(),
        phase: None,
        downtime_ms: None,
        duration_ms: started.elapsed().ok().map(|d| d.as_millis() as u64),
        steps: rec.steps.clone(),
        backup: match &outcome {
            steps::Bracketed::Done { safety }
            | steps::Bracketed::Undone { safety, .. }
            | steps::Bracketed::Failed { safety, .. } => safety.first().map(|b| b.dir.clone()),
        },
        previous_package: Some(aside.clone()),
        error: match &outcome {
            steps::Bracketed::Undone { error, .. } | steps::Bracketed::Failed { error, .. } => {
                Some(error.clone())
            }
            _ => None,
        },
    };
    let _ = journal::append(&journal::path(&snap.layout), &entry_out);
    super::backups::report(p, "rollback", outcome, rec)
}
