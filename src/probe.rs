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
    /// The id of an update that was killed in its outage window (`clawkit update --resume`).
    pub interrupted_update: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Ok,
    Skew,
    SplitInstall,
    GatewayDown,
    NotInstalled,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Skew => "skew",
            Verdict::SplitInstall => "split-install",
            Verdict::GatewayDown => "gateway-down",
            Verdict::NotInstalled => "not-installed",
        }
    }
}

impl Snapshot {
    pub fn take(env: &Env, target: &Target) -> Result<Snapshot> {
        let layout = layout::resolve(env, &target.profile, target.port)?;
        let config = Config::load(&layout.config_path);
        let (port, port_from) = match (layout.port_override, config.port) {
            (Some((p, from)), _) => (p, from),
            (None, Some(p)) => (p, "config gateway.port"),
            (None, None) => (layout::DEFAULT_PORT, "default"),
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
                        OpenClaw::new(&node.path, root).gateway_runtime_version(&layout, port)
                    {
                        gateway.version = Some(v);
                        gateway.version_source = Some("openclaw gateway call status");
                    }
                }
            }
        }
        let supervisor = supervisor::detect(
            env,
            &layout,
            &gateway,
            install.as_ref().and_then(|i| i.package_root.as_deref()),
        );

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

        let interrupted_update = crate::inflight::interrupted(&layout).map(|r| r.id);
        Ok(Snapshot {
            interrupted_update,
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

    pub fn verdict(&self) -> Verdict {
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
        if self.gateway.state != State::Running {
            return Verdict::GatewayDown;
        }
        Verdict::Ok
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
                (msg, Some("clawkit update --yes  (installs the latest release)".into()))
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

/// Another profile's gateway that runs from the same install as `snap`'s.
#[derive(Debug, Clone)]
pub struct Sibling {
    pub layout: Layout,
    pub port: u16,
    pub gateway: Gateway,
    pub supervisor: Supervisor,
    /// The package root could not be read (retitled process): assumed from its version.
    pub assumed: bool,
}

/// Every other running gateway whose code comes from `snap`'s install: other profiles in HOME
/// (`~/.openclaw`, `~/.openclaw-*`) and custom state dirs of running gateways. Replacing the
/// package breaks all of them, so an update stops and restarts them too.
pub fn siblings(env: &Env, snap: &Snapshot) -> Vec<Sibling> {
    let Some(install) = snap.install.as_ref().filter(|i| i.usable()) else {
        return Vec::new();
    };
    let Some(root) = install.package_root.as_ref() else {
        return Vec::new();
    };
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.clone());
    let home = &snap.layout.home;
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(home)
        .map(|rd| {
            rd.flatten()
                .filter(|e| {
                    let n = e.file_name();
                    let n = n.to_string_lossy();
                    (n == ".openclaw" || n.starts_with(".openclaw-")) && e.path().is_dir()
                })
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    for pid in crate::proc::all_pids() {
        let Some(info) = crate::proc::info(pid) else {
            continue;
        };
        let retitled = info
            .cmdline
            .first()
            .is_some_and(|a| a == "openclaw-gateway");
        if !(retitled || gateway::is_launcher(&info)) {
            continue;
        }
        let Some(penv) = crate::proc::environ(pid) else {
            continue;
        };
        let var = |key: &str| {
            penv.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| PathBuf::from(v))
        };
        // Only this user's gateways that share our home: another HOME is another setup.
        let their_home = var("OPENCLAW_HOME").or_else(|| var("HOME"));
        if their_home.as_deref() != Some(home.as_path()) {
            continue;
        }
        if let Some(dir) = var("OPENCLAW_STATE_DIR") {
            candidates.push(dir);
        }
    }
    candidates.sort();
    candidates.dedup();
    let mine = std::fs::canonicalize(&snap.layout.state_dir)
        .unwrap_or_else(|_| snap.layout.state_dir.clone());
    let mut out = Vec::new();
    for dir in candidates {
        if std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone()) == mine {
            continue;
        }
        let probe_layout = Layout::for_state_dir(home, &dir, None);
        let live = gateway::read_locks(&probe_layout)
            .into_iter()
            .find(|l| !l.stale && l.pid.is_some_and(crate::proc::alive) && l.port.is_some());
        let Some(lock) = live else { continue };
        let layout = Layout::for_state_dir(home, &dir, lock.config_path.clone());
        let port = lock.port.unwrap_or(crate::layout::DEFAULT_PORT);
        let token = Config::load(&layout.config_path).token;
        let gw = gateway::probe(&layout, port, token.as_ref());
        if !gw.up() {
            continue;
        }
        let sup = supervisor::detect(env, &layout, &gw, Some(&root));
        let rebuilt = sup.relaunch.as_ref().is_some_and(|r| r.reconstructed);
        // A retitled gateway's children (9.5+'s spawn broker) still name the package.
        let child_root = gw.pid.and_then(|pid| {
            crate::proc::children(pid)
                .into_iter()
                .filter_map(crate::proc::info)
                .find_map(|c| gateway::package_root_of(&c))
        });
        let known_root = match (&sup.package_root, rebuilt) {
            (Some(r), false) => Some(r.clone()),
            _ => child_root.map(|r| std::fs::canonicalize(&r).unwrap_or(r)),
        };
        let (same, assumed) = match (known_root, rebuilt) {
            (Some(r), _) => (r == root, false),
            _ => {
                let replaced_after_start = matches!(
                    (install.replaced_at, gw.process.as_ref().and_then(|p| p.started_at)),
                    (Some(r), Some(s)) if r > s
                );
                (
                    (gw.version.is_some() && gw.version == install.version) || replaced_after_start,
                    true,
                )
            }
        };
        if same {
            out.push(Sibling {
                layout,
                port,
                gateway: gw,
                supervisor: sup,
                assumed,
            });
        }
    }
    out
}
