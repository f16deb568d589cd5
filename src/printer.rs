//! Where output goes. Human text goes to stderr (coloured only on a terminal, never with
//! `NO_COLOR`); `--json` prints exactly one document on stdout. Progress spinners appear only
//! on an interactive stderr and never in JSON mode or CI.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use anstyle::{AnsiColor, Style};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub json: bool,
    pub quiet: bool,
    pub interactive: bool,
    pub unicode: bool,
    /// Colour only on a terminal, never with `NO_COLOR`, `TERM=dumb` or `CI=true`.
    pub color: bool,
}

pub const BOLD: Style = Style::new().bold();
pub const GREEN: Style = AnsiColor::Green.on_default();
pub const YELLOW: Style = AnsiColor::Yellow.on_default();
pub const RED: Style = AnsiColor::Red.on_default().bold();
pub const DIM: Style = Style::new().dimmed();

impl Printer {
    pub fn new(json: bool, quiet: bool, env: &crate::env::Env) -> Printer {
        let ci = env.is_true("CI");
        let lang = [env.get("LC_ALL"), env.get("LC_CTYPE"), env.get("LANG")]
            .into_iter()
            .flatten()
            .next()
            .unwrap_or("");
        let tty = std::io::stderr().is_terminal();
        Printer {
            json,
            quiet,
            color: tty && !ci && env.get("NO_COLOR").is_none() && env.get("TERM") != Some("dumb"),
            interactive: tty && std::io::stdin().is_terminal() && !ci,
            unicode: lang.to_ascii_uppercase().contains("UTF-8")
                || lang.to_ascii_uppercase().contains("UTF8"),
        }
    }

    /// A line for people (suppressed by `--quiet`; JSON mode keeps it on stderr).
    pub fn line(&self, text: impl AsRef<str>) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr(), "{}", text.as_ref());
        }
    }

    /// A warning or error line; shown even with `--quiet`.
    pub fn alert(&self, text: impl AsRef<str>) {
        let _ = writeln!(std::io::stderr(), "{}", text.as_ref());
    }

    pub fn paint(&self, style: Style, text: impl std::fmt::Display) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }

    /// Prints the one JSON document of this run.
    pub fn json<T: Serialize>(&self, doc: &T) {
        let text = serde_json::to_string_pretty(doc).expect("reports serialize");
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    /// ✓ ! ✗ or their ASCII stand-ins.
    pub fn mark(&self, status: &str) -> String {
        let (u, a, style) = match status {
            "ok" => ("✓", "ok", GREEN),
            "warn" => ("!", "!!", YELLOW),
            "fail" => ("✗", "XX", RED),
            _ => ("-", "--", DIM),
        };
        self.paint(style, if self.unicode { u } else { a })
    }

    /// Starts a step line: a spinner on a terminal, a plain line otherwise.
    pub fn step(&self, label: &str) -> StepLine {
        let bar = if self.interactive && !self.json && !self.quiet {
            let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            pb.set_style(
                ProgressStyle::with_template("{spinner} {msg} {elapsed:.dim}")
                    .expect("static template"),
            );
            pb.set_message(label.to_string());
            pb.enable_steady_tick(Duration::from_millis(100));
            Some(pb)
        } else {
            if !self.quiet {
                self.line(format!("- {label} ..."));
            }
            None
        };
        StepLine {
            printer: *self,
            label: label.to_string(),
            bar,
            started: Instant::now(),
        }
    }
}

pub struct StepLine {
    printer: Printer,
    label: String,
    bar: Option<ProgressBar>,
    started: Instant,
}

impl StepLine {
    pub fn set(&self, msg: &str) {
        if let Some(b) = &self.bar {
            b.set_message(format!("{}: {msg}", self.label));
        }
    }

    pub fn finish(self, status: &str, detail: &str) {
        let secs = self.started.elapsed().as_secs_f64();
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
        if self.printer.quiet {
            return;
        }
        let detail = if detail.is_empty() {
            String::new()
        } else {
            format!(": {detail}")
        };
        self.printer.line(format!(
            "{} {}{} {}",
            self.printer.mark(status),
            self.label,
            detail,
            self.printer.paint(DIM, format!("({secs:.1}s)"))
        ));
    }
}
