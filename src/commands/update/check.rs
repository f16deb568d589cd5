//! `clawkit update --check`: is there an update? Resolves the target exactly as `update` would
//! (channel, pin, min release age), changes nothing, takes no lock. Exit 0 when current, 7 when
//! an update is available. The answer is cached for `status` (which never calls the network).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Result;

use crate::cli::UpdateArgs;
use crate::env::Env;
use crate::exit::{Exit, Failure};
use crate::npm::Npm;
use crate::printer::Printer;
use crate::probe::Snapshot;
use crate::settings::Settings;
use crate::version::Version;

/// How long a cached answer counts as fresh for `status`.
pub const FRESH: Duration = Duration::from_secs(24 * 3600);

pub use crate::report::UpdateCheckDoc as CheckDoc;

/// Where the last answer is kept: `$XDG_CACHE_HOME/clawkit/check.json` (else `~/.cache/…`).
pub fn cache_path(env: &Env) -> Option<PathBuf> {
    env.path("XDG_CACHE_HOME")
        .or_else(|| env.home().map(|h| h.join(".cache")))
        .map(|d| d.join("clawkit/check.json"))
}

/// The cached answer when it is fresh and about the install that is there now.
pub fn cached(env: &Env, installed: Option<&Version>) -> Option<CheckDoc> {
    let path = cache_path(env)?;
    let meta = std::fs::metadata(&path).ok()?;
    let age = SystemTime::now()
        .duration_since(meta.modified().ok()?)
        .unwrap_or_default();
    if age > FRESH {
        return None;
    }
    let doc: CheckDoc = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    (doc.installed.as_ref() == installed).then_some(doc)
}

fn save(path: &Path, doc: &CheckDoc) {
    if let Some(d) = path.parent() {
        let _ = std::fs::create_dir_all(d);
    }
    let tmp = path.with_extension("json.tmp");
    if std::fs::write(&tmp, serde_json::to_vec_pretty(doc).unwrap_or_default()).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}

pub fn run(
    env: &Env,
    snap: &Snapshot,
    args: &UpdateArgs,
    settings: &Settings,
    p: &Printer,
) -> Result<Exit> {
    let installed = snap.cli_version().cloned();
    let node_dir = snap
        .gateway_node(env)
        .and_then(|n| n.path.parent().map(Path::to_path_buf));
    let npm = Npm::find(env, node_dir, args.registry.as_ref().map(|r| r.to_string())).ok_or_else(
        || {
            Failure::new(
                Exit::Attention,
                "npm is not on PATH: cannot ask the registry",
            )
            .with_fix("install Node.js with npm, or add it to PATH")
        },
    )?;
    let r = super::resolve::resolve(&npm, args.to.as_ref(), settings, installed.as_ref(), p)
        .map_err(|f| Failure {
            exit: Exit::Attention,
            ..f
        })?;
    let newer = match (&r.to, &installed) {
        (Some(to), Some(i)) => to > i,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let (outcome, exit) = if newer {
        ("available", Exit::UpdateAvailable)
    } else if r.held.is_some() {
        ("held", Exit::Ok)
    } else {
        ("current", Exit::Ok)
    };
    let doc = CheckDoc {
        installed: installed.clone(),
        available: r.to.clone().filter(|_| newer),
        published_at: r.published_at.clone().filter(|_| newer),
        asked: Some(r.asked.clone()),
        channel: Some(settings.channel.value.as_str().into()),
        pin: settings.pin.value.as_ref().map(|p| p.text.clone()),
        min_release_age_hours: Some(settings.min_release_age.value),
        held: r.held.clone(),
        checked_at: Some(humantime::format_rfc3339_seconds(SystemTime::now()).to_string()),
        ..CheckDoc::new(outcome, exit)
    };
    if let Some(path) = cache_path(env) {
        save(&path, &doc);
    }
    let shown = |v: &Option<Version>| v.as_ref().map_or("(none)".into(), |v| v.to_string());
    match outcome {
        "available" => p.line(format!(
            "update available: OpenClaw {} → {}{} ({})",
            shown(&installed),
            shown(&doc.available),
            doc.published_at
                .as_deref()
                .map(|t| format!(", published {t}"))
                .unwrap_or_default(),
            r.asked
        )),
        _ => p.line(format!(
            "OpenClaw {} is current ({})",
            shown(&installed),
            r.asked
        )),
    }
    if let Some(h) = &r.held {
        p.line(format!("  held back: {h}"));
    }
    if p.json {
        p.json(&doc);
    }
    Ok(exit)
}
