//! `clawkit config show|path`: the effective settings and where each came from.

use anyhow::Result;

use crate::cli::ConfigCommand;
use crate::env::Env;
use crate::exit::Exit;
use crate::printer::{Printer, BOLD, DIM};
use crate::report::{ConfigPathDoc, ConfigShowDoc};
use crate::settings::{self, Flags};

pub fn run(env: &Env, cmd: &ConfigCommand, p: &Printer) -> Result<Exit> {
    match cmd {
        ConfigCommand::Path => {
            let path = settings::config_path(env);
            if p.json {
                p.json(&ConfigPathDoc {
                    file_exists: Some(path.exists()),
                    file: Some(path),
                    ..ConfigPathDoc::new("ok", Exit::Ok)
                });
            } else {
                println!("{}", path.display());
            }
            Ok(Exit::Ok)
        }
        ConfigCommand::Show => {
            let s = settings::load(env, &Flags::default())?;
            let shown = s.shown();
            if p.json {
                let settings::Shown {
                    file,
                    file_exists,
                    channel,
                    channel_tag,
                    pin,
                    min_release_age_hours,
                    notify,
                    keep,
                    timeout_secs,
                    rehearsal,
                } = shown;
                p.json(&ConfigShowDoc {
                    file: Some(file),
                    file_exists: Some(file_exists),
                    channel: Some(channel),
                    channel_tag: Some(channel_tag),
                    pin: Some(pin),
                    min_release_age_hours: Some(min_release_age_hours),
                    notify: Some(notify),
                    keep: Some(keep),
                    timeout_secs: Some(timeout_secs),
                    rehearsal: Some(rehearsal),
                    ..ConfigShowDoc::new("ok", Exit::Ok)
                });
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
