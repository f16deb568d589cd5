//! The read-only snapshot every command starts from: installs, node, profile layout, config,
//! the running gateway and its supervisor. Taking it starts no Node process unless the gateway
//! is of an era that reveals its version only over RPC.

use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;

use crate::config::Config;
use crate::env::Env;
use crate::gateway::{self, Gateway, State};
use crate::install::{self, Install};
use crate::layout::{self, Layout, Profile};
use crate::node::Node;
use crate::openclaw::OpenClaw;
use crate::supervisor::{self, Supervisor};

/// What the user selected on the command line.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub profile: Profile,
    pub prefix: Option<PathBuf>,
    pub port: Option<u16>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub layout: Layout,
    pub config: Config,
    pub port: u16,
    pub port_from: &'static str,
    /// Every distinct install on PATH (and the `--prefix` one).
    pub installs: Vec<Install>,
    /// The install clawkit acts on: `--prefix`, else the first usable one on PATH.
    pub install: Option<Install>,
    pub node: Option<Node>,
    pub gateway: Gateway,
    pub supervisor: Supervisor,
    /// Signs that the CLI and the service run different installs.
    pub split: Vec<String>,
    /// The package directory was replaced after the running gateway started (1011 state).
    pub install_changed: bool,
    /// Operations whose clawkit was killed before they ended (`clawkit resume` finishes them).
    #[serde(skip)]
    pub interrupted: Vec<crate::record::Pending>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Ok,
    Skew,
    SplitInstall,
    /// The config was written by a newer release than the installed one: it refuses to start.
    ConfigNewer,
    GatewayDown,
    /// A clawkit operation was killed before it ended.
    Interrupted,
    NotInstalled,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Skew => "skew",
            Verdict::SplitInstall => "split-install",
            Verdict::ConfigNewer => "config-newer",
            Verdict::GatewayDown => "gateway-down",
            Verdict::Interrupted => "interrupted",
            Verdict::NotInstalled => "not-installed",
        }
    }
}

impl Snapshot {
    pub fn take(env: &Env, target: &Target) -> Result<Snapshot> {
        let layout = layout::resolve(env, &target.profile, target.port)?;
        let config = Config::load(&layout.config_path);
        // A running gateway's state-dir lock says which port it owns, whatever the config or
        // the environment say now (it may have been started with --port).
        let live_lock_port = gateway::read_locks(&layout)
            .into_iter()
            .filter(|l| !l.stale && l.pid.is_some_and(crate::proc::alive))
            .find_map(|l| l.port);
        let (port, port_from) = match (live_lock_port, layout.port_override, config.port) {
            (Some(p), _, _) => (p, "gateway lock"),
            (None, Some((p, from)), _) => (p, from),
            (None, None, Some(p)) => (p, "config gateway.port"),
            (None, None, None) => (layout::DEFAULT_PORT, "default"),
        };

        let mut installs = install::discover(env);
        let install = match &target.prefix {
            Some(prefix) => {
                let chosen = Install::in_prefix(prefix);
                if !installs
                    .iter()
                    .any(|i| i.package_root == chosen.package_root)
                {
                    installs.insert(0, chosen.clone());
                }
                Some(chosen)
            }
            None => installs
                .iter()
                .find(|i| i.usable())
                .or(installs.first())
                .cloned(),
        };
        let node = Node::on_path(env);

        let token = env
            .get("OPENCLAW_GATEWAY_TOKEN")
            .map(crate::secret::Secret::new)
            .or_else(|| config.token.clone());
        let mut gateway = gateway::probe(&layout, port, token.as_ref());
        if gateway.up() && gateway.version.is_none() {
            if let (Some(inst), Some(node)) = (&install, &node) {
                if let Some(root) = inst.package_root.as_ref().filter(|_| inst.usable()) {
                    if let Some(v) =
                        OpenClaw::new(&node.path, root, env).gateway_runtime_version(&layout, port)
                    {
                        gateway.version = Some(v);
                        gateway.version_source = Some("openclaw gateway call status");
                    }
                }
            }
        }
        // A retitled gateway's command line is rebuilt from the install it actually runs
        // (identified from its own PATH), not from whichever CLI clawkit was pointed at.
        let mut supervisor = supervisor::detect(env, &layout, &gateway, None);
        if supervisor.kind == supervisor::Kind::Unmanaged && supervisor.relaunch.is_none() {
            if let Some(root) = crate::identify::origin(&gateway, &supervisor).root() {
                supervisor = supervisor::detect(env, &layout, &gateway, Some(root));
            }
        }

        let mut split = Vec::new();
        let usable: Vec<&Install> = installs.iter().filter(|i| i.usable()).collect();
        if usable.len() > 1 {
            split.push(format!(
                "{} OpenClaw installs on PATH: {}",
                usable.len(),
                usable
                    .iter()
                    .map(|i| format!(
                        "{} ({})",
                        i.bin.display(),
                        i.version.as_ref().map_or("?".into(), |v| v.to_string())
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let cli_root = install
            .as_ref()
            .and_then(|i| i.package_root.as_ref())
            .map(|r| std::fs::canonicalize(r).unwrap_or_else(|_| r.clone()));
        if let (Some(service_root), Some(cli_root)) = (&supervisor.package_root, &cli_root) {
            if matches!(
                supervisor.kind,
                supervisor::Kind::Systemd | supervisor::Kind::Launchd
            ) && service_root != cli_root
            {
                split.push(format!(
                    "the {} service runs {} but the CLI is {}",
                    supervisor.kind.as_str(),
                    service_root.display(),
                    cli_root.display()
                ));
            }
        }
        if let (Some(service_node), Some(node)) = (&supervisor.node, &node) {
            let a = std::fs::canonicalize(service_node).unwrap_or_else(|_| service_node.clone());
            let b = std::fs::canonicalize(&node.path).unwrap_or_else(|_| node.path.clone());
            if matches!(
                supervisor.kind,
                supervisor::Kind::Systemd | supervisor::Kind::Launchd
            ) && a != b
            {
                split.push(format!(
                    "the service runs node {} but `node` on PATH is {}",
                    service_node.display(),
                    node.path.display()
                ));
            }
        }

        let install_changed = match (
            gateway.up(),
            install.as_ref().and_then(|i| i.replaced_at),
            gateway.process.as_ref().and_then(|p| p.started_at),
        ) {
            // 1 s of slack: /proc start times are in clock ticks.
            (true, Some(replaced), Some(started)) => {
                replaced > started + std::time::Duration::from_secs(1)
            }
            _ => false,
        };

        let interrupted = crate::record::pending(
            &layout.state_dir,
            install.as_ref().and_then(|i| i.prefix.as_deref()),
        );
        Ok(Snapshot {
            interrupted,
            layout,
            config,
            port,
            port_from,
            installs,
            install,
            node,
            gateway,
            supervisor,
            split,
            install_changed,
        })
    }

    pub fn cli_version(&self) -> Option<&crate::version::Version> {
        self.install.as_ref().and_then(|i| i.version.as_ref())
    }

    /// The id of the first interrupted operation, if any.
    pub fn interrupted_id(&self) -> Option<&str> {
        self.interrupted.first().map(|p| p.record.id.as_str())
    }

    /// The node that runs (or will run) this profile's gateway: the service's, else the running
    /// gateway's own executable, else the first `node` on PATH. Every command uses this one
    /// decision (engines checks, migrations, the OpenClaw CLI clawkit runs).
    pub fn gateway_node(&self, env: &Env) -> Option<Node> {
        let is_node = |p: &std::path::Path| {
            p.is_absolute()
                && p.exists()
                && p.file_name()
                    .is_some_and(|f| f.to_string_lossy().starts_with("node"))
        };
        let same_as_path = |p: &std::path::Path| {
            self.node
                .as_ref()
                .filter(|n| std::fs::canonicalize(&n.path).ok() == std::fs::canonicalize(p).ok())
        };
        if let Some(n) = self.supervisor.node.as_deref().filter(|n| is_node(n)) {
            return Some(same_as_path(n).cloned().unwrap_or_else(|| Node::at(n)));
        }
        let running_exe = self
            .gateway
            .launcher
            .as_ref()
            .or(self.gateway.process.as_ref())
            .and_then(|p| p.exe.clone())
            .filter(|e| is_node(e));
        if let Some(exe) = running_exe {
            return Some(
                same_as_path(&exe)
                    .cloned()
                    .unwrap_or_else(|| Node::at(&exe)),
            );
        }
        self.node.clone().or_else(|| Node::on_path(env))
    }

    pub fn verdict(&self) -> Verdict {
        if !self.interrupted.is_empty() {
            return Verdict::Interrupted;
        }
        let Some(cli) = self.cli_version() else {
            return Verdict::NotInstalled;
        };
        if self.gateway.up()
            && (self.gateway.version.as_ref().is_some_and(|g| g != cli) || self.install_changed)
        {
            return Verdict::Skew;
        }
        if !self.split.is_empty() {
            return Verdict::SplitInstall;
        }
        if self.config_newer().is_some() {
            return Verdict::ConfigNewer;
        }
        if self.gateway.state != State::Running {
            return Verdict::GatewayDown;
        }
        Verdict::Ok
    }

    /// The release that last wrote the config, when it is newer than the installed CLI.
    pub fn config_newer(&self) -> Option<&crate::version::Version> {
        let cli = self.cli_version()?;
        self.config
            .last_touched_version
            .as_ref()
            .filter(|w| *w > cli)
    }

    /// One sentence for the verdict, and the command that fixes it.
    pub fn explain(&self) -> (String, Option<String>) {
        let cli = self
            .cli_version()
            .map(|v| v.to_string())
            .unwrap_or_default();
        let profile_flag = match self.layout.profile.name() {
            Some(n) => format!(" --profile {n}"),
            None => String::new(),
        };
        match self.verdict() {
            Verdict::Ok => (
                format!("CLI and gateway both run OpenClaw {cli}"),
                None,
            ),
            Verdict::Skew => {
                let msg = match &self.gateway.version {
                    Some(g) if g.to_string() != cli => format!(
                        "the CLI is OpenClaw {cli} but the running gateway is {g}: devices will fall into the `pairing required` loop"
                    ),
                    _ => "the OpenClaw package was replaced after the gateway started: new connections fail with `1011 gateway install changed`".to_string(),
                };
                (msg, Some(format!("clawkit update{profile_flag}")))
            }
            Verdict::Interrupted => {
                let pend = &self.interrupted[0];
                (
                    crate::record::describe(pend),
                    Some(format!("clawkit{profile_flag} resume")),
                )
            }
            Verdict::ConfigNewer => {
                let written = self.config_newer().map(|v| v.to_string()).unwrap_or_default();
                (
                    format!(
                        "the config was last written by OpenClaw {written}, newer than the installed {cli}: this OpenClaw refuses to start on it"
                    ),
                    Some(format!(
                        "clawkit update{profile_flag} --to {written}  (or go back to the state of {cli}: clawkit rollback, or clawkit backups restore <id>)"
                    )),
                )
            }
            Verdict::SplitInstall => (
                self.split.join("; "),
                Some(
                    "remove the extra installs (or reinstall the service with `openclaw gateway install --force` from the CLI you use)"
                        .into(),
                ),
            ),
            Verdict::GatewayDown => match self.gateway.state {
                State::Foreign => (
                    format!(
                        "port {} is in use by something that is not an OpenClaw gateway{}",
                        self.port,
                        crate::proc::listener_pid(self.port)
                            .map(|p| format!(" (pid {p})"))
                            .unwrap_or_default()
                    ),
                    Some("stop that program, or move the gateway: openclaw config set gateway.port <free port>".to_string()),
                ),
                State::Starting => (
                    format!(
                        "the gateway on port {} is {}",
                        self.port,
                        self.gateway.status.as_deref().unwrap_or("starting")
                    ),
                    Some("wait a few seconds and run `clawkit status` again".into()),
                ),
                _ => (
                    format!("no gateway is running on port {}", self.port),
                    Some(match self.supervisor.kind {
                        supervisor::Kind::Systemd => format!(
                            "systemctl --user start {}",
                            self.supervisor.name.as_deref().unwrap_or("openclaw-gateway")
                        ),
                        supervisor::Kind::Launchd => format!(
                            "launchctl kickstart gui/$(id -u)/{}",
                            self.supervisor.name.as_deref().unwrap_or("ai.openclaw.gateway")
                        ),
                        _ => format!("openclaw{profile_flag} gateway run  (or install a service: openclaw gateway install)"),
                    }),
                ),
            },
            Verdict::NotInstalled => {
                let broken: Vec<String> = self
                    .installs
                    .iter()
                    .filter_map(|i| i.error.clone())
                    .collect();
                let msg = if broken.is_empty() {
                    "OpenClaw is not installed (no `openclaw` on PATH)".to_string()
                } else {
                    format!("no usable OpenClaw install: {}", broken.join("; "))
                };
                (msg, Some("clawkit update --install --yes  (installs the latest release)".into()))
            }
        }
    }
}

/// Every profile on this host: the default one, `~/.openclaw-NAME` directories, and systemd
/// units / launchd agents of named profiles.
pub fn profiles(env: &Env) -> Result<Vec<Profile>> {
    let home = layout::home_dir(env)?;
    let mut names: Vec<String> = Vec::new();
    let mut scan = |dir: PathBuf, prefix: &str, suffix: &str| {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                let n = e.file_name().to_string_lossy().to_string();
                if let Some(name) = n.strip_prefix(prefix).and_then(|r| r.strip_suffix(suffix)) {
                    names.push(name.to_string());
                }
            }
        }
    };
    scan(home.clone(), ".openclaw-", "");
    let config_home = env
        .path("XDG_CONFIG_HOME")
        .unwrap_or_else(|| home.join(".config"));
    scan(
        config_home.join("systemd/user"),
        "openclaw-gateway-",
        ".service",
    );
    scan(home.join("Library/LaunchAgents"), "ai.openclaw.", ".plist");
    let mut out = vec![Profile::Default];
    for n in names {
        if n == "gateway" {
            continue;
        }
        if let Ok(p @ Profile::Named(_)) = Profile::parse(&n) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out[1..].sort_by(|a, b| a.name().cmp(&b.name()));
    Ok(out)
}
