//! The update's changes: clean up and stage while the old gateway serves (nothing to undo: a
//! failure or a signal there is a refusal, exit 6), then the outage window inside one
//! transaction: stop → back up → swap → migrate → start → health gate → verify. Any error or
//! signal in the window undoes it all in reverse (exit 4).

use std::time::Duration;

use anyhow::{bail, Result};
use serde_json::Value;

use super::plan::{Mode, Plan, MIGRATE_DEADLINE};
use crate::backup;
use crate::env::Env;
use crate::exit::Failure;
use crate::install::PackageJson;
use crate::npm::{self, NPM_DEADLINE};
use crate::openclaw::OpenClaw;
use crate::printer::Printer;
use crate::rehearsal::Verdict;
use crate::signals::Interrupt;
use crate::steps::{self, Recorder};
use crate::txn::{Begin, Change, Finished, Scope, Txn};

/// What happened before the outage window, or the finished transaction.
pub enum Executed<'a> {
    /// Refused before anything was stopped (staging failed, the rehearsal failed, a signal, npm
    /// busy).
    Refused {
        failure: Failure,
        rec: Recorder<'a>,
        rehearsal: Option<Verdict>,
    },
    Done {
        fin: Box<Finished<'a>>,
        findings: Vec<Value>,
        rehearsal: Option<Verdict>,
    },
}

/// Removes what earlier runs left behind and stages the new release beside the old one.
fn prepare(
    env: &Env,
    plan: &Plan,
    rec: &mut Recorder,
    interrupt: &Interrupt,
) -> Result<(), Failure> {
    let _ = env;
    if !plan.leftovers.is_empty() || !plan.stale_work.is_empty() {
        if npm::running_on(&plan.prefix) {
            return Err(Failure::refused("an npm process is working on the prefix")
                .with_fix("wait for npm to finish, then retry"));
        }
        let all: Vec<_> = plan
            .stale_work
            .iter()
            .chain(&plan.leftovers)
            .cloned()
            .collect();
        rec.run("clean up earlier leftovers", |_| {
            for l in &all {
                steps::remove_tree(l)?;
            }
            Ok(((), format!("{} removed", all.len())))
        })
        .map_err(|e| Failure::refused(format!("{e:#}")))?;
    }
    if plan.mode != Mode::Staged {
        return Ok(());
    }
    let _ = steps::remove_tree(&plan.staging);
    let cmd = plan
        .npm
        .install(&plan.staging, &plan.spec, NPM_DEADLINE)
        .cancel_on(interrupt.flag());
    let staged = rec.run(&format!("stage {} (npm install)", plan.to), |_| {
        npm::run_install(&cmd)?;
        Ok(((), String::new()))
    });
    if let Err(e) = staged {
        let _ = steps::remove_tree(&plan.staging);
        let msg = format!("{e:#}");
        return Err(if interrupt.fired() {
            Failure::refused("interrupted while staging; nothing was changed")
        } else {
            Failure::refused(format!(
                "staging failed, the gateway was not touched: {msg}"
            ))
            .with_fix(if msg.contains("does not exist") {
                "check the version with: npm view openclaw versions --json"
            } else {
                "fix the cause above and retry"
            })
        });
    }
    let staged_root = plan.staged_root();
    let cli = OpenClaw::new(&plan.node.path, &staged_root, env);
    let to = plan.to.clone();
    rec.run("check the staged package", |_| {
        let pj =
            PackageJson::read(&staged_root.join("package.json")).map_err(anyhow::Error::msg)?;
        if pj.version.as_ref() != Some(&to) {
            bail!(
                "the staged package.json says {}, not {to}",
                pj.version.map_or("no version".into(), |v| v.to_string())
            );
        }
        let reported = cli.version()?;
        if reported != to {
            bail!("the staged `openclaw --version` says {reported}, not {to}");
        }
        Ok(((), format!("openclaw --version = {reported}")))
    })
    .map_err(|e| {
        let _ = steps::remove_tree(&plan.staging);
        Failure::refused(format!("the staged package is not {}: {e:#}", plan.to))
            .with_fix("retry; if it persists, the registry served an unexpected package")
    })?;
    if interrupt.fired() {
        let _ = steps::remove_tree(&plan.staging);
        return Err(Failure::refused(
            "interrupted before the gateway was stopped; nothing was changed",
        ));
    }
    // Staging takes a while: someone may have run `npm install -g openclaw` meanwhile.
    if let Err(why) = install_unchanged(plan) {
        let _ = steps::remove_tree(&plan.staging);
        return Err(Failure::refused(format!("{why}; the gateway was not touched")).with_fix(
            "let it finish and check `clawkit status` (the gateway may now be behind the CLI), then run clawkit update again",
        ));
    }
    Ok(())
}

/// The install is still what the plan saw, and no npm is working on it.
fn install_unchanged(plan: &Plan) -> Result<(), String> {
    if let Some(npm) = npm::writer_on(&plan.prefix) {
        return Err(format!(
            "an npm process started working on {} during the update ({npm})",
            plan.prefix.display()
        ));
    }
    let now = PackageJson::read(&plan.root.join("package.json"))
        .ok()
        .and_then(|p| p.version);
    if now != plan.from {
        return Err(format!(
            "the installed OpenClaw changed during the update ({} → {}): something else installed it",
            plan.from.as_ref().map_or("none".into(), |v| v.to_string()),
            now.map_or("none".into(), |v| v.to_string())
        ));
    }
    Ok(())
}

pub fn execute<'a>(env: &'a Env, plan: &Plan, p: &'a Printer) -> Result<Executed<'a>> {
    let interrupt = Interrupt::install();
    let mut rec = Recorder::new(p);
    if let Err(failure) = prepare(env, plan, &mut rec, &interrupt) {
        return Ok(Executed::Refused {
            failure,
            rec,
            rehearsal: None,
        });
    }
    // The rehearsal, while the old gateway still serves.
    let rehearsal = match &plan.rehearsal {
        Ok(()) => Some(crate::rehearsal::rehearse(
            env,
            &mut rec,
            &crate::rehearsal::Job {
                cli: &plan.rehearsal_cli(env),
                members: &plan.members,
                to: &plan.to,
                id: &plan.id,
                timeout: plan.timeout,
            },
            &interrupt,
        )),
        Err(why) => {
            rec.skip("rehearse", why);
            None
        }
    };
    if let Some(Verdict::Failed {
        step,
        profile,
        error,
        log_tail,
    }) = &rehearsal
    {
        let _ = steps::remove_tree(&plan.staging);
        let failure = if interrupt.fired() {
            Failure::refused("interrupted while rehearsing; nothing was changed")
        } else {
            Failure::refused(format!(
                "the rehearsal of OpenClaw {} failed ({step}, profile {profile}): {}; the gateway was never stopped{}",
                plan.to,
                error.lines().next().unwrap_or(""),
                if log_tail.is_empty() {
                    String::new()
                } else {
                    format!("\n  last lines:\n{}", crate::exec::indent(log_tail))
                }
            ))
            .with_fix(format!(
                "stay on {} (nothing was changed) and report the release; `--no-rehearsal` skips this check",
                plan.from
                    .as_ref()
                    .map_or("the current version".into(), |v| v.to_string())
            ))
        };
        return Ok(Executed::Refused {
            failure,
            rec,
            rehearsal,
        });
    }
    let skip_migration = rehearsal
        .as_ref()
        .is_some_and(Verdict::nothing_to_migrate)
        .then(|| "the rehearsal showed the migration changes nothing".to_string());
    let previous_package =
        (plan.mode == Mode::Staged && plan.from.is_some()).then(|| plan.aside.clone());
    let mut txn = Txn::begin(
        env,
        p,
        plan.members.clone(),
        Begin {
            scope: Scope::Install(plan.prefix.clone()),
            id: plan.id.clone(),
            command: "update",
            from: plan.from.clone(),
            to: Some(plan.to.clone()),
            node: Some(plan.node.path.clone()),
            root: Some(plan.root.clone()),
            previous_package,
        },
    )?;
    if !plan.members.iter().any(|m| m.was_running) {
        txn.journals_add(plan.journal.clone());
    }
    // The staging steps belong to the report too.
    let staged_steps = std::mem::take(&mut rec.steps);
    txn.rec.steps = staged_steps;
    let mut findings = Vec::new();
    let result = forward(
        env,
        plan,
        &mut txn,
        &mut findings,
        skip_migration.as_deref(),
    );
    let outcome_ok = if plan.mode == Mode::RestartOnly {
        "restarted"
    } else {
        "updated"
    };
    let fin = txn.finish(result, outcome_ok, "rolled-back");
    if matches!(fin.ended, crate::txn::Ended::Committed) {
        commit_cleanup(plan);
    } else {
        let _ = steps::remove_tree(&plan.staging);
    }
    Ok(Executed::Done {
        fin: Box::new(fin),
        findings,
        rehearsal,
    })
}

/// The outage window, inside the transaction.
fn forward(
    env: &Env,
    plan: &Plan,
    txn: &mut Txn,
    findings: &mut Vec<Value>,
    skip_migration: Option<&str>,
) -> Result<()> {
    txn.stop_all()?;
    let backups = txn.backup_all(&plan.id, "update", plan.from.as_ref(), Some(&plan.to))?;
    txn.check()?;

    // Someone else may have touched the install since (a plain `npm install -g`): check again
    // right before the swap.
    if plan.mode != Mode::RestartOnly {
        install_unchanged(plan).map_err(anyhow::Error::msg)?;
    }

    match plan.mode {
        Mode::Staged => {
            let staged = plan.staged_root();
            let had_old = plan.root.exists();
            let aside = had_old.then(|| plan.aside.clone());
            let change = Change::Swap {
                prefix: plan.prefix.clone(),
                root: plan.root.clone(),
                aside: aside.clone(),
                parked: Plan::work_dir(&plan.prefix).join(format!("failed-{}", plan.id)),
                keep_parked: false,
                old: plan.from.clone(),
                new: plan.to.clone(),
            };
            let (root, prefix) = (plan.root.clone(), plan.prefix.clone());
            txn.apply(change, "swap packages", |_| {
                if let Some(a) = &aside {
                    steps::rename(&root, a)?;
                }
                steps::rename(&staged, &root)?;
                let linked = steps::link_bin(&prefix, &steps::bin_entry(&root))?;
                Ok((
                    (),
                    match &aside {
                        Some(a) => format!("previous kept at {}", a.display()),
                        None => "installed".into(),
                    } + &linked.map(|l| format!("; {l}")).unwrap_or_default(),
                ))
            })?;
        }
        Mode::InPlace => {
            let cmd = plan.npm.install(&plan.prefix, &plan.spec, NPM_DEADLINE);
            txn.apply(
                Change::Reinstall {
                    prefix: plan.prefix.clone(),
                    old: plan.from.clone(),
                    new: plan.to.clone(),
                    npm: plan.npm.bin.clone(),
                    registry: plan.npm.registry.clone(),
                },
                &format!("install {} in place", plan.to),
                |_| {
                    npm::run_install(&cmd)?;
                    Ok(((), String::new()))
                },
            )?;
        }
        Mode::RestartOnly => {}
    }

    let cli = plan.new_cli(env);
    // A downgrade cannot migrate state backwards: restore the state this version last ran
    // with, from the backup of the update that left it, when there is one.
    let downgrade = plan.from.as_ref().is_some_and(|f| &plan.to < f);
    let mut restored_old_state = false;
    if downgrade {
        for (i, m) in plan.members.iter().enumerate() {
            let matching = backup::list(&m.layout).into_iter().find(|b| {
                b.manifest.from.as_ref() == Some(&plan.to) && b.manifest.reason == "update"
            });
            match matching {
                Some(b) => {
                    let id = b.manifest.id.clone();
                    let layout = m.layout.clone();
                    txn.change_state(
                        i,
                        &backups[i].dir,
                        &format!("restored the {} state", plan.to),
                        &format!("restore the {} state (backup {id})", plan.to),
                        |_| {
                            b.restore(&layout)?;
                            Ok(((), format!("{} entries", b.manifest.entries.len())))
                        },
                    )?;
                    restored_old_state = true;
                }
                None => txn.rec.skip(
                    "restore older state",
                    &format!(
                        "no backup from an update away from {}; the state stays as it is",
                        plan.to
                    ),
                ),
            }
        }
    }
    match &plan.migrate {
        _ if restored_old_state => txn
            .rec
            .skip("migrate", "the state of the older release was restored"),
        Ok(()) if skip_migration.is_some() => {
            txn.rec.skip("migrate", skip_migration.unwrap_or_default())
        }
        Ok(()) => {
            let help = cli.doctor_help().unwrap_or_default();
            if help.contains("--fix") && help.contains("--non-interactive") {
                for (i, m) in plan.members.iter().enumerate() {
                    let cmd = cli
                        .doctor_fix(&m.layout, MIGRATE_DEADLINE)
                        .cancel_on(txn.cancel_flag());
                    txn.change_state(
                        i,
                        &backups[i].dir,
                        "migrated by openclaw doctor --fix",
                        &format!("migrate {} (openclaw doctor --fix)", m.profile_name()),
                        |_| {
                            let out = cmd.run()?;
                            if !out.success() {
                                bail!(
                                    "`openclaw doctor --fix --non-interactive` failed ({}):\n{}",
                                    crate::exec::describe_code(out.code),
                                    crate::exec::indent(&out.tail(10))
                                );
                            }
                            Ok(((), String::new()))
                        },
                    )?;
                }
            } else {
                txn.rec.skip(
                    "migrate",
                    "this release's doctor has no --fix --non-interactive",
                );
            }
        }
        Err(why) => txn.rec.skip("migrate", why),
    }
    txn.start_all(|m| m.restart, plan.timeout)?;
    let to = plan.to.clone();
    let cli2 = cli.clone();
    txn.check()?;
    txn.rec.run("verify CLI version", |_| {
        let cli_v = cli2.version()?;
        if cli_v != to {
            bail!("`openclaw --version` says {cli_v}, expected {to}");
        }
        Ok(((), format!("openclaw --version = {cli_v}")))
    })?;
    txn.verify_all(|m| m.restart, Some(&cli), Some(&plan.to))?;
    txn.verified();

    // After the verification: OpenClaw's own lint, reported, never undone.
    let lint = plan.starts_any() && cli.doctor_help().unwrap_or_default().contains("--lint");
    if plan.starts_any() && !lint {
        txn.rec
            .skip("doctor --lint", "not supported by this release");
    }
    if lint {
        for m in plan.members.iter().filter(|m| m.restart) {
            let cmd = cli.doctor_lint(&m.layout, m.port, Duration::from_secs(120));
            let r = txn.rec.run("doctor --lint", |_| {
                let out = cmd.run()?;
                let f = crate::openclaw::lint_findings(&out);
                let detail = if f.is_empty() {
                    "no errors".to_string()
                } else {
                    format!("{} finding(s), see the report", f.len())
                };
                Ok((f, detail))
            });
            if let Ok(f) = r {
                findings.extend(f.into_iter().map(|mut v| {
                    if let Some(o) = v.as_object_mut() {
                        o.insert("source".into(), Value::from("openclaw doctor"));
                    }
                    v
                }));
            }
        }
    }
    Ok(())
}

/// After a committed update: the staging dir goes, and only the newest `keep` previous packages
/// stay for instant rollback.
fn commit_cleanup(plan: &Plan) {
    let _ = steps::remove_tree(&plan.staging);
    let prev_dir = Plan::work_dir(&plan.prefix).join("previous");
    if let Ok(rd) = std::fs::read_dir(&prev_dir) {
        let mut dirs: Vec<std::path::PathBuf> = rd.flatten().map(|e| e.path()).collect();
        dirs.sort_by_key(|d| std::fs::metadata(d).and_then(|m| m.modified()).ok());
        let excess = dirs.len().saturating_sub(plan.keep);
        for d in dirs.into_iter().take(excess) {
            let _ = steps::remove_tree(&d);
        }
    }
}
