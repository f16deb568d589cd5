//! `clawkit resume`: finish the operations a killed clawkit left behind (see `txn::resume` for
//! the rules).

use anyhow::Result;

use crate::cli::Global;
use crate::env::Env;
use crate::exit::Exit;
use crate::oplock;
use crate::printer::Printer;
use crate::probe::Snapshot;
use crate::report::ResumeDoc;

pub fn run(env: &Env, g: &Global, p: &Printer) -> Result<Exit> {
    let snap = Snapshot::take(env, &super::target(g))?;
    let prefix = snap.install.as_ref().and_then(|i| i.prefix.clone());
    let mut dirs = vec![snap.layout.clawkit_dir()];
    dirs.extend(prefix.as_ref().map(|p| p.join("lib/clawkit")));
    dirs.extend(
        snap.interrupted
            .iter()
            .flat_map(|pend| pend.record.members.iter())
            .map(|m| m.state_dir.join("clawkit")),
    );
    let _locks = oplock::acquire_all(&dirs, "resume")?;
    let resumed =
        match crate::txn::resume_pending(env, p, &snap.layout.state_dir, prefix.as_deref()) {
            Ok(r) => r.unwrap_or_default(),
            Err(e) => {
                return Err(e);
            }
        };
    if resumed.is_empty() {
        p.line("no interrupted operation to resume");
    }
    let exit = resumed
        .iter()
        .map(|r| r.exit)
        .max_by_key(|e| e.code())
        .unwrap_or(Exit::Ok);
    if p.json {
        p.json(&ResumeDoc {
            resumed: resumed.clone(),
            ..ResumeDoc::new(resumed.last().map_or("nothing", |r| r.outcome), exit)
        });
    }
    Ok(exit)
}
