//! The update journal: `<state>/clawkit/journal.jsonl`, one JSON object per line. An operation
//! writes an `in-progress` line before its first mutation and a final line when it ends; the
//! last line of an id wins, so an interrupted run is visible to the next clawkit.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::layout::Layout;

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct StepRecord {
    pub name: String,
    pub status: String,
    pub duration_ms: u64,
    #[serde(default)]
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Entry {
    pub schema: u32,
    pub id: String,
    pub command: String,
    pub started_at: String,
    #[serde(default)]
    pub finished_at: Option<String>,
    pub from: Option<crate::version::Version>,
    pub to: Option<crate::version::Version>,
    pub outcome: String,
    #[serde(default)]
    pub phase: Option<String>,
    #[serde(default)]
    pub downtime_ms: Option<u64>,
    #[serde(default)]
    pub duration_ms: Option<u64>,
    #[serde(default)]
    pub steps: Vec<StepRecord>,
    #[serde(default)]
    pub backup: Option<PathBuf>,
    #[serde(default)]
    pub previous_package: Option<PathBuf>,
    #[serde(default)]
    pub error: Option<String>,
}

pub fn path(layout: &Layout) -> PathBuf {
    layout.clawkit_dir().join("journal.jsonl")
}

pub fn append(file: &Path, entry: &Entry) -> Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .with_context(|| format!("cannot write the journal {}", file.display()))?;
    let mut line = serde_json::to_string(entry)?;
    line.push('\n');
    f.write_all(line.as_bytes())?;
    f.sync_data()?;
    Ok(())
}

/// Every operation, oldest first, each at its latest state. Damaged lines are skipped.
pub fn read(file: &Path) -> Vec<Entry> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Vec::new();
    };
    let mut out: Vec<Entry> = Vec::new();
    for e in text
        .lines()
        .filter_map(|l| serde_json::from_str::<Entry>(l).ok())
    {
        match out.iter_mut().find(|o| o.id == e.id) {
            Some(o) => *o = e,
            None => out.push(e),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, outcome: &str) -> Entry {
        Entry {
            schema: 1,
            id: id.into(),
            command: "update".into(),
            started_at: "t".into(),
            finished_at: None,
            from: Some("2026.9.4".parse().unwrap()),
            to: Some("2026.9.5".parse().unwrap()),
            outcome: outcome.into(),
            phase: None,
            downtime_ms: None,
            duration_ms: None,
            steps: vec![],
            backup: None,
            previous_package: None,
            error: None,
        }
    }

    #[test]
    fn last_line_of_an_id_wins_and_garbage_is_skipped() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("j.jsonl");
        append(&f, &entry("a", "in-progress")).unwrap();
        append(&f, &entry("b", "updated")).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&f)
            .unwrap()
            .write_all(b"{broken\n")
            .unwrap();
        append(&f, &entry("a", "rolled-back")).unwrap();
        let all = read(&f);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].outcome, "rolled-back");
        assert_eq!(all[1].outcome, "updated");
    }
}
