//! The one transaction every mutating command runs in (`update`, `rollback`, `repair pairing`,
//! `repair lock`, `reset devices`, `backups restore`).
//!
//! Each change is written to the undo log *before* it is made (`inflight.json`, mode 0600,
//! fsynced), marked done after, and undone in reverse on an error or a signal. `commit()` ends
//! it. The log outlives a killed clawkit: the next mutating command (or `clawkit resume`) reads it
//! and finishes the undo, with the safety rules of [`resume`]. Undoing a `Stop` starts the
//! gateway again, and it is the first change of every outage, so its undo runs last: a gateway
//! is never left stopped.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Result};
use serde::Serialize;

use crate::backup::{self, Backup};
use crate::env::Env;
use crate::exit::{Exit, Failure};
use crate::gateway;
use crate::install::PackageJson;
use crate::journal::{self, Entry};
use crate::member::Member;
use crate::openclaw::OpenClaw;
use crate::printer::Printer;
use crate::proc;
pub use crate::record::{Change, Logged, Pending, Record, RemovedFile, SavedMember, Scope};
use crate::signals::Interrupt;
use crate::steps::{self, Recorder};
use crate::supervisor::{self, Kind};
use crate::version::Version;

/// How long an undo waits for a gateway to become healthy again. Not `--timeout`: that one is
/// for the new release; the old one gets what it needs to come back.
pub const UNDO_HEALTH_DEADLINE: Duration = Duration::from_secs(180);

/// How long `resume` waits for a gateway that the interrupted operation had started and that is
/// still booting, before judging whether the operation can be finished forward.
pub const RESUME_BOOT_WAIT: Duration = Duration::from_secs(90);

/// A transaction's state while clawkit runs it.
pub struct Txn<'a> {
    pub env: &'a Env,
    pub rec: Recorder<'a>,
    pub members: Vec<Member>,
    pub record: Record,
    path: PathBuf,
    interrupt: Interrupt,
    started: Instant,
    outage_start: Option<Instant>,
    /// From the first stop to the last healthy start.
    pub outage_ms: Option<u64>,
    /// Set by [`Txn::verified`]: from then on, nothing is undone.
    committed_forward: bool,
    /// Step boundaries passed so far (for the crash-point tests).
    boundaries: u32,
}

/// How a transaction ended.
#[derive(Debug)]
pub enum Ended {
    /// Every change made and verified.
    Committed,
    /// Something failed (or a signal came); every change was undone and the previous state
    /// verified.
    Undone { error: String },
    /// Something failed and the undo failed too; the record stays for `clawkit resume`.
    Failed { error: String, manual: String },
}

impl Ended {
    pub fn exit(&self) -> Exit {
        match self {
            Ended::Committed => Exit::Ok,
            Ended::Undone { .. } => Exit::RolledBack,
            Ended::Failed { .. } => Exit::Attention,
        }
    }
}

/// The error a forward step returns when a signal arrived: the transaction undoes.
#[derive(Debug)]
pub struct Interrupted(pub &'static str);

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "interrupted by {}", self.0)
    }
}

impl std::error::Error for Interrupted {}

/// What a new transaction is about.
pub struct Begin {
    pub scope: Scope,
    pub id: String,
    pub command: &'static str,
    pub from: Option<Version>,
    pub to: Option<Version>,
    pub node: Option<PathBuf>,
    pub root: Option<PathBuf>,
    pub previous_package: Option<PathBuf>,
}

impl<'a> Txn<'a> {
    /// Writes the (empty) undo log, then hands out the transaction. Refuses (exit 6) when the log
    /// cannot be written: nothing has changed yet.
    pub fn begin(
        env: &'a Env,
        printer: &'a Printer,
        members: Vec<Member>,
        b: Begin,
    ) -> Result<Txn<'a>> {
        let path = b.scope.record_path();
        let mut journals: Vec<PathBuf> = members.iter().map(|m| journal::path(&m.layout)).collect();
        journals.dedup();
        let record = Record {
            schema: 1,
            id: b.id,
            command: b.command.to_string(),
            pid: std::process::id(),
            started_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            from: b.from,
            to: b.to,
            node: b.node,
            root: b.root,
            versions_before: members.iter().map(|m| m.gateway.version.clone()).collect(),
            members: members.iter().map(SavedMember::from_member).collect(),
            changes: Vec::new(),
            forward_done: false,
            fingerprints: vec![None; members.len()],
            journals,
            previous_package: b.previous_package,
        };
        record.write(&path).map_err(|e| {
            anyhow::Error::from(
                Failure::refused(format!("cannot write the transaction record: {e:#}"))
                    .with_fix("check that the state dir (or npm prefix) is writable and not full"),
            )
        })?;
        let interrupt = Interrupt::install();
        let txn = Txn {
            env,
            rec: Recorder::new(printer),
            members,
            record,
            path,
            interrupt,
            started: Instant::now(),
            outage_start: None,
            outage_ms: None,
            committed_forward: false,
            boundaries: 0,
        };
        txn.journal("in-progress", None);
        txn.interrupt
            .set_note(Some(txn.record.left_behind(&txn.path)));
        Ok(txn)
    }

    /// Also write the journal entry here (an operation with no gateway member).
    pub fn journals_add(&mut self, journal: PathBuf) {
        if !self.record.journals.contains(&journal) {
            self.record.journals.push(journal);
            let _ = self.persist();
        }
    }

    pub fn id(&self) -> &str {
        &self.record.id
    }

    pub fn printer(&self) -> &Printer {
        self.rec.printer
    }

    pub fn record_path(&self) -> &Path {
        &self.path
    }

    fn persist(&mut self) -> Result<()> {
        self.record.write(&self.path)?;
        self.interrupt
            .set_note(Some(self.record.left_behind(&self.path)));
        Ok(())
    }

    /// Returns an error when a signal arrived (forward steps call this between changes).
    pub fn check(&self) -> Result<()> {
        if self.interrupt.fired() {
            return Err(Interrupted(self.interrupt.which().unwrap_or("a signal")).into());
        }
        Ok(())
    }

    /// The cancel flag for children of forward steps that may be cut short (the undo restores
    /// what they touched).
    pub fn cancel_flag(&self) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
        self.interrupt.flag()
    }

    fn log(&mut self, change: Change) -> Result<usize> {
        self.record.changes.push(Logged {
            change,
            done: false,
            undone: false,
        });
        self.persist()?;
        self.boundary();
        Ok(self.record.changes.len() - 1)
    }

    /// A step boundary: the record is on disk. The crash-point tests stop clawkit here
    /// (`CLAWKIT_TEST_FAULT=sigint@N` or `sigkill@N`: at the N-th boundary, counted from 1).
    fn boundary(&mut self) {
        self.boundaries += 1;
        let Some(spec) = self.env.get("CLAWKIT_TEST_FAULT") else {
            return;
        };
        let Some((sig, n)) = spec.split_once('@') else {
            return;
        };
        if n.parse::<u32>().ok() != Some(self.boundaries) {
            return;
        }
        let sig = match sig {
            "sigint" => nix::sys::signal::Signal::SIGINT,
            "sighup" => nix::sys::signal::Signal::SIGHUP,
            "sigterm" => nix::sys::signal::Signal::SIGTERM,
            "sigkill" => nix::sys::signal::Signal::SIGKILL,
            _ => return,
        };
        let _ = nix::sys::signal::raise(sig);
        // Wait until the signal thread has set the flag the next check reads: a fixed 50 ms
        // pause was too short on a loaded machine (a SIGINT at "start done" let a repair
        // commit in a CI-like run).
        let until = Instant::now() + Duration::from_secs(10);
        while !self.interrupt.fired() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn done(&mut self, i: usize) {
        self.record.changes[i].done = true;
        // Fingerprint the states this change could have touched (gateways are stopped).
        let members: Vec<usize> = match &self.record.changes[i].change {
            Change::State { member, .. } | Change::Backup { member, .. } => vec![*member],
            Change::Stop { member } => vec![*member],
            _ => vec![],
        };
        for m in members {
            if let Some(layout) = self.members.get(m).map(|m| m.layout.clone()) {
                self.record.fingerprints[m] = backup::fingerprint(&layout).ok();
            }
        }
        if let Err(e) = self.persist() {
            self.rec.printer.alert(format!(
                "warning: cannot update the transaction record: {e:#}"
            ));
        }
        self.boundary();
    }

    /// Runs one change: logged before, marked done after (its undo then applies either way).
    pub fn apply<T>(
        &mut self,
        change: Change,
        name: &str,
        f: impl FnOnce(&crate::printer::StepLine) -> Result<(T, String)>,
    ) -> Result<T> {
        self.check()?;
        let i = self.log(change)?;
        let out = self.rec.run(name, f)?;
        self.done(i);
        Ok(out)
    }

    // --- the common forward steps ---------------------------------------------------------

    /// Stops every member that runs (or whose service is active) and proves it stopped.
    pub fn stop_all(&mut self) -> Result<()> {
        for i in 0..self.members.len() {
            let m = self.members[i].clone();
            if !m.needs_stop() {
                continue;
            }
            if self.outage_start.is_none() && m.was_running {
                self.outage_start = Some(Instant::now());
            }
            let env = self.env;
            // The stop itself is never cut short: half-stopped is the one state to avoid.
            let i_log = self.log(Change::Stop { member: i })?;
            self.rec.run(&format!("stop {}", m.label()), |_| {
                Ok(((), steps::stop(env, &m, m.stop_deadline)?))
            })?;
            self.done(i_log);
        }
        Ok(())
    }

    /// A safety backup of every member's state.
    pub fn backup_all(
        &mut self,
        id: &str,
        reason: &str,
        from: Option<&Version>,
        to: Option<&Version>,
    ) -> Result<Vec<Backup>> {
        let mut out = Vec::new();
        for i in 0..self.members.len() {
            let layout = self.members[i].layout.clone();
            let dir = backup::backups_dir(&layout).join(id);
            let b = self.apply(
                Change::Backup {
                    member: i,
                    dir: dir.clone(),
                },
                &format!("back up {}", layout.state_dir.display()),
                |_| {
                    let b = backup::create(&layout, id, reason, from.cloned(), to.cloned())?;
                    let detail = format!(
                        "{} files, {} KB → {}",
                        b.manifest.entries.len(),
                        b.manifest.total_size() / 1024,
                        b.dir.display()
                    );
                    Ok((b, detail))
                },
            )?;
            out.push(b);
        }
        Ok(out)
    }

    /// Changes member `i`'s state with `f`; the undo restores `backup`.
    pub fn change_state<T>(
        &mut self,
        i: usize,
        backup: &Path,
        what: &str,
        name: &str,
        f: impl FnOnce(&crate::printer::StepLine) -> Result<(T, String)>,
    ) -> Result<T> {
        self.apply(
            Change::State {
                member: i,
                backup: backup.to_path_buf(),
                what: what.to_string(),
                links: backup::outside_links(&self.members[i].layout),
                unit: self.members[i]
                    .supervisor
                    .file
                    .as_deref()
                    .filter(|_| {
                        matches!(
                            self.members[i].supervisor.kind,
                            Kind::Systemd | Kind::Launchd
                        )
                    })
                    .and_then(RemovedFile::read),
            },
            name,
            f,
        )
    }

    /// Starts the members for which `which` holds and waits until each is healthy.
    pub fn start_all(&mut self, which: impl Fn(&Member) -> bool, timeout: Duration) -> Result<()> {
        for i in 0..self.members.len() {
            let m = self.members[i].clone();
            if !which(&m) {
                continue;
            }
            self.check()?;
            let log_i = self.log(Change::Start {
                member: i,
                pid: None,
            })?;
            let env = self.env;
            let spawned = self.rec.run(&format!("start {}", m.label()), |_| {
                let pid = steps::start(env, &m)?;
                let detail = pid.map_or(format!("via {}", m.supervisor.kind.as_str()), |p| {
                    format!("pid {p}")
                });
                Ok((pid, detail))
            })?;
            if let Change::Start { pid, .. } = &mut self.record.changes[log_i].change {
                *pid = spawned;
            }
            self.persist()?;
            let cancel = self.cancel_flag();
            self.rec.run("health gate", |line| {
                Ok((
                    (),
                    steps::health_gate(self.env, &m, timeout, spawned, line, Some(&cancel))?,
                ))
            })?;
            self.done(log_i);
        }
        if let Some(t) = self.outage_start {
            self.outage_ms = Some(t.elapsed().as_millis() as u64);
        }
        Ok(())
    }

    /// Checks that every member for which `which` holds reports `want`.
    pub fn verify_all(
        &mut self,
        which: impl Fn(&Member) -> bool,
        cli: Option<&OpenClaw>,
        want: Option<&Version>,
    ) -> Result<()> {
        let members: Vec<Member> = self.members.iter().filter(|m| which(m)).cloned().collect();
        for m in members {
            self.check()?;
            self.rec.run(&format!("verify {}", m.label()), |_| {
                Ok(((), steps::verify_version(&m, cli, want)?))
            })?;
        }
        Ok(())
    }

    /// Every forward step is done and verified: from now on the transaction only commits, even
    /// after a signal or a kill (`resume` finishes it forward).
    pub fn verified(&mut self) {
        self.committed_forward = true;
        self.record.forward_done = true;
        if let Err(e) = self.persist() {
            self.rec.printer.alert(format!(
                "warning: cannot update the transaction record: {e:#}"
            ));
        }
        self.interrupt.set_note(None);
        self.boundary();
    }

    pub fn outage_started(&self) -> bool {
        self.outage_start.is_some()
    }

    /// Ends the transaction: the record goes, the journal says `outcome`.
    pub fn commit(mut self, outcome: &str) -> Finished<'a> {
        self.interrupt.set_note(None);
        if self.outage_ms.is_none() {
            self.outage_ms = self.outage_start.map(|t| t.elapsed().as_millis() as u64);
        }
        let _ = std::fs::remove_file(&self.path);
        self.journal(outcome, None);
        Finished {
            rec: self.rec,
            ended: Ended::Committed,
            outage_ms: self.outage_ms,
            duration_ms: self.started.elapsed().as_millis() as u64,
            members: self.members,
            record: self.record,
        }
    }

    /// Ends on `error`: undoes every change in reverse (unless the forward path was already
    /// verified, which commits instead).
    pub fn fail(mut self, error: anyhow::Error, outcome_undone: &str) -> Finished<'a> {
        let mut error_text = format!("{error:#}");
        if let (Some(sig), false) = (
            self.interrupt.which(),
            error.downcast_ref::<Interrupted>().is_some(),
        ) {
            error_text = format!("interrupted by {sig}: {error_text}");
        }
        if self.committed_forward {
            // Only post-verification extras failed: the operation itself succeeded.
            return self.commit("done");
        }
        let p = self.rec.printer;
        p.alert(format!(
            "{} {}",
            p.paint(crate::printer::RED, "failed:"),
            error_text.lines().next().unwrap_or("")
        ));
        if self.record.changes.is_empty() {
            let _ = std::fs::remove_file(&self.path);
            self.journal("refused", Some(error_text.clone()));
            return Finished {
                rec: self.rec,
                ended: Ended::Undone { error: error_text },
                outage_ms: None,
                duration_ms: self.started.elapsed().as_millis() as u64,
                members: self.members,
                record: self.record,
            };
        }
        self.journal("undoing", Some(error_text.clone()));
        let undo = undo_all(
            self.env,
            &mut self.rec,
            &self.members,
            &mut self.record,
            &self.path,
            Some(&self.interrupt),
        );
        if let Some(t) = self.outage_start {
            self.outage_ms = Some(t.elapsed().as_millis() as u64);
        }
        self.interrupt.set_note(None);
        let ended = match undo {
            Ok(()) => {
                let _ = std::fs::remove_file(&self.path);
                self.journal(outcome_undone, Some(error_text.clone()));
                Ended::Undone { error: error_text }
            }
            Err(e) => {
                let done = undone_summary(&self.record);
                let error = if done.is_empty() {
                    format!("{error_text}; undoing it failed too: {e:#}")
                } else {
                    format!(
                        "{error_text}; the undo {}, then failed: {e:#}",
                        done.join(", ")
                    )
                };
                let manual = manual_steps(&self.record, &self.path);
                self.journal("failed", Some(error.clone()));
                Ended::Failed { error, manual }
            }
        };
        Finished {
            rec: self.rec,
            ended,
            outage_ms: self.outage_ms,
            duration_ms: self.started.elapsed().as_millis() as u64,
            members: self.members,
            record: self.record,
        }
    }

    fn journal(&self, outcome: &str, error: Option<String>) {
        write_journal(
            &self.record,
            &self.rec.steps,
            outcome,
            error,
            self.outage_ms,
            Some(self.started.elapsed().as_millis() as u64),
            self.rec.printer,
        );
    }

    /// Ends with `result`: commit on `Ok`, undo on `Err`. A signal that arrived before the
    /// forward path was verified undoes it, even when the last change went through.
    pub fn finish(
        self,
        result: Result<()>,
        outcome_ok: &str,
        outcome_undone: &str,
    ) -> Finished<'a> {
        let result = result.and_then(|()| {
            if self.committed_forward {
                Ok(())
            } else {
                self.check()
            }
        });
        match result {
            Ok(()) => self.commit(outcome_ok),
            Err(e) => self.fail(e, outcome_undone),
        }
    }
}

/// A finished transaction: its steps, how it ended, the outage.
pub struct Finished<'a> {
    pub rec: Recorder<'a>,
    pub ended: Ended,
    pub outage_ms: Option<u64>,
    pub duration_ms: u64,
    pub members: Vec<Member>,
    pub record: Record,
}

fn write_journal(
    r: &Record,
    steps: &[crate::journal::StepRecord],
    outcome: &str,
    error: Option<String>,
    downtime_ms: Option<u64>,
    duration_ms: Option<u64>,
    p: &Printer,
) {
    let finished = !matches!(outcome, "in-progress" | "undoing");
    let entry = Entry {
        schema: 1,
        id: r.id.clone(),
        command: r.command.clone(),
        started_at: r.started_at.clone(),
        finished_at: finished
            .then(|| humantime::format_rfc3339_seconds(SystemTime::now()).to_string()),
        from: r.from.clone(),
        to: r.to.clone(),
        outcome: outcome.into(),
        phase: (!finished).then(|| outcome.to_string()),
        downtime_ms,
        duration_ms: if finished { duration_ms } else { None },
        steps: steps.to_vec(),
        backup: r.changes.iter().find_map(|l| match &l.change {
            Change::Backup { dir, .. } => Some(dir.clone()),
            _ => None,
        }),
        previous_package: r.previous_package.clone(),
        error,
    };
    for j in &r.journals {
        if let Err(e) = journal::append(j, &entry) {
            p.alert(format!("warning: {e:#}"));
        }
    }
}

/// What an interrupted undo did achieve, in words.
fn undone_summary(r: &Record) -> Vec<String> {
    r.changes
        .iter()
        .rev()
        .filter(|l| l.undone)
        .filter_map(|l| match &l.change {
            Change::State { backup, .. } => {
                Some(format!("restored the state from {}", backup.display()))
            }
            Change::Swap { old, .. } | Change::Reinstall { old, .. } => Some(format!(
                "put back OpenClaw {}",
                old.as_ref().map_or("(none)".into(), |v| v.to_string())
            )),
            Change::Removed { .. } => Some("put the removed files back".into()),
            _ => None,
        })
        .collect()
}

/// The manual way back, when an undo failed.
pub fn manual_steps(r: &Record, path: &Path) -> String {
    let mut s = vec![format!(
        "run `clawkit resume` (it retries the undo from {})",
        path.display()
    )];
    for l in r.changes.iter().rev().filter(|l| !l.undone) {
        match &l.change {
            Change::Swap {
                root,
                aside: Some(a),
                ..
            } => s.push(format!(
                "or by hand: mv {} {}.failed && mv {} {}",
                root.display(),
                root.display(),
                a.display(),
                root.display()
            )),
            Change::State { backup, .. } => {
                let id = backup
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                s.push(format!(
                    "restore the state from {} (clawkit backups restore {id})",
                    backup.display()
                ));
            }
            _ => {}
        }
    }
    s.push(
        "start the gateway (openclaw gateway run, or systemctl --user start openclaw-gateway)"
            .into(),
    );
    s.dedup();
    s.join("; then ")
}

// ---------------------------------------------------------------------------------------------
// Undo

fn undo_one(
    env: &Env,
    rec: &mut Recorder,
    members: &[Member],
    r: &Record,
    change: &Change,
) -> Result<()> {
    match change {
        Change::Start { member, pid } => {
            let m = &members[*member];
            // The pid clawkit spawned may still be booting without listening: stop it too.
            if let Some(pid) = pid.filter(|p| proc::alive(*p)) {
                rec.run(
                    &format!("undo: stop the started gateway (pid {pid})"),
                    |_| {
                        let pgid = nix::unistd::Pid::from_raw(pid as i32);
                        let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGTERM);
                        if !crate::supervisor::wait_until(Instant::now() + m.stop_deadline, || {
                            !proc::alive(pid)
                        }) {
                            let _ =
                                nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
                        }
                        Ok(((), String::new()))
                    },
                )?;
            }
            steps::stop_current(env, rec, m, "undo: ")?;
        }
        Change::State {
            member,
            backup,
            unit,
            links,
            ..
        } => {
            let m = &members[*member];
            // Something may still run on the state (a migration a killed clawkit left behind).
            steps::end_orphans(rec, &m.layout, "undo: ")?;
            steps::stop_current(env, rec, m, "undo: ")?;
            let b = backup::load(backup)?;
            rec.run(
                &format!("undo: restore {}", m.layout.state_dir.display()),
                |_| {
                    b.restore_through(&m.layout, links)?;
                    Ok((
                        (),
                        format!("{} entries byte-identical", b.manifest.entries.len()),
                    ))
                },
            )?;
            if let Some(unit) = unit
                .as_ref()
                .filter(|u| RemovedFile::read(&u.path).as_ref() != Some(u))
            {
                rec.run(
                    &format!(
                        "undo: restore the service definition {}",
                        unit.path.display()
                    ),
                    |_| {
                        unit.write_back()?;
                        let mut detail =
                            "rewritten by the migration; put back as it was".to_string();
                        if m.supervisor.kind == Kind::Systemd {
                            // A failing reload is reported; it does not fail the undo (the
                            // start below still gets a chance).
                            let reload = supervisor::systemd::daemon_reload(env)
                                .and_then(|c| c.run_ok().map(|_| ()));
                            if let Err(e) = reload {
                                detail.push_str(&format!(
                                    "; daemon-reload failed ({e:#}): run `systemctl --user daemon-reload`"
                                ));
                            }
                        }
                        Ok(((), detail))
                    },
                )?;
            }
        }
        Change::Swap {
            prefix,
            root,
            aside,
            parked,
            keep_parked,
            old,
            ..
        } => {
            for m in members {
                steps::stop_current(env, rec, m, "undo: ")?;
            }
            let installed = PackageJson::read(&root.join("package.json"))
                .ok()
                .and_then(|p| p.version);
            let aside_there = aside
                .as_ref()
                .is_some_and(|a| a.join("package.json").exists());
            if installed.as_ref() == old.as_ref() && (old.is_some() || !root.exists()) {
                return Ok(()); // already back
            }
            rec.run("undo: swap the previous package back", |_| {
                if root.exists() {
                    if parked.exists() {
                        if *keep_parked {
                            bail!("{} is in the way of the undo", parked.display());
                        }
                        steps::remove_tree(parked)?;
                    }
                    steps::rename(root, parked)?;
                }
                if let (Some(a), true) = (aside, aside_there) {
                    steps::rename(a, root)?;
                }
                if !keep_parked {
                    let _ = steps::remove_tree(parked);
                }
                Ok((
                    (),
                    format!(
                        "{} restored",
                        old.as_ref().map_or("none".into(), |v| v.to_string())
                    ),
                ))
            })?;
            if root.exists() {
                steps::link_bin(prefix, &steps::bin_entry(root))?;
            } else {
                let _ = std::fs::remove_file(prefix.join("bin/openclaw"));
            }
        }
        Change::Reinstall {
            prefix,
            old,
            npm,
            registry,
            ..
        } => {
            for m in members {
                steps::stop_current(env, rec, m, "undo: ")?;
            }
            let root = prefix.join("lib/node_modules/openclaw");
            let installed = PackageJson::read(&root.join("package.json"))
                .ok()
                .and_then(|p| p.version);
            if installed.as_ref() == old.as_ref() {
                return Ok(());
            }
            let Some(old) = old else {
                rec.run("undo: remove the installed package", |_| {
                    steps::remove_tree(&root)?;
                    let _ = std::fs::remove_file(prefix.join("bin/openclaw"));
                    Ok(((), String::new()))
                })?;
                return Ok(());
            };
            let npm = crate::npm::Npm::new(
                npm.clone(),
                r.node
                    .as_ref()
                    .and_then(|n| n.parent())
                    .map(Path::to_path_buf),
                registry.clone(),
                env,
            );
            let cmd = npm.install(prefix, &format!("openclaw@{old}"), crate::npm::NPM_DEADLINE);
            rec.run(&format!("undo: reinstall {old}"), |_| {
                crate::npm::run_install(&cmd)?;
                Ok(((), String::new()))
            })?;
        }
        Change::Removed { files } => {
            rec.run("undo: put the removed files back", |_| {
                for f in files {
                    if f.path.exists() {
                        continue;
                    }
                    f.write_back()?;
                }
                Ok(((), format!("{} file(s)", files.len())))
            })?;
        }
        Change::Backup { .. } => {}
        Change::Stop { member } => {
            let m = &members[*member];
            if !m.was_running && m.supervisor.active != Some(true) {
                return Ok(());
            }
            let want = r.versions_before.get(*member).cloned().flatten();
            let up_now = gateway::Startup::ready(m.port, Duration::from_millis(800)).0;
            // A gateway of this state dir already booting (started by an undo that a second
            // signal cut short): wait for that one instead of starting another on its port.
            let booting = (!up_now).then(|| booting_gateway(m)).flatten();
            let spawned = if up_now {
                None
            } else if let Some(pid) = booting {
                rec.run(&format!("undo: start {}", m.label()), |_| {
                    Ok((Some(pid), format!("already starting (pid {pid})")))
                })?
            } else {
                rec.run(&format!("undo: start {}", m.label()), |_| {
                    let pid = steps::start(env, m)?;
                    Ok((pid, pid.map_or(String::new(), |p| format!("pid {p}"))))
                })?
            };
            rec.run("undo: health gate", |line| {
                Ok((
                    (),
                    steps::health_gate(env, m, UNDO_HEALTH_DEADLINE, spawned, line, None)?,
                ))
            })?;
            let cli = match (&r.node, &r.root) {
                (Some(n), Some(root)) if root.join("package.json").exists() => {
                    Some(OpenClaw::new(n, root, env))
                }
                _ => None,
            };
            rec.run(&format!("undo: verify {}", m.label()), |_| {
                Ok(((), steps::verify_version(m, cli.as_ref(), want.as_ref())?))
            })?;
        }
    }
    Ok(())
}

/// The pid of `m`'s own gateway when it is listening on its port but not ready yet: the live
/// owner of its state dir's lock, which the port's listener is (or descends from).
fn booting_gateway(m: &Member) -> Option<u32> {
    let gw = gateway::probe(&m.layout, m.port, None);
    if gw.state != gateway::State::Starting {
        return None;
    }
    let listener = proc::listener_pid(m.port)?;
    gw.locks
        .iter()
        .filter(|l| !l.stale && l.port.is_none_or(|p| p == m.port))
        .filter_map(|l| l.pid)
        .find(|p| proc::alive(*p) && proc::descends_from(listener, *p))
}

/// Undoes every change not undone yet, newest first. Stops at the first undo that fails (later
/// ones would act on an inconsistent install); the record keeps what is left, and so does
/// `interrupt`'s note (what a second signal reports as left behind).
fn undo_all(
    env: &Env,
    rec: &mut Recorder,
    members: &[Member],
    r: &mut Record,
    path: &Path,
    interrupt: Option<&Interrupt>,
) -> Result<()> {
    for i in (0..r.changes.len()).rev() {
        if r.changes[i].undone {
            continue;
        }
        let change = r.changes[i].change.clone();
        let result = undo_one(env, rec, members, r, &change);
        if result.is_ok() {
            r.changes[i].undone = true;
        }
        // Also after a failed undo: what it already wrote (a restored state) is clawkit's own
        // work, not a user's, so a later `resume` must not refuse because of it.
        if !matches!(change, Change::Stop { .. }) {
            for (m, fp) in members.iter().zip(r.fingerprints.iter_mut()) {
                if fp.is_some() {
                    *fp = backup::fingerprint(&m.layout).ok();
                }
            }
        }
        let _ = r.write(path);
        if let Some(i) = interrupt {
            i.set_note(Some(r.left_behind(path)));
        }
        result?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Interrupted transactions

/// How a resume ended.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Resumed {
    pub id: String,
    pub command: String,
    /// `completed` (finished forward), `resolved` (already back), `rolled-back`/`undone`.
    pub outcome: &'static str,
    #[serde(skip)]
    pub exit: Exit,
    pub steps: Vec<crate::journal::StepRecord>,
}

/// Finishes an interrupted transaction. The rules, in order:
/// 1. every forward step had been verified → finish it forward (commit), exit 0;
/// 2. the previous version is in fact installed and every gateway that ran is serving it
///    (the undo had finished, only its last check timed out) → drop the record, exit 0;
/// 3. the state changed after the record was last written (someone used a gateway since) →
///    refuse, exit 6, with the exact manual steps: restoring the old backup would lose that work;
/// 4. otherwise back up the current state, then undo every change not yet undone and verify;
///    exit 4 (or 1 with the manual steps when that fails).
pub fn resume(env: &Env, p: &Printer, pend: Pending) -> Result<Resumed> {
    let Pending { path, mut record } = pend;
    let members: Vec<Member> = record.members.iter().map(SavedMember::to_member).collect();
    let mut rec = Recorder::new(p);
    let started = Instant::now();
    p.alert(format!(
        "an earlier `clawkit {}` ({}) was interrupted: finishing it",
        record.command, record.id
    ));
    for m in &members {
        steps::end_orphans(&mut rec, &m.layout, "resume: ")?;
    }
    if let Some(prefix) = record.changes.iter().find_map(|l| match &l.change {
        Change::Reinstall { prefix, .. } => Some(prefix.clone()),
        _ => None,
    }) {
        if crate::npm::running_on(&prefix) {
            return Err(Failure::refused(
                "an npm process is still working on the install that the interrupted operation was changing",
            )
            .with_fix("wait for it to finish, then run `clawkit resume`")
            .into());
        }
    }

    // 1. Verified forward: only the commit was missing.
    if record.forward_done {
        for m in members.iter().filter(|m| m.restart) {
            let up = gateway::Startup::ready(m.port, Duration::from_millis(800)).0;
            if !up {
                let pid = rec.run(&format!("resume: start {}", m.label()), |_| {
                    let pid = steps::start(env, m)?;
                    Ok((pid, String::new()))
                })?;
                rec.run("resume: health gate", |line| {
                    Ok((
                        (),
                        steps::health_gate(env, m, UNDO_HEALTH_DEADLINE, pid, line, None)?,
                    ))
                })?;
            }
        }
        let _ = std::fs::remove_file(&path);
        let outcome = if record.command == "update" {
            "updated"
        } else {
            "done"
        };
        write_journal(
            &record,
            &rec.steps,
            outcome,
            None,
            None,
            Some(started.elapsed().as_millis() as u64),
            p,
        );
        p.line(format!(
            "the interrupted `clawkit {}` had finished and been verified; it is now complete",
            record.command
        ));
        return Ok(Resumed {
            id: record.id,
            command: record.command,
            outcome: "completed",
            exit: Exit::Ok,
            steps: rec.steps,
        });
    }

    // 1b. Killed while verifying: every gateway clawkit started serves what it should, and the
    // install is the target. Verify now and finish forward rather than undo work done since.
    let started_all = members
        .iter()
        .enumerate()
        .filter(|(_, m)| m.restart)
        .all(|(i, _)| {
            record
                .changes
                .iter()
                .any(|l| matches!(l.change, Change::Start { member, .. } if member == i))
        });
    let only_verification_left = record
        .changes
        .iter()
        .all(|l| l.done || matches!(l.change, Change::Start { .. }))
        && record.changes.iter().all(|l| !l.undone);
    if started_all && only_verification_left && members.iter().any(|m| m.restart) {
        let forward_version = |i: usize| match record.command.as_str() {
            "update" | "rollback" => record.to.clone(),
            _ => record.versions_before.get(i).cloned().flatten(),
        };
        let installed_ok = !record.touches_package()
            || record
                .root
                .as_ref()
                .and_then(|r| PackageJson::read(&r.join("package.json")).ok())
                .and_then(|p| p.version)
                == record.to;
        let cli = match (&record.node, &record.root) {
            (Some(n), Some(root)) => Some(OpenClaw::new(n, root, env)),
            _ => None,
        };
        // A gateway started just before the interruption may still be booting (a real OpenClaw
        // takes 10-30 s, more on a loaded machine): give it RESUME_BOOT_WAIT before judging, so
        // that a resume right after the kill finishes forward instead of undoing a good update.
        // The gate fails early when the process clawkit started died or systemd saw it crash.
        // A gateway that never becomes healthy is judged as before (a state written since the
        // record still refuses the undo: rule 3).
        for (i, m) in members.iter().enumerate().filter(|(_, m)| m.restart) {
            if gateway::probe(&m.layout, m.port, None).state == gateway::State::Running {
                continue;
            }
            let pid = started_pid(&record, i);
            let _ = rec.run(
                &format!(
                    "resume: wait for the {} started before the interruption",
                    m.label()
                ),
                |line| {
                    Ok((
                        (),
                        steps::health_gate(env, m, RESUME_BOOT_WAIT, pid, line, None)?,
                    ))
                },
            );
        }
        let serving = members
            .iter()
            .enumerate()
            .filter(|(_, m)| m.restart)
            .all(|(i, m)| {
                gateway::probe(&m.layout, m.port, None).state == gateway::State::Running
                    && steps::verify_version(m, cli.as_ref(), forward_version(i).as_ref()).is_ok()
            });
        if installed_ok && serving {
            let _ = std::fs::remove_file(&path);
            let outcome = if record.command == "update" {
                "updated"
            } else {
                "done"
            };
            write_journal(
                &record,
                &rec.steps,
                outcome,
                Some("interrupted while verifying; verified on resume".into()),
                None,
                None,
                p,
            );
            p.line(format!(
                "the interrupted `clawkit {}` had started every gateway; verified now, it is complete",
                record.command
            ));
            return Ok(Resumed {
                id: record.id,
                command: record.command,
                outcome: "completed",
                exit: Exit::Ok,
                steps: rec.steps,
            });
        }
    }

    // 2. Already back where it started?
    let package_back = !record.touches_package()
        || record
            .root
            .as_ref()
            .and_then(|r| PackageJson::read(&r.join("package.json")).ok())
            .and_then(|p| p.version)
            == record.from;
    let gateways_back = members.iter().enumerate().all(|(i, m)| {
        if !m.was_running {
            return true;
        }
        let now = gateway::probe(
            &m.layout,
            m.port,
            crate::config::Config::load(&m.layout.config_path)
                .token
                .as_ref(),
        );
        let want = record.versions_before.get(i).cloned().flatten();
        now.state == gateway::State::Running && (want.is_none() || now.version == want)
    });
    let state_touched = record
        .changes
        .iter()
        .any(|l| matches!(l.change, Change::State { .. }) && !l.undone);
    // A profile-only operation (repair, reset, restore) that changed the state is not "back"
    // merely because its gateway runs: its state may still be the changed one.
    if package_back && gateways_back && (record.touches_package() || !state_touched) {
        let _ = std::fs::remove_file(&path);
        write_journal(
            &record,
            &rec.steps,
            "resolved",
            Some("interrupted; the previous version was found running and verified, nothing was undone".into()),
            None,
            None,
            p,
        );
        p.line(format!(
            "the interrupted `clawkit {}` had already been undone: the previous version is serving; its record was removed",
            record.command
        ));
        return Ok(Resumed {
            id: record.id,
            command: record.command,
            outcome: "resolved",
            exit: Exit::Ok,
            steps: rec.steps,
        });
    }

    // 3. Did anything write the state after the record?
    let last_pending_state: Vec<usize> = record
        .changes
        .iter()
        .filter(|l| !l.done)
        .filter_map(|l| match l.change {
            Change::State { member, .. } => Some(member),
            _ => None,
        })
        .collect();
    for (i, m) in members.iter().enumerate() {
        let Some(Some(fp)) = record.fingerprints.get(i) else {
            continue;
        };
        if last_pending_state.contains(&i) {
            continue; // the change that was running when clawkit died explains a difference
        }
        let now = backup::fingerprint(&m.layout).ok();
        let serving = gateway::probe(&m.layout, m.port, None).up();
        if now.as_deref() != Some(fp.as_str()) {
            return Err(Failure::refused(format!(
                "the state in {} changed after the interrupted `clawkit {}` ({}) stopped{}: undoing it now would restore an older backup over that work",
                m.layout.state_dir.display(),
                record.command,
                record.id,
                if serving { " (a gateway is serving it)" } else { "" }
            ))
            .with_fix(format!(
                "keep the current state: delete {} once you are satisfied the gateway runs (`clawkit status`); or go back deliberately with `clawkit backups restore <id>` (`clawkit backups list`). {}",
                path.display(),
                manual_steps(&record, &path)
            ))
            .into());
        }
    }

    // 4. Undo, after a safety backup of what is there now.
    if state_touched {
        let id = format!("{}-before-resume", record.id);
        for m in &members {
            if m.layout.state_dir.is_dir() && !backup::backups_dir(&m.layout).join(&id).exists() {
                steps::stop_current(env, &mut rec, m, "resume: ")?;
                rec.run(
                    &format!("resume: back up {}", m.layout.state_dir.display()),
                    |_| {
                        let b = backup::create(&m.layout, &id, "before resume", None, None)?;
                        Ok(((), b.dir.display().to_string()))
                    },
                )?;
            }
        }
    }
    let result = undo_all(env, &mut rec, &members, &mut record, &path, None);
    match result {
        Ok(()) => {
            let _ = std::fs::remove_file(&path);
            let outcome = if matches!(record.command.as_str(), "update" | "rollback") {
                "rolled-back"
            } else {
                "undone"
            };
            write_journal(
                &record,
                &rec.steps,
                outcome,
                Some("interrupted; resumed by undoing it".into()),
                None,
                Some(started.elapsed().as_millis() as u64),
                p,
            );
            p.alert(format!(
                "resumed: the interrupted `clawkit {}` was undone and the previous state verified",
                record.command
            ));
            Ok(Resumed {
                id: record.id,
                command: record.command,
                outcome,
                exit: Exit::RolledBack,
                steps: rec.steps,
            })
        }
        Err(e) => {
            let _ = record.write(&path);
            let error = format!("the resume failed: {e:#}");
            write_journal(
                &record,
                &rec.steps,
                "failed",
                Some(error.clone()),
                None,
                None,
                p,
            );
            Err(Failure::new(Exit::Attention, error)
                .with_fix(manual_steps(&record, &path))
                .into())
        }
    }
}

/// Resumes every interrupted transaction of this profile and its install before a new mutating
/// command runs (the caller holds the locks). Returns what each resume did.
pub fn resume_pending(
    env: &Env,
    p: &Printer,
    state_dir: &Path,
    prefix: Option<&Path>,
) -> Result<Option<Vec<Resumed>>> {
    let pend = crate::record::pending(state_dir, prefix);
    if pend.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for one in pend {
        out.push(resume(env, p, one)?);
    }
    Ok(Some(out))
}

/// The pid clawkit spawned when it started member `i`'s gateway (unmanaged gateways).
fn started_pid(record: &Record, i: usize) -> Option<u32> {
    record.changes.iter().find_map(|l| match l.change {
        Change::Start { member, pid } if member == i && !l.undone => pid,
        _ => None,
    })
}
