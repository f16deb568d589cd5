//! The one way clawkit runs another program.
//!
//! Every child gets: an explicit program path and argument vector (never a shell string), a
//! deadline, captured stdout/stderr, stdin from /dev/null, and its own process group, so a
//! Ctrl-C in the terminal reaches clawkit only and clawkit decides what happens to the child.
//! On a deadline or a cancellation the whole group is killed.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// A command line, built by the `npm` and `openclaw` modules (and the supervisors).
#[derive(Clone)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
    dir: Option<PathBuf>,
    timeout: Duration,
    cancel: Option<Arc<AtomicBool>>,
    stdin: Option<Vec<u8>>,
}

/// What a finished child left behind.
#[derive(Debug, Clone)]
pub struct Output {
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub duration: Duration,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The last `n` lines of stderr (or stdout if stderr is empty), for error messages.
    pub fn tail(&self, n: usize) -> String {
        let text = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

/// Why a child did not produce an `Output`.
#[derive(Debug)]
pub enum RunError {
    TimedOut { what: String, after: Duration },
    Cancelled { what: String },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::TimedOut { what, after } => {
                write!(
                    f,
                    "`{what}` did not finish within {}s and was killed",
                    after.as_secs()
                )
            }
            RunError::Cancelled { what } => write!(f, "`{what}` was interrupted"),
        }
    }
}

impl std::error::Error for RunError {}

impl Cmd {
    /// A bare name (`npm`) is looked up on PATH; anything with a `/` is a path.
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Cmd {
            program: program.as_ref().to_os_string(),
            args: Vec::new(),
            env: Vec::new(),
            dir: None,
            timeout: Duration::from_secs(60),
            cancel: None,
            stdin: None,
        }
    }

    /// Feed these bytes to the child's stdin (default: /dev/null).
    pub fn stdin_bytes(mut self, bytes: Vec<u8>) -> Self {
        self.stdin = Some(bytes);
        self
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.args.push(a.as_ref().to_os_string());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Self {
        self.env
            .push((k.as_ref().to_os_string(), Some(v.as_ref().to_os_string())));
        self
    }

    pub fn env_remove(mut self, k: impl AsRef<OsStr>) -> Self {
        self.env.push((k.as_ref().to_os_string(), None));
        self
    }

    pub fn dir(mut self, d: impl AsRef<Path>) -> Self {
        self.dir = Some(d.as_ref().to_path_buf());
        self
    }

    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Kill the child when this flag becomes true (Ctrl-C during a step that may be abandoned).
    pub fn cancel_on(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// The command line as a user could type it (for plans, journals and error messages).
    /// The environment clawkit adds is not shown: it may hold secrets and is noise.
    /// Secret values (`--token X`, `user:pass@` in URLs, …) are redacted.
    pub fn display(&self) -> String {
        let mut argv = vec![self.program.to_string_lossy().into_owned()];
        argv.extend(self.args.iter().map(|a| a.to_string_lossy().into_owned()));
        crate::secret::redact_args(&argv)
            .iter()
            .map(|a| quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn expression(&self) -> duct::Expression {
        let mut e = match &self.stdin {
            Some(b) => duct::cmd(&self.program, &self.args).stdin_bytes(b.clone()),
            None => duct::cmd(&self.program, &self.args).stdin_null(),
        }
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .before_spawn(|c| {
            c.process_group(0);
            Ok(())
        });
        for (k, v) in &self.env {
            e = match v {
                Some(v) => e.env(k, v),
                None => e.env_remove(k),
            };
        }
        if let Some(d) = &self.dir {
            e = e.dir(d);
        }
        e
    }

    /// Runs to completion (any exit code is `Ok`); errors on spawn failure, deadline or cancel.
    pub fn run(&self) -> Result<Output> {
        let what = self.display();
        let started = Instant::now();
        let handle = self
            .expression()
            .start()
            .with_context(|| format!("could not start `{what}`"))?;
        let deadline = started + self.timeout;
        loop {
            let slice = (Instant::now() + Duration::from_millis(50)).min(deadline);
            if let Some(out) = handle.wait_deadline(slice)? {
                return Ok(Output {
                    code: out.status.code(),
                    stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                    duration: started.elapsed(),
                });
            }
            let cancelled = self
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(Ordering::SeqCst));
            if cancelled || Instant::now() >= deadline {
                for pid in handle.pids() {
                    // The child leads its own group: take its descendants with it.
                    let _ = nix::sys::signal::killpg(
                        nix::unistd::Pid::from_raw(pid as i32),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                let _ = handle.kill();
                let _ = handle.wait();
                if cancelled {
                    return Err(RunError::Cancelled { what }.into());
                }
                return Err(RunError::TimedOut {
                    what,
                    after: self.timeout,
                }
                .into());
            }
        }
    }

    /// Runs and requires exit 0; the error carries the tail of the output.
    pub fn run_ok(&self) -> Result<Output> {
        let out = self.run()?;
        if !out.success() {
            bail!(
                "`{}` failed ({}):\n{}",
                self.display(),
                describe_code(out.code),
                indent(&out.tail(12))
            );
        }
        Ok(out)
    }
}

pub fn describe_code(code: Option<i32>) -> String {
    match code {
        Some(c) => format!("exit {c}"),
        None => "killed by a signal".into(),
    }
}

pub fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Quotes an argument for display only (it is never passed to a shell).
pub fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@+,%".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_output_and_code() {
        let out = Cmd::new("sh")
            .args(["-c", "echo out; echo err >&2; exit 3"])
            .run()
            .unwrap();
        assert_eq!(out.code, Some(3));
        assert_eq!(out.stdout.trim(), "out");
        assert_eq!(out.tail(5), "err");
    }

    #[test]
    fn deadline_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("grandchild-ran");
        // The grandchild would write the marker after 2 s if it survived the kill.
        let script = format!("(sleep 2; touch {}) & sleep 30", marker.display());
        let err = Cmd::new("sh")
            .args(["-c", &script])
            .timeout(Duration::from_millis(300))
            .run()
            .unwrap_err();
        assert!(err.to_string().contains("did not finish within"), "{err}");
        std::thread::sleep(Duration::from_millis(2500));
        assert!(!marker.exists(), "grandchild survived the group kill");
    }

    #[test]
    fn cancel_flag_stops_child() {
        let flag = Arc::new(AtomicBool::new(false));
        let f2 = flag.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            f2.store(true, Ordering::SeqCst);
        });
        let t = Instant::now();
        let err = Cmd::new("sleep")
            .arg("20")
            .cancel_on(flag)
            .run()
            .unwrap_err();
        assert!(err.to_string().contains("interrupted"));
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn missing_program_is_a_clear_error() {
        let err = Cmd::new("/nonexistent/prog").run().unwrap_err();
        assert!(format!("{err:#}").contains("could not start `/nonexistent/prog`"));
    }

    #[test]
    fn display_hides_env_values_and_quotes() {
        let c = Cmd::new("npm")
            .arg("install")
            .arg("a b")
            .env("NPM_TOKEN", "s3cret");
        let shown = c.display();
        assert!(!shown.contains("s3cret"));
        assert_eq!(shown, "npm install 'a b'");
        let c = Cmd::new("node").args(["gw", "--token", "t0k", "--registry=https://u:p@r/"]);
        let shown = c.display();
        assert!(!shown.contains("t0k") && !shown.contains("u:p"), "{shown}");
    }
}
