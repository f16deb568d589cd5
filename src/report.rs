//! The `--json` documents: one type per command document, and the JSON Schemas generated from
//! them (`schemas/<name>.json`, compared with these types by `tests/schemas.rs`).
//!
//! The contract:
//! - with `--json` a command prints exactly one document on stdout, of the same type whether it
//!   succeeds or fails (a usage error, a refusal, a held lock, no install…); a command line the
//!   argument parser rejects prints its command's document too (`lib::usage_document`), unless
//!   it names no command;
//! - every field is always present: `null` (or `[]`, `false`) when it is unknown or does not
//!   apply, never left out; no other field appears (`additionalProperties: false`);
//! - every document begins with `schema`, `command`, `outcome`, `exit_code` and carries `error`
//!   and `fix` (both `null` unless the command failed; `status` fills `fix` with the verdict's).
//!
//! Versioning: `schema` is [`SCHEMA`], one number for every document. It goes up by one with any
//! change to the generated schemas other than their descriptions: a field added, removed or
//! renamed, a type or an enumeration changed. A field whose meaning changes is renamed. So a
//! consumer that validates against `schemas/` of its `schema` never sees a document it does not
//! know. `tests/schemas.rs` holds the fingerprint of each version's shapes and fails when they
//! change without a new number.

use std::path::PathBuf;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::backup::Manifest;
use crate::cli::Command;
use crate::commands::doctor::{Check, Diagnosis};
use crate::commands::update::plan::Mode;
use crate::exit::Exit;
use crate::gateway::{LockFile, State};
use crate::identify::Origin;
use crate::install::Install;
use crate::journal::{Entry, StepRecord};
use crate::node::Node;
use crate::pairing::Era;
use crate::probe::Verdict;
use crate::settings::{Channel, Sourced};
use crate::supervisor::{Kind, Supervisor};
use crate::version::Version;

/// The version of every document's shape (see the module's documentation for when it changes).
pub const SCHEMA: u32 = 2;

/// The `schema` field: always [`SCHEMA`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchemaVersion;

impl Serialize for SchemaVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(SCHEMA)
    }
}

impl<'de> Deserialize<'de> for SchemaVersion {
    /// Any number: the cached `update --check` answer of an older clawkit is still read.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        u32::deserialize(d).map(|_| SchemaVersion)
    }
}

impl JsonSchema for SchemaVersion {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SchemaVersion".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        schemars::json_schema!({
            "description": "The version of the document's shape; it changes with any change to the fields.",
            "type": "integer",
            "const": SCHEMA,
        })
    }
}

/// The `all_profiles` field of a `--all-profiles` document: always `true`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AllProfiles;

impl Serialize for AllProfiles {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(true)
    }
}

impl JsonSchema for AllProfiles {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AllProfiles".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        schemars::json_schema!({"type": "boolean", "const": true})
    }
}

/// How a command failed before it could fill its own document: the fields every document has.
#[derive(Debug, Clone)]
pub struct Failed {
    /// `refused` (exit 6), `locked` (5), `usage` (2) or `failed`.
    pub outcome: &'static str,
    pub exit: Exit,
    pub error: String,
    pub fix: Option<String>,
}

impl Failed {
    /// The failure an error that escaped a command stands for.
    pub fn from_error(err: &anyhow::Error) -> Failed {
        let failure = err
            .chain()
            .find_map(|e| e.downcast_ref::<crate::exit::Failure>());
        let exit = crate::exit::exit_for(err);
        Failed {
            outcome: match exit {
                Exit::Refused => "refused",
                Exit::Locked => "locked",
                Exit::Usage => "usage",
                _ => "failed",
            },
            exit,
            error: failure.map_or_else(|| format!("{err:#}"), |f| f.message.clone()),
            fix: failure.and_then(|f| f.fix.clone()),
        }
    }
}

/// The document a failed command prints; `None` for the commands without a JSON document
/// (`man`, `completions`, `shell-init`, `intercept`).
pub fn failure(command: &Command, f: &Failed) -> Option<Document> {
    use crate::cli::{BackupsCommand, ConfigCommand, RepairCommand, ScheduleCommand};
    use Document as D;
    Some(match command {
        Command::Status(a) if a.all_profiles => D::StatusAll(Box::new(StatusAllDoc::failed(f))),
        Command::Status(_) => D::Status(Box::new(StatusDoc::failed(f))),
        Command::Doctor(a) if a.all_profiles => D::DoctorAll(Box::new(DoctorAllDoc::failed(f))),
        Command::Doctor(_) => D::Doctor(Box::new(DoctorDoc::failed(f))),
        Command::Update(a) if a.resume => D::Resume(Box::new(ResumeDoc::failed(f))),
        Command::Update(a) if a.check => D::UpdateCheck(Box::new(UpdateCheckDoc::failed(f))),
        Command::Update(_) => D::Update(Box::new(UpdateDoc::failed(f))),
        Command::Resume => D::Resume(Box::new(ResumeDoc::failed(f))),
        Command::Rollback(_) => D::Rollback(Box::new(RollbackDoc::failed(f))),
        Command::Repair(RepairCommand::Lock { dry_run }) => {
            D::RepairLock(Box::new(RepairLockDoc {
                dry_run: *dry_run,
                ..RepairLockDoc::failed(f)
            }))
        }
        Command::Repair(RepairCommand::Pairing { .. }) => {
            D::RepairPairing(Box::new(RepairPairingDoc::failed(f)))
        }
        Command::Reset(_) => D::ResetDevices(Box::new(ResetDevicesDoc::failed(f))),
        Command::Backups(BackupsCommand::List) => {
            D::BackupsList(Box::new(BackupsListDoc::failed(f)))
        }
        Command::Backups(BackupsCommand::Show { .. }) => {
            D::BackupsShow(Box::new(BackupsShowDoc::failed(f)))
        }
        Command::Backups(BackupsCommand::Restore { .. }) => {
            D::BackupsRestore(Box::new(BackupsRestoreDoc::failed(f)))
        }
        Command::History(_) => D::History(Box::new(HistoryDoc::failed(f))),
        Command::Config(ConfigCommand::Show) => D::ConfigShow(Box::new(ConfigShowDoc::failed(f))),
        Command::Config(ConfigCommand::Path) => D::ConfigPath(Box::new(ConfigPathDoc::failed(f))),
        Command::Schedule(ScheduleCommand::Install(_)) => {
            D::ScheduleInstall(Box::new(ScheduleInstallDoc::failed(f)))
        }
        Command::Schedule(ScheduleCommand::Remove { .. }) => {
            D::ScheduleRemove(Box::new(ScheduleRemoveDoc::failed(f)))
        }
        Command::Schedule(ScheduleCommand::Status) => {
            D::ScheduleStatus(Box::new(ScheduleStatusDoc::failed(f)))
        }
        Command::Completions { .. }
        | Command::ShellInit { .. }
        | Command::Intercept { .. }
        | Command::Man { .. } => return None,
    })
}

/// Any command's document (serialized as the document itself).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Document {
    Status(Box<StatusDoc>),
    StatusAll(Box<StatusAllDoc>),
    Doctor(Box<DoctorDoc>),
    DoctorAll(Box<DoctorAllDoc>),
    Update(Box<UpdateDoc>),
    UpdateCheck(Box<UpdateCheckDoc>),
    Resume(Box<ResumeDoc>),
    Rollback(Box<RollbackDoc>),
    RepairLock(Box<RepairLockDoc>),
    RepairPairing(Box<RepairPairingDoc>),
    ResetDevices(Box<ResetDevicesDoc>),
    BackupsList(Box<BackupsListDoc>),
    BackupsShow(Box<BackupsShowDoc>),
    BackupsRestore(Box<BackupsRestoreDoc>),
    History(Box<HistoryDoc>),
    ConfigShow(Box<ConfigShowDoc>),
    ConfigPath(Box<ConfigPathDoc>),
    ScheduleInstall(Box<ScheduleInstallDoc>),
    ScheduleRemove(Box<ScheduleRemoveDoc>),
    ScheduleStatus(Box<ScheduleStatusDoc>),
}

/// `new` (the header of a document, every other field empty) and `failed` for each document.
macro_rules! documents {
    ($($t:ident => $command:literal),* $(,)?) => {$(
        impl $t {
            /// The command name in `command`.
            pub const COMMAND: &'static str = $command;

            /// This document with its header set and every other field empty.
            pub fn new(outcome: impl Into<String>, exit: Exit) -> Self {
                $t {
                    schema: SchemaVersion,
                    command: $command,
                    outcome: outcome.into(),
                    exit_code: exit.code(),
                    ..Default::default()
                }
            }

            /// The document of a run that failed before the command could fill it.
            pub fn failed(f: &Failed) -> Self {
                $t {
                    error: Some(f.error.clone()),
                    fix: f.fix.clone(),
                    ..Self::new(f.outcome, f.exit)
                }
            }
        }
    )*};
}

documents! {
    StatusDoc => "status",
    StatusAllDoc => "status",
    DoctorDoc => "doctor",
    DoctorAllDoc => "doctor",
    UpdateDoc => "update",
    UpdateCheckDoc => "update --check",
    ResumeDoc => "resume",
    RollbackDoc => "rollback",
    RepairLockDoc => "repair lock",
    RepairPairingDoc => "repair pairing",
    ResetDevicesDoc => "reset devices",
    BackupsListDoc => "backups list",
    BackupsShowDoc => "backups show",
    BackupsRestoreDoc => "backups restore",
    HistoryDoc => "history",
    ConfigShowDoc => "config show",
    ConfigPathDoc => "config path",
    ScheduleInstallDoc => "schedule install",
    ScheduleRemoveDoc => "schedule remove",
    ScheduleStatusDoc => "schedule status",
}

// ---------------------------------------------------------------------------------------------
// status

/// The install clawkit acts on.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CliDoc {
    pub version: Option<Version>,
    pub bin: PathBuf,
    pub package_root: Option<PathBuf>,
    pub prefix: Option<PathBuf>,
    pub engines_node: Option<String>,
    /// The package's declared state schema versions, as it declares them.
    pub schema_versions: Option<Value>,
    /// Why the install could not be read.
    pub error: Option<String>,
}

/// The profile's gateway.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct GatewayDoc {
    pub state: State,
    /// `/startupz` status when known (`started`, `starting`, `draining`).
    pub status: Option<String>,
    pub version: Option<Version>,
    /// Where `version` was read.
    pub version_source: Option<String>,
    pub pid: Option<u32>,
    pub port: u16,
    /// The package directory was replaced after the running gateway started.
    pub install_changed: bool,
    pub locks: Vec<LockFile>,
}

/// An operation whose clawkit was killed before it ended (`clawkit resume` finishes it).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct InterruptedDoc {
    pub id: String,
    pub command: String,
    pub started_at: String,
    /// Its transaction record.
    pub record: PathBuf,
}

/// A release newer than the installed one, from the cache of the last `clawkit update --check`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct AvailableDoc {
    pub version: Option<Version>,
    pub published_at: Option<String>,
    pub checked_at: Option<String>,
}

/// `clawkit status --json` (one profile; each entry of `profiles` with `--all-profiles`).
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct StatusDoc {
    pub schema: SchemaVersion,
    #[schemars(extend("const" = "status"))]
    pub command: &'static str,
    /// `ok` (exit 0), `problem` (exit 3: the verdict is not `ok`); `failed`, `usage`, `refused`
    /// or `locked` when the status could not be taken.
    pub outcome: String,
    pub exit_code: u8,
    /// Null when the status could not be taken.
    pub verdict: Option<Verdict>,
    /// The verdict in words.
    pub message: Option<String>,
    /// The next step: the verdict's, or the failure's.
    pub fix: Option<String>,
    pub profile: Option<String>,
    pub state_dir: Option<PathBuf>,
    pub config_path: Option<PathBuf>,
    /// Why the OpenClaw config could not be read.
    pub config_error: Option<String>,
    pub port: Option<u16>,
    /// Where `port` came from (`gateway lock`, `--port`, `config gateway.port`, `default`, …).
    pub port_from: Option<String>,
    pub cli: Option<CliDoc>,
    /// The `node` the CLI runs with.
    pub node: Option<Node>,
    /// Every distinct install on PATH (and the `--prefix` one).
    pub installs: Vec<Install>,
    pub gateway: Option<GatewayDoc>,
    pub supervisor: Option<Supervisor>,
    /// Signs that the CLI and the service run different installs.
    pub split: Vec<String>,
    /// The id of the first interrupted operation (see `interrupted`).
    pub interrupted_update: Option<String>,
    pub interrupted: Vec<InterruptedDoc>,
    /// A newer release, when a fresh `clawkit update --check` found one (status itself never
    /// asks the registry).
    pub available: Option<AvailableDoc>,
    pub error: Option<String>,
}

/// `clawkit status --all-profiles --json`.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct StatusAllDoc {
    pub schema: SchemaVersion,
    #[schemars(extend("const" = "status"))]
    pub command: &'static str,
    /// As a profile's: `ok`, `problem` or the failure.
    pub outcome: String,
    pub exit_code: u8,
    pub all_profiles: AllProfiles,
    /// Every profile's verdict is `ok`.
    pub ok: bool,
    /// The first verdict that is not `ok` (else `ok`); null when the status failed.
    pub verdict: Option<Verdict>,
    pub profiles: Vec<StatusDoc>,
    pub error: Option<String>,
    pub fix: Option<String>,
}

/// `clawkit status --json`: one profile, or every profile with `--all-profiles`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum StatusOutput {
    One(Box<StatusDoc>),
    All(StatusAllDoc),
}

// ---------------------------------------------------------------------------------------------
// doctor

/// `clawkit doctor --json` (one profile; each entry of `profiles` with `--all-profiles`).
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct DoctorDoc {
    pub schema: SchemaVersion,
    #[schemars(extend("const" = "doctor"))]
    pub command: &'static str,
    /// `ok` (exit 0), `problem` (exit 3: a check warns or fails); `failed`, `usage`, `refused`
    /// or `locked` when the doctor could not run.
    pub outcome: String,
    pub exit_code: u8,
    /// No check warns or fails.
    pub ok: bool,
    /// `healthy`, `warnings`, `problems` or `version-skew-loop`; null when the doctor failed.
    pub verdict: Option<String>,
    pub profile: Option<String>,
    pub state_dir: Option<PathBuf>,
    pub checks: Vec<Check>,
    pub diagnosis: Option<Diagnosis>,
    /// The one next step.
    pub next: Option<String>,
    pub error: Option<String>,
    pub fix: Option<String>,
}

/// `clawkit doctor --all-profiles --json`.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct DoctorAllDoc {
    pub schema: SchemaVersion,
    #[schemars(extend("const" = "doctor"))]
    pub command: &'static str,
    pub outcome: String,
    pub exit_code: u8,
    pub all_profiles: AllProfiles,
    pub ok: bool,
    /// The worst profile's verdict; null when the doctor failed.
    pub verdict: Option<String>,
    pub profiles: Vec<DoctorDoc>,
    pub error: Option<String>,
    pub fix: Option<String>,
}

/// `clawkit doctor --json`: one profile, or every profile with `--all-profiles`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum DoctorOutput {
    One(Box<DoctorDoc>),
    All(DoctorAllDoc),
}

// ---------------------------------------------------------------------------------------------
// update

/// A gateway the update stops and starts, as planned.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct PlanGateway {
    pub profile: String,
    pub state_dir: PathBuf,
    pub port: u16,
    pub supervisor: Kind,
    pub running: bool,
    pub version: Option<Version>,
    pub origin: Origin,
}

/// One step of the plan and the command it runs.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct PlanStep {
    pub step: String,
    pub command: String,
}

/// The plan `update --dry-run` prints.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct PlanDoc {
    pub id: String,
    pub mode: Mode,
    pub from: Option<Version>,
    pub to: Version,
    /// What npm installs: `openclaw@<exact>` or a tarball's path.
    pub spec: String,
    pub prefix: PathBuf,
    pub node: Node,
    pub gateways: Vec<PlanGateway>,
    pub start_after: bool,
    pub migrate: bool,
    /// Why there is no rehearsal; null: there is one.
    pub rehearsal: Option<String>,
    pub notes: Vec<String>,
    pub steps: Vec<PlanStep>,
}

/// A gateway the update stopped and started.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct UpdatedGateway {
    pub profile: String,
    pub state_dir: PathBuf,
    pub port: u16,
    pub supervisor: Kind,
    pub version_before: Option<Version>,
    /// The version its `/startupz` reports now.
    pub version_now: Option<String>,
}

/// The outage in parts, in milliseconds.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct OutageDoc {
    pub total_ms: Option<u64>,
    pub stop_ms: u64,
    pub backup_ms: u64,
    pub swap_ms: u64,
    pub migrate_ms: u64,
    pub start_to_healthy_ms: u64,
}

/// `clawkit update --json`.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct UpdateDoc {
    pub schema: SchemaVersion,
    #[schemars(extend("const" = "update"))]
    pub command: &'static str,
    /// `updated`, `restarted`, `already-current`, `planned` (dry run), `rolled-back` (exit 4),
    /// `refused` (6), `locked` (5), `usage` (2), `failed` (1).
    pub outcome: String,
    pub exit_code: u8,
    pub mode: Option<Mode>,
    pub from: Option<Version>,
    pub to: Option<Version>,
    pub cli_version: Option<Version>,
    pub gateway_version: Option<Version>,
    pub supervisor: Option<Kind>,
    pub downtime_ms: Option<u64>,
    pub duration_ms: Option<u64>,
    pub steps: Vec<StepRecord>,
    pub backup: Option<PathBuf>,
    pub journal: Option<PathBuf>,
    pub error: Option<String>,
    pub fix: Option<String>,
    /// The plan (dry run).
    pub plan: Option<PlanDoc>,
    /// OpenClaw's own `doctor --lint` findings after the update, as it reports them.
    pub findings: Vec<Value>,
    /// Every gateway the update stopped and started (all profiles of the install).
    pub gateways: Vec<UpdatedGateway>,
    /// The rehearsal before the stop: null when it did not run (see `plan.rehearsal`).
    pub rehearsal: Option<crate::rehearsal::Verdict>,
    pub outage: Option<OutageDoc>,
    /// Why a newer release than `to` was not taken (pin, min_release_age).
    pub held: Option<String>,
    /// When `to` was published (RFC 3339, from the registry; null for --package).
    pub published_at: Option<String>,
}

/// `clawkit update --check --json`; also the cached answer `status` reads.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct UpdateCheckDoc {
    pub schema: SchemaVersion,
    #[schemars(extend("const" = "update --check"))]
    #[serde(skip_deserializing)]
    pub command: &'static str,
    /// `current` (exit 0), `available` (exit 7), `held` (exit 0: a newer release exists but the
    /// pin or min_release_age keeps it out); `failed` or `usage` when the check could not run.
    pub outcome: String,
    pub exit_code: u8,
    pub installed: Option<Version>,
    pub available: Option<Version>,
    /// When `available` was published (RFC 3339, from the registry).
    pub published_at: Option<String>,
    /// What was asked: `channel stable (latest)`, `--to beta`.
    pub asked: Option<String>,
    pub channel: Option<String>,
    pub pin: Option<String>,
    pub min_release_age_hours: Option<u64>,
    /// The tag's own version when the pin or age held it back, and why.
    pub held: Option<String>,
    pub checked_at: Option<String>,
    pub error: Option<String>,
    pub fix: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// the transaction-guarded commands

/// How one transaction ended: the fields its document shares with the others.
#[derive(Debug, Clone)]
pub struct TxnEnd {
    pub outcome: String,
    pub exit: Exit,
    pub id: Option<String>,
    pub from: Option<Version>,
    pub to: Option<Version>,
    pub error: Option<String>,
    pub fix: Option<String>,
    pub backup: Option<PathBuf>,
    pub downtime_ms: Option<u64>,
    pub duration_ms: Option<u64>,
    pub steps: Vec<StepRecord>,
}

macro_rules! txn_documents {
    ($($t:ident),*) => {$(
        impl $t {
            /// The document of a transaction that ran; the command's own fields empty.
            pub fn ended(t: TxnEnd) -> Self {
                $t {
                    id: t.id,
                    from: t.from,
                    to: t.to,
                    error: t.error,
                    fix: t.fix,
                    backup: t.backup,
                    downtime_ms: t.downtime_ms,
                    duration_ms: t.duration_ms,
                    steps: t.steps,
                    ..Self::new(t.outcome, t.exit)
                }
            }
        }
    )*};
}

txn_documents!(
    RollbackDoc,
    RepairPairingDoc,
    ResetDevicesDoc,
    BackupsRestoreDoc
);

/// `clawkit rollback --json`.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RollbackDoc {
    pub schema: SchemaVersion,
    #[schemars(extend("const" = "rollback"))]
    pub command: &'static str,
    /// `planned` (dry run), `rolled-back`, `undone` (exit 4), `failed`, `refused`, `locked`,
    /// `usage`.
    pub outcome: String,
    pub exit_code: u8,
    /// The rollback's own journal id (null in a dry run).
    pub id: Option<String>,
    /// The version installed before the rollback.
    pub from: Option<Version>,
    /// The version it goes back to.
    pub to: Option<Version>,
    pub error: Option<String>,
    pub fix: Option<String>,
    /// The safety backup of the state taken before the rollback.
    pub backup: Option<PathBuf>,
    pub downtime_ms: Option<u64>,
    pub duration_ms: Option<u64>,
    pub steps: Vec<StepRecord>,
    /// The journal id of the update it undoes.
    pub journal_id: Option<String>,
    /// The kept package it swaps back (null: npm reinstalls it).
    pub previous_package: Option<PathBuf>,
    pub notes: Vec<String>,
}

/// `clawkit repair pairing --json`.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RepairPairingDoc {
    pub schema: SchemaVersion,
    #[schemars(extend("const" = "repair pairing"))]
    pub command: &'static str,
    /// `planned` (dry run), `repaired`, `undone` (exit 4), `failed`, `refused`, `locked`,
    /// `usage`.
    pub outcome: String,
    pub exit_code: u8,
    pub id: Option<String>,
    pub from: Option<Version>,
    pub to: Option<Version>,
    pub error: Option<String>,
    pub fix: Option<String>,
    pub backup: Option<PathBuf>,
    pub downtime_ms: Option<u64>,
    pub duration_ms: Option<u64>,
    pub steps: Vec<StepRecord>,
    /// Where this release keeps pairing: `json` (≤ 2026.7) or `sqlite`.
    pub era: Option<Era>,
    /// The plan in words (dry run).
    pub plan: Option<String>,
    /// The JSON-era files the repair removes (dry run).
    pub clears: Vec<PathBuf>,
    /// The request id approved after the repair.
    pub approved: Option<String>,
}

/// `clawkit reset devices --json`.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ResetDevicesDoc {
    pub schema: SchemaVersion,
    #[schemars(extend("const" = "reset devices"))]
    pub command: &'static str,
    /// `planned` (dry run), `reset`, `undone` (exit 4), `failed`, `refused`, `locked`, `usage`.
    pub outcome: String,
    pub exit_code: u8,
    pub id: Option<String>,
    pub from: Option<Version>,
    pub to: Option<Version>,
    pub error: Option<String>,
    pub fix: Option<String>,
    pub backup: Option<PathBuf>,
    pub downtime_ms: Option<u64>,
    pub duration_ms: Option<u64>,
    pub steps: Vec<StepRecord>,
    pub era: Option<Era>,
    /// The paired devices found (null when unknown).
    pub paired: Option<usize>,
    /// The same count: the devices paired before the reset.
    pub paired_before: Option<usize>,
}

/// A backup in a listing.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct BackupSummary {
    pub id: String,
    pub created_at: String,
    pub reason: String,
    pub from: Option<Version>,
    pub to: Option<Version>,
    pub dir: PathBuf,
    pub files: usize,
    pub bytes: u64,
}

/// `clawkit backups restore --json`.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct BackupsRestoreDoc {
    pub schema: SchemaVersion,
    #[schemars(extend("const" = "backups restore"))]
    pub command: &'static str,
    /// `planned` (dry run), `restored`, `undone` (exit 4), `failed`, `refused`, `locked`,
    /// `usage`.
    pub outcome: String,
    pub exit_code: u8,
    pub id: Option<String>,
    pub from: Option<Version>,
    pub to: Option<Version>,
    pub error: Option<String>,
    pub fix: Option<String>,
    /// The safety backup of the state taken before the restore (null in a dry run).
    pub backup: Option<PathBuf>,
    pub downtime_ms: Option<u64>,
    pub duration_ms: Option<u64>,
    pub steps: Vec<StepRecord>,
    /// The id of the backup restored.
    pub restored: Option<String>,
    /// The backup restored, as `backups list` shows it.
    pub source: Option<BackupSummary>,
}

/// A gateway lock file `repair lock` removes.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LockRemoved {
    pub path: PathBuf,
}

/// A gateway lock file `repair lock` keeps, and why.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LockKept {
    pub path: PathBuf,
    pub pid: Option<u32>,
    pub reason: String,
}

/// `clawkit repair lock --json`.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RepairLockDoc {
    pub schema: SchemaVersion,
    #[schemars(extend("const" = "repair lock"))]
    pub command: &'static str,
    /// `planned` (dry run), `done`, `failed`, `refused`, `locked`, `usage`.
    pub outcome: String,
    pub exit_code: u8,
    pub dry_run: bool,
    pub removed: Vec<LockRemoved>,
    pub kept: Vec<LockKept>,
    pub error: Option<String>,
    pub fix: Option<String>,
}

/// `clawkit resume --json` and `clawkit update --resume --json`.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ResumeDoc {
    pub schema: SchemaVersion,
    #[schemars(extend("const" = "resume"))]
    pub command: &'static str,
    /// `nothing`, or the last operation's: `completed`, `resolved`, `rolled-back`, `undone`,
    /// `failed`, `refused`; `locked`, `usage` or `failed` when the resume could not run.
    pub outcome: String,
    pub exit_code: u8,
    pub resumed: Vec<crate::txn::Resumed>,
    pub error: Option<String>,
    pub fix: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// read-only listings and settings

/// `clawkit history --json` (`entries`) and `clawkit history show --json` (`entry`).
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct HistoryDoc {
    pub schema: SchemaVersion,
    #[schemars(extend("const" = "history"))]
    pub command: &'static str,
    /// `ok`; `usage` (no entry has that id), `failed`.
    pub outcome: String,
    pub exit_code: u8,
    /// The newest runs first (`history`; empty for `history show`).
    pub entries: Vec<Entry>,
    /// The run `history show` shows (null for `history`).
    pub entry: Option<Entry>,
    pub error: Option<String>,
    pub fix: Option<String>,
}

/// `clawkit backups list --json`.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct BackupsListDoc {
    pub schema: SchemaVersion,
    #[schemars(extend("const" = "backups list"))]
    pub command: &'static str,
    /// `ok`; `failed`, `usage`.
    pub outcome: String,
    pub exit_code: u8,
    pub dir: Option<PathBuf>,
    pub backups: Vec<BackupSummary>,
    pub error: Option<String>,
    pub fix: Option<String>,
}

/// `clawkit backups show --json`.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct BackupsShowDoc {
    pub schema: SchemaVersion,
    #[schemars(extend("const" = "backups show"))]
    pub command: &'static str,
    /// `ok`; `usage` (no backup has that id), `failed`.
    pub outcome: String,
    pub exit_code: u8,
    pub dir: Option<PathBuf>,
    pub manifest: Option<Manifest>,
    pub error: Option<String>,
    pub fix: Option<String>,
}

/// `clawkit config show --json`: each setting with where it came from.
#[derive(Debug, Default, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ConfigShowDoc {
    pub schema: SchemaVersion,
    #[schemars(extend("const" = "config show"))]
    pub command: &'static str,
    /// `ok`; `usage` (the config file or a `CLAWKIT_*` value is invalid).
    pub outcome: String,
    pub exit_code: u8,
    pub file: Option<PathBuf>,
    pub file_exists: Option<bool>,
    pub channel: Option<Sourced<Channel>>,
    /// The npm dist-tag of the channel.
    pub channel_tag: Option<String>,
    pub pin: Option<Sourced<Option<String>>>,
    pub min_release_age_hours: Option<Sourced<u64>>,
    /// The notify command's program only (its arguments may hold a key).
    pub notify: Option<Sourced<Option<String>>>,
    pub keep: Option<Sourced<u64>>,
    pub timeout_secs: Option<Sourced<u64>>,
    pub rehearsal: Option<Sourced<bool>>,
    pub error: Option<String>,
    pub fix: Option<String>,
}

/// `clawkit config path --json`.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ConfigPathDoc {
    pub schema: SchemaVersion,
    #[schemars(extend("const" = "config path"))]
    pub command: &'static str,
    /// `ok`.
    pub outcome: String,
    pub exit_code: u8,
    pub file: Option<PathBuf>,
    pub file_exists: Option<bool>,
    pub error: Option<String>,
    pub fix: Option<String>,
}

/// `clawkit schedule install --json`.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ScheduleInstallDoc {
    pub schema: SchemaVersion,
    #[schemars(extend("const" = "schedule install"))]
    pub command: &'static str,
    /// `planned` (dry run), `installed`; `refused` (no service manager answers), `usage`,
    /// `failed`.
    pub outcome: String,
    pub exit_code: u8,
    /// `systemd` or `launchd`.
    pub kind: Option<String>,
    /// The unit files or the plist.
    pub files: Vec<PathBuf>,
    /// The schedule in words.
    pub when: Option<String>,
    /// The job's command line (secrets redacted).
    pub command_line: Vec<String>,
    /// The service manager commands it runs.
    pub commands: Vec<String>,
    pub error: Option<String>,
    pub fix: Option<String>,
}

/// `clawkit schedule remove --json`.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ScheduleRemoveDoc {
    pub schema: SchemaVersion,
    #[schemars(extend("const" = "schedule remove"))]
    pub command: &'static str,
    /// `planned` (dry run), `removed`, `absent` (nothing was installed); `refused`, `failed`.
    pub outcome: String,
    pub exit_code: u8,
    pub kind: Option<String>,
    /// The files removed (or, in a dry run, to remove).
    pub files: Vec<PathBuf>,
    pub error: Option<String>,
    pub fix: Option<String>,
}

/// `clawkit schedule status --json`.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ScheduleStatusDoc {
    pub schema: SchemaVersion,
    #[schemars(extend("const" = "schedule status"))]
    pub command: &'static str,
    /// `present`, `absent`; `refused`, `failed`.
    pub outcome: String,
    pub exit_code: u8,
    pub kind: Option<String>,
    pub files: Vec<PathBuf>,
    /// systemd only: when the timer fires next, when it last fired, and how that run ended.
    pub next_run: Option<String>,
    pub last_run: Option<String>,
    pub last_result: Option<String>,
    pub error: Option<String>,
    pub fix: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// schemas

/// The JSON Schema of a document type: the shape it serializes to (`Option` fields required and
/// nullable, no other field allowed).
pub fn schema_of<T: JsonSchema>(name: &str, title: &str) -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let schema = generator.into_root_schema_for::<T>();
    let mut v = serde_json::to_value(schema).expect("schemas serialize");
    if let Some(o) = v.as_object_mut() {
        let body = std::mem::take(o);
        o.insert(
            "$schema".into(),
            "https://json-schema.org/draft/2020-12/schema".into(),
        );
        o.insert(
            "$id".into(),
            format!("https://clawkit.invalid/schemas/{name}.json").into(),
        );
        o.insert("title".into(), title.into());
        o.extend(
            body.into_iter()
                .filter(|(k, _)| k != "$schema" && k != "title"),
        );
    }
    v
}

/// Every document's schema, by file name (`schemas/<name>.json`).
pub fn schemas() -> Vec<(&'static str, Value)> {
    vec![
        (
            "status",
            schema_of::<StatusOutput>("status", "clawkit status --json"),
        ),
        (
            "doctor",
            schema_of::<DoctorOutput>("doctor", "clawkit doctor --json"),
        ),
        (
            "update",
            schema_of::<UpdateDoc>("update", "clawkit update --json"),
        ),
        (
            "update-check",
            schema_of::<UpdateCheckDoc>("update-check", "clawkit update --check --json"),
        ),
        (
            "resume",
            schema_of::<ResumeDoc>(
                "resume",
                "clawkit resume --json, clawkit update --resume --json",
            ),
        ),
        (
            "rollback",
            schema_of::<RollbackDoc>("rollback", "clawkit rollback --json"),
        ),
        (
            "repair-lock",
            schema_of::<RepairLockDoc>("repair-lock", "clawkit repair lock --json"),
        ),
        (
            "repair-pairing",
            schema_of::<RepairPairingDoc>("repair-pairing", "clawkit repair pairing --json"),
        ),
        (
            "reset-devices",
            schema_of::<ResetDevicesDoc>("reset-devices", "clawkit reset devices --json"),
        ),
        (
            "backups-list",
            schema_of::<BackupsListDoc>("backups-list", "clawkit backups list --json"),
        ),
        (
            "backups-show",
            schema_of::<BackupsShowDoc>("backups-show", "clawkit backups show --json"),
        ),
        (
            "backups-restore",
            schema_of::<BackupsRestoreDoc>("backups-restore", "clawkit backups restore --json"),
        ),
        (
            "history",
            schema_of::<HistoryDoc>("history", "clawkit history [show] --json"),
        ),
        (
            "config-show",
            schema_of::<ConfigShowDoc>("config-show", "clawkit config show --json"),
        ),
        (
            "config-path",
            schema_of::<ConfigPathDoc>("config-path", "clawkit config path --json"),
        ),
        (
            "schedule-install",
            schema_of::<ScheduleInstallDoc>("schedule-install", "clawkit schedule install --json"),
        ),
        (
            "schedule-remove",
            schema_of::<ScheduleRemoveDoc>("schedule-remove", "clawkit schedule remove --json"),
        ),
        (
            "schedule-status",
            schema_of::<ScheduleStatusDoc>("schedule-status", "clawkit schedule status --json"),
        ),
    ]
}

/// The file `schemas/<name>.json` holds for this schema (pretty, with a final newline).
pub fn schema_text(schema: &Value) -> String {
    serde_json::to_string_pretty(schema).expect("schemas serialize") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every object in every schema forbids unknown fields and requires every field it names.
    #[test]
    fn every_object_is_closed_and_every_field_required() {
        fn walk(v: &Value, at: &str, problems: &mut Vec<String>) {
            match v {
                Value::Object(o) => {
                    if let Some(Value::Object(props)) = o.get("properties") {
                        if o.get("additionalProperties") != Some(&Value::Bool(false)) {
                            problems.push(format!("{at}: additionalProperties is not false"));
                        }
                        let required: Vec<&str> = o
                            .get("required")
                            .and_then(Value::as_array)
                            .map(|r| r.iter().filter_map(Value::as_str).collect())
                            .unwrap_or_default();
                        for k in props.keys() {
                            if !required.contains(&k.as_str()) {
                                problems.push(format!("{at}: {k} is not required"));
                            }
                        }
                    }
                    for (k, x) in o {
                        walk(x, &format!("{at}/{k}"), problems);
                    }
                }
                Value::Array(a) => {
                    for (i, x) in a.iter().enumerate() {
                        walk(x, &format!("{at}/{i}"), problems);
                    }
                }
                _ => {}
            }
        }
        let mut problems = Vec::new();
        for (name, schema) in schemas() {
            walk(&schema, name, &mut problems);
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }

    /// A failure document has every field of the success document, and the header.
    #[test]
    fn failure_documents_have_the_full_shape() {
        let f = Failed {
            outcome: "locked",
            exit: Exit::Locked,
            error: "held".into(),
            fix: None,
        };
        let doc = serde_json::to_value(UpdateDoc::failed(&f)).unwrap();
        assert_eq!(doc["schema"], SCHEMA);
        assert_eq!(doc["command"], "update");
        assert_eq!(doc["outcome"], "locked");
        assert_eq!(doc["exit_code"], 5);
        assert_eq!(doc["error"], "held");
        assert!(
            doc["fix"].is_null() && doc["plan"].is_null() && doc["steps"] == Value::Array(vec![])
        );
    }
}
