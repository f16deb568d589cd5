//! Signal discipline: Ctrl-C (SIGINT), SIGTERM and SIGHUP (an ssh session dropping) are all
//! handled the same way. Children run in their own process groups, so a terminal Ctrl-C reaches
//! clawkit only and clawkit decides what happens to them.
//!
//! The first signal sets a flag that the running command checks at safe points: before the
//! outage window it abandons the operation (nothing changed); inside a transaction the
//! transaction stops going forward and undoes what it did, so the gateway is never left stopped.
//! A second signal exits at once, after printing what that leaves behind (the transaction keeps
//! that note current); the persisted transaction record lets `clawkit resume` finish the undo.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

#[derive(Clone)]
pub struct Interrupt {
    inner: Arc<Inner>,
}

struct Inner {
    flag: Arc<AtomicBool>,
    first: AtomicI32,
    /// Set while a transaction is open: what an immediate exit would leave behind.
    note: Mutex<Option<String>>,
}

fn name(sig: i32) -> &'static str {
    match sig {
        SIGINT => "SIGINT (Ctrl-C)",
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP (the terminal went away)",
        _ => "a signal",
    }
}

/// A line on stderr that cannot fail: after SIGHUP the terminal is usually gone (EIO, EPIPE),
/// and `eprintln!` would panic and take the signal thread with it, so a second signal would no
/// longer be heard.
fn say(line: std::fmt::Arguments) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

impl Interrupt {
    /// The process-wide handler (installed on first use).
    pub fn install() -> Interrupt {
        static GLOBAL: OnceLock<Interrupt> = OnceLock::new();
        GLOBAL
            .get_or_init(|| {
                let it = Interrupt {
                    inner: Arc::new(Inner {
                        flag: Arc::new(AtomicBool::new(false)),
                        first: AtomicI32::new(0),
                        note: Mutex::new(None),
                    }),
                };
                let handler = it.clone();
                match signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
                    Ok(mut signals) => {
                        std::thread::Builder::new()
                            .name("clawkit-signals".into())
                            .spawn(move || {
                                for sig in signals.forever() {
                                    handler.on_signal(sig);
                                }
                            })
                            .expect("spawn the signal thread");
                    }
                    Err(e) => say(format_args!("warning: cannot install signal handlers: {e}")),
                }
                it
            })
            .clone()
    }

    fn on_signal(&self, sig: i32) {
        let first = self
            .inner
            .first
            .compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        let note = self.inner.note.lock().map(|n| n.clone()).unwrap_or(None);
        if first {
            self.inner.flag.store(true, Ordering::SeqCst);
            if note.is_some() {
                say(format_args!(
                    "clawkit: {} received: undoing the changes so the gateway is not left stopped. \
                     Send it again to abort at once (the gateway may then stay stopped).",
                    name(sig)
                ));
            }
            return;
        }
        match note {
            Some(left) => say(format_args!(
                "clawkit: aborted by a second signal. {left}\n  `clawkit resume` finishes the undo and restarts the gateway."
            )),
            None => say(format_args!("clawkit: aborted")),
        }
        std::process::exit(128 + sig);
    }

    pub fn fired(&self) -> bool {
        self.inner.flag.load(Ordering::SeqCst)
    }

    /// The first signal received, by name.
    pub fn which(&self) -> Option<&'static str> {
        match self.inner.first.load(Ordering::SeqCst) {
            0 => None,
            s => Some(name(s)),
        }
    }

    /// The flag children are cancelled on (see [`crate::exec::Cmd::cancel_on`]).
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.inner.flag.clone()
    }

    /// What an abort now would leave behind (`None`: nothing, outside a transaction).
    pub fn set_note(&self, note: Option<String>) {
        if let Ok(mut n) = self.inner.note.lock() {
            *n = note;
        }
    }

    /// Tests only: behave as if a signal had arrived.
    #[doc(hidden)]
    pub fn raise_for_test(&self) {
        self.on_signal(SIGINT);
    }
}
