//! `clawkit config show|path`: the effective settings and where each came from.

use anyhow::Result;
use serde_json::json;

use crate::cli::ConfigCommand;
use crate::env::Env;
use crate::exit::Exit;
use crate::printer::{Printer, BOLD, DIM};
use crate::settings::{self, Flags};

pub fn run(env: &Env, cmd: &ConfigCommand, p: &Printer) -> Result<Exit> {
    match cmd {
        ConfigCommand::Path => {
            let path = settings::config_path(env);
            if p.json {
                p.json(&json!({
                    "schema": 1,
                    "command": "config path",
                    "exit_code": 0,
                    "file": path,
                    "file_exists": path.exists(),
                }));
            } else {
                println!("{}", path.display());
            }
            Ok(Exit::Ok)
        }
        ConfigCommand::Show => {
            let s = settings::load(env, &Flags::default())?;
            let shown = s.shown();
            if p.json {
                let mut doc = serde_json::to_value(&shown)?;
                doc["schema"] = json!(1);
                doc["command"] = json!("config show");
                doc["exit_code"] = json!(0);
                p.json(&doc);
                return Ok(Exit::Ok);
            }
            p.line(
                format!("{} {}", p.paint(BOLD, "config file:"), shown.file.display())
                    + if shown.file_exists {
                        ""
                    } else {
                        " (not present: defaults and environment only)"
                    },
            );
            let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
            let rows = [
                (
                    "channel",
                    format!(
                        "{} (dist-tag {})",
                        shown.channel.value.as_str(),
                        shown.channel_tag
                    ),
                    &shown.channel.source,
                ),
                ("pin", opt(&shown.pin.value), &shown.pin.source),
                (
                    "min_release_age",
                    format!("{} h", shown.min_release_age_hours.value),
                    &shown.min_release_age_hours.source,
                ),
                ("notify", opt(&shown.notify.value), &shown.notify.source),
                ("keep", shown.keep.value.to_string(), &shown.keep.source),
                (
                    "timeout",
                    format!("{} s", shown.timeout_secs.value),
                    &shown.timeout_secs.source,
                ),
                (
                    "rehearsal",
                    shown.rehearsal.value.to_string(),
                    &shown.rehearsal.source,
                ),
            ];
            for (key, value, source) in rows {
                p.line(format!("  {key:<16} {value:<28} {}", p.paint(DIM, source)));
            }
            Ok(Exit::Ok)
        }
    }
}
