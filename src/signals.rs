//! Ctrl-C discipline. Children run in their own process groups, so a terminal Ctrl-C reaches
//! clawkit only. The first SIGINT/SIGTERM sets a flag that the running command checks at safe
//! points (abandon staging; finish the outage window to a running gateway). A second one exits
//! at once with code 130, after the command has said what that would leave behind.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Clone)]
pub struct Interrupt {
    flag: Arc<AtomicBool>,
}

impl Interrupt {
    /// Installs the handlers (once per process is enough; later calls share nothing).
    pub fn install() -> Interrupt {
        let flag = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // Order matters: the shutdown check runs before the flag is set, so only a second
            // signal finds the flag already true and exits.
            let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, flag.clone());
            let _ = signal_hook::flag::register(sig, flag.clone());
        }
        Interrupt { flag }
    }

    pub fn fired(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    pub fn flag(&self) -> Arc<AtomicBool> {
        self.flag.clone()
    }
}
