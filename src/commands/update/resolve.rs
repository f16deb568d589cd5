//! Which release an update goes to: `--to`, else the channel's dist-tag, within the pin, and
//! (for a tag) no younger than `min_release_age`. One `npm view` answers all of it: the manifest
//! of the tag's version with the package's `dist-tags`, `versions` and publish `time`s.

use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::exit::Failure;
use crate::install::PACKAGE;
use crate::npm::{Npm, Target};
use crate::printer::Printer;
use crate::settings::{Channel, Settings};
use crate::version::Version;

#[derive(Debug, Clone)]
pub struct Resolved {
    /// The release to install; `None`: nothing the pin and age allow is newer than `installed`
    /// (see `held`).
    pub to: Option<Version>,
    pub spec: String,
    pub engines: Option<String>,
    pub schemas: Option<Value>,
    /// When `to` was published (RFC 3339, from the registry).
    pub published_at: Option<String>,
    /// What the request asked for: `--to 2026.9.5`, `channel stable (latest)`.
    pub asked: String,
    /// The version the tag points at (`None` for an exact `--to`).
    pub tag_version: Option<Version>,
    /// Why a newer release was not taken (pin, age).
    pub held: Option<String>,
}

fn refuse(msg: String, fix: &str) -> Failure {
    Failure::refused(msg).with_fix(fix.to_string())
}

fn view(npm: &Npm, spec: &str, deadline: Instant, p: &Printer) -> Result<Value, Failure> {
    let step = p.step(&format!("resolve {spec}"));
    match npm.view(spec, deadline) {
        Ok(v) => {
            step.finish("ok", "");
            Ok(v)
        }
        Err(e) => {
            step.finish("fail", "");
            let msg = format!("{e:#}");
            let fix = if msg.contains("does not exist") || msg.contains("No match") {
                "list the released versions and tags with: npm view openclaw versions dist-tags --json"
            } else {
                "check the registry URL and the network, or pass --registry URL to ask another registry, then retry"
            };
            Err(refuse(format!("cannot resolve {spec}: {msg}"), fix))
        }
    }
}

fn version_of(doc: &Value, spec: &str) -> Result<Version, Failure> {
    doc.get("version")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            refuse(
                format!("the registry returned no version for {spec}"),
                "retry, or pass an exact --to VERSION",
            )
        })
}

fn published(doc: &Value, v: &Version) -> Option<SystemTime> {
    doc.pointer("/time")
        .and_then(|t| t.get(v.to_string()))
        .and_then(Value::as_str)
        .and_then(|s| humantime::parse_rfc3339_weak(s.trim_end_matches('Z')).ok())
}

fn published_text(doc: &Value, v: &Version) -> Option<String> {
    doc.pointer("/time")
        .and_then(|t| t.get(v.to_string()))
        .and_then(Value::as_str)
        .map(String::from)
}

fn with_manifest(mut r: Resolved, doc: &Value) -> Resolved {
    r.engines = doc
        .pointer("/engines/node")
        .and_then(Value::as_str)
        .map(String::from);
    r.schemas = doc.pointer("/openclaw/schemaVersions").cloned();
    r
}

pub fn resolve(
    npm: &Npm,
    target: Option<&Target>,
    s: &Settings,
    installed: Option<&Version>,
    p: &Printer,
) -> Result<Resolved, Failure> {
    let pin = s.pin.value.as_ref();
    // Every question below shares one deadline: all of them are answered within the budget.
    let deadline = Instant::now() + npm.budget;
    let ask = |spec: &str| view(npm, spec, deadline, p);
    let (tag, asked) = match target {
        Some(Target::Version(v)) => {
            let spec = format!("{PACKAGE}@{v}");
            if let Some(pin) = pin.filter(|pin| !pin.allows(v)) {
                return Err(refuse(
                    format!("{v} is outside the pin {} ({})", pin.text, s.pin.source),
                    "change the pin (`clawkit config show` says where it is set) or pass --pin for this run",
                ));
            }
            let doc = ask(&spec)?;
            let to = version_of(&doc, &spec)?;
            let r = Resolved {
                published_at: published_text(&doc, &to),
                to: Some(to),
                spec,
                engines: None,
                schemas: None,
                asked: format!("--to {v}"),
                tag_version: None,
                held: None,
            };
            return Ok(with_manifest(r, &doc));
        }
        Some(Target::Tag(t)) => (t.clone(), format!("--to {t}")),
        None => {
            let c = s.channel.value;
            (
                c.tag().to_string(),
                format!("channel {} ({})", c.as_str(), c.tag()),
            )
        }
    };
    // The beta channel takes the newer of `beta` and `latest`, as OpenClaw's own update does;
    // a registry without a `beta` tag leaves `latest`.
    let beta = target.is_none() && s.channel.value == Channel::Beta;
    let doc = if beta {
        let latest = ask(&format!("{PACKAGE}@latest"))?;
        let beta_v = latest
            .pointer("/dist-tags/beta")
            .and_then(Value::as_str)
            .and_then(|v| v.parse::<Version>().ok());
        let latest_v = version_of(&latest, "openclaw@latest")?;
        match beta_v.filter(|b| b > &latest_v) {
            Some(b) => ask(&format!("{PACKAGE}@{b}"))?,
            None => latest,
        }
    } else {
        let spec = format!("{PACKAGE}@{tag}");
        match ask(&spec) {
            Ok(d) => d,
            Err(e) if tag != "latest" && e.message.contains("No match") => {
                return Err(refuse(
                    format!("the registry has no `{tag}` dist-tag for openclaw"),
                    "see the tags with `npm view openclaw dist-tags`; use --channel stable or --to VERSION",
                ))
            }
            Err(e) => return Err(e),
        }
    };
    let tag_version = version_of(&doc, &tag)?;
    let age = Duration::from_secs(s.min_release_age.value * 3600);
    let now = SystemTime::now();
    let young = |v: &Version| {
        !age.is_zero()
            && published(&doc, v).is_none_or(|t| now.duration_since(t).unwrap_or_default() < age)
    };
    let fits = |v: &Version| pin.is_none_or(|pin| pin.allows(v)) && !young(v);
    let mut r = Resolved {
        to: None,
        spec: String::new(),
        engines: None,
        schemas: None,
        published_at: None,
        asked,
        tag_version: Some(tag_version.clone()),
        held: None,
    };
    // A tag that points below the installed release (npm's `latest` moved back after a bad
    // release, or a switch from beta to stable) is no update and no downgrade request: the
    // installed release stays, and `held` says why.
    if let Some(i) = installed.filter(|i| &tag_version < *i) {
        r.held = Some(format!(
            "{tag} is {tag_version}, older than the installed {i} (a downgrade needs --to {tag_version} --allow-downgrade)"
        ));
        r.to = Some(i.clone());
        r.spec = format!("{PACKAGE}@{i}");
        return Ok(r);
    }
    if fits(&tag_version) {
        r.published_at = published_text(&doc, &tag_version);
        r.spec = format!("{PACKAGE}@{tag_version}");
        r.to = Some(tag_version);
        return Ok(with_manifest(r, &doc));
    }
    let mut why = Vec::new();
    if let Some(pin) = pin.filter(|pin| !pin.allows(&tag_version)) {
        why.push(format!("outside the pin {} ({})", pin.text, s.pin.source));
    }
    if young(&tag_version) {
        why.push(match published(&doc, &tag_version) {
            Some(t) => format!(
                "published {} ago, younger than min_release_age {} h ({})",
                humantime::format_duration(Duration::from_secs(
                    now.duration_since(t).unwrap_or_default().as_secs() / 60 * 60
                )),
                s.min_release_age.value,
                s.min_release_age.source
            ),
            None => "its publish time is unknown and min_release_age is set".into(),
        });
    }
    let pre = tag_version.is_prerelease();
    let best = doc
        .get("versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str()?.parse::<Version>().ok())
        .filter(|v| v < &tag_version && (pre || !v.is_prerelease()) && fits(v))
        .max();
    r.held = Some(format!("{tag} is {tag_version}, {}", why.join("; ")));
    match best {
        Some(b) if installed.is_none_or(|i| &b > i) => {
            let spec = format!("{PACKAGE}@{b}");
            let d = ask(&spec)?;
            r.published_at = published_text(&doc, &b);
            r.spec = spec;
            r.to = Some(b);
            Ok(with_manifest(r, &d))
        }
        Some(b) => {
            // Nothing newer than what is installed: keep it (a reinstall of `b` is no update).
            r.published_at = published_text(&doc, &b);
            r.to = installed.cloned();
            r.spec = format!(
                "{PACKAGE}@{}",
                installed.map(|i| i.to_string()).unwrap_or_default()
            );
            Ok(r)
        }
        None => Ok(r),
    }
}
