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
    // The document's outcome is that of the record that sets the exit code (the worst one).
    let worst = resumed.iter().max_by_key(|r| r.exit.code());
    let exit = worst.map_or(Exit::Ok, |r| r.exit);
    if p.json {
        p.json(&ResumeDoc {
            resumed: resumed.clone(),
            ..ResumeDoc::new(worst.map_or("nothing", |r| r.outcome), exit)
        });
    }
    Ok(exit)
}
