//! `clawkit history`: the update journal as a table, and one run's steps.

use anyhow::Result;

use crate::cli::{Global, HistoryArgs, HistoryCommand};
use crate::env::Env;
use crate::exit::{Exit, Failure};
use crate::journal::{self, Entry};
use crate::printer::{Printer, BOLD, DIM};
use crate::report::HistoryDoc;

fn secs(ms: Option<u64>) -> String {
    ms.map_or("-".into(), |ms| format!("{:.1}s", ms as f64 / 1000.0))
}

/// Finds a journal entry or a backup by a unique prefix of its id.
pub fn by_prefix<'a, T>(
    items: &'a [T],
    id: &str,
    key: impl Fn(&T) -> &str,
    what: &str,
) -> Result<&'a T, Failure> {
    let hits: Vec<&T> = items.iter().filter(|e| key(e).starts_with(id)).collect();
    match hits.as_slice() {
        [one] => Ok(one),
        [] => Err(
            Failure::usage(format!("no {what} has an id starting with {id:?}")).with_fix(format!(
                "list them with `clawkit {}`",
                if what == "backup" {
                    "backups list"
                } else {
                    "history"
                }
            )),
        ),
        many => Err(Failure::usage(format!(
            "{} {what}s start with {id:?}; give more of the id",
            many.len()
        ))),
    }
}

pub fn run(env: &Env, g: &Global, args: &HistoryArgs, p: &Printer) -> Result<Exit> {
    let snap_layout = crate::layout::resolve(env, &super::target(g).profile, None)?;
    let entries = journal::read(&journal::path(&snap_layout));
    match &args.show {
        Some(HistoryCommand::Show { id }) => {
            let entry: &Entry = match id {
                Some(id) => by_prefix(&entries, id, |e| &e.id, "journal entry")?,
                None => entries.last().ok_or_else(|| {
                    Failure::new(
                        Exit::Attention,
                        "the journal is empty: no clawkit update has run on this profile",
                    )
                })?,
            };
            if p.json {
                p.json(&HistoryDoc {
                    entry: Some(entry.clone()),
                    ..HistoryDoc::new("ok", Exit::Ok)
                });
                return Ok(Exit::Ok);
            }
            p.line(format!(
                "{} {}  {} → {}  {}",
                p.paint(BOLD, &entry.id),
                entry.started_at,
                entry
                    .from
                    .as_ref()
                    .map_or("(none)".into(), |v| v.to_string()),
                entry.to.as_ref().map_or("?".into(), |v| v.to_string()),
                entry.outcome
            ));
            for s in &entry.steps {
                p.line(format!(
                    "  {} {:<50} {:>7}  {}",
                    p.mark(match s.status.as_str() {
                        "ok" => "ok",
                        "failed" => "fail",
                        _ => "skip",
                    }),
                    s.name,
                    secs(Some(s.duration_ms)),
                    p.paint(DIM, s.detail.lines().next().unwrap_or(""))
                ));
            }
            if let Some(e) = &entry.error {
                p.line(format!("  error: {e}"));
            }
            if let Some(b) = &entry.backup {
                p.line(format!("  backup: {}", b.display()));
            }
            Ok(Exit::Ok)
        }
        None => {
            let shown: Vec<&Entry> = entries.iter().rev().take(args.limit).collect();
            if p.json {
                p.json(&HistoryDoc {
                    entries: shown.into_iter().cloned().collect(),
                    ..HistoryDoc::new("ok", Exit::Ok)
                });
                return Ok(Exit::Ok);
            }
            if shown.is_empty() {
                p.line("no clawkit update has run on this profile yet");
                return Ok(Exit::Ok);
            }
            p.line(p.paint(
                BOLD,
                format!(
                    "{:<21} {:<24} {:<14} {:>8} {:>8}  id",
                    "when", "from → to", "outcome", "outage", "total"
                ),
            ));
            for e in shown {
                p.line(format!(
                    "{:<21} {:<24} {:<14} {:>8} {:>8}  {}",
                    e.started_at,
                    format!(
                        "{} → {}",
                        e.from.as_ref().map_or("(none)".into(), |v| v.to_string()),
                        e.to.as_ref().map_or("?".into(), |v| v.to_string())
                    ),
                    e.outcome,
                    secs(e.downtime_ms),
                    secs(e.duration_ms),
                    p.paint(DIM, &e.id)
                ));
            }
            Ok(Exit::Ok)
        }
    }
}
