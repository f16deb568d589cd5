//! Test harness: fake OpenClaw releases served by a local registry, and sandboxes with a
//! private HOME and PATH (fake systemctl/launchctl first) that run the real clawkit binary.
#![allow(dead_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const TOKEN: &str = "tok-SECRET-do-not-print-4242";

/// One fake release: version plus the `fake` behaviour switches of its package.json.
pub struct Release {
    pub version: &'static str,
    pub schema: u32,
    pub engines: &'static str,
    pub fake: Value,
}

pub fn releases() -> Vec<Release> {
    let r = |version, schema, fake: Value| Release {
        version,
        schema,
        engines: ">=18",
        fake,
    };
    vec![
        r("2026.7.1", 16, json!({})),
        r("2026.9.4", 17, json!({})),
        r("2026.9.5", 18, json!({})),
        // The newest stable release, published 2 h ago (for --min-release-age).
        r("2026.9.6", 18, json!({"publishedHoursAgo": 2})),
        r(
            "2026.10.1",
            19,
            json!({"crashAtStart": true, "rewriteUnit": true}),
        ),
        r("2026.10.2", 19, json!({"neverHealthy": true})),
        r("2026.10.3", 19, json!({"reportVersion": "2026.10.2"})),
        r("2026.10.4", 19, json!({"doctorFails": true})),
        r("2026.10.5", 19, json!({"cliVersion": "2026.10.6"})),
        r("2026.10.7", 19, json!({"noTarball": true})),
        r("2026.10.8", 19, json!({"slowTarball": true})),
        r("2026.10.9", 19, json!({"doctorSlowMs": 3000})),
        // Declares no schema versions (so a migration must be assumed) and migrates nothing.
        r(
            "2026.9.7",
            0,
            json!({"noSchemaVersions": true, "doctorNoop": true}),
        ),
        Release {
            version: "2026.11.1",
            schema: 19,
            engines: ">=99",
            fake: json!({}),
        },
    ]
}

pub const LATEST: &str = "2026.9.6";

pub struct Fixtures {
    pub dir: PathBuf,
    pub registry: String,
    pub npm_cache: PathBuf,
}

fn target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target")
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Packs every fake release (once per test process) and starts the registry.
pub fn fixtures() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(|| {
        let dir = target_dir().join(format!("clawkit-fixtures-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for r in releases() {
            pack(&dir, &r);
        }
        let mut child = Command::new("python3")
            .arg(repo().join("tests/support/registry.py"))
            .arg(&dir)
            .arg(LATEST)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs the fake registry");
        let mut line = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line.trim().parse().expect("registry prints its port");
        std::mem::forget(child);
        let npm_cache = target_dir().join("clawkit-npm-cache");
        Fixtures {
            dir,
            registry: format!("http://127.0.0.1:{port}/"),
            npm_cache,
        }
    })
}

fn pack(dir: &Path, r: &Release) {
    let work = tempfile::tempdir().unwrap();
    let pkg = work.path().join("package");
    copy_dir(&repo().join("tests/fake-openclaw"), &pkg);
    std::fs::rename(
        pkg.join("dist/chunk.mjs"),
        pkg.join(format!("dist/chunk-{}.mjs", r.version)),
    )
    .unwrap();
    let mut pj: Value =
        serde_json::from_str(&std::fs::read_to_string(pkg.join("package.json")).unwrap()).unwrap();
    pj["version"] = json!(r.version);
    pj["engines"]["node"] = json!(r.engines);
    pj["openclaw"]["schemaVersions"]["state"] = json!(r.schema);
    if r.fake["noSchemaVersions"] == true {
        pj["openclaw"]
            .as_object_mut()
            .unwrap()
            .remove("schemaVersions");
    }
    pj["fake"] = r.fake.clone();
    std::fs::write(
        pkg.join("package.json"),
        serde_json::to_string_pretty(&pj).unwrap(),
    )
    .unwrap();
    let status = Command::new("tar")
        .arg("-czf")
        .arg(dir.join(format!("openclaw-{}.tgz", r.version)))
        .arg("-C")
        .arg(work.path())
        .arg("package")
        .status()
        .unwrap();
    assert!(status.success());
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// A loopback port nobody uses, never handed out twice in this test process: the OS's own
/// `bind(0)` may return a port again once it is released, and a gateway stopped during an
/// update releases its port for a while.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    if NEXT.load(Ordering::SeqCst) == 0 {
        // Below the ephemeral range (32768+) that other programs' `bind(0)` draw from.
        let seed = 20_000 + (std::process::id() % 500) as u16 * 20;
        let _ = NEXT.compare_exchange(0, seed, Ordering::SeqCst, Ordering::SeqCst);
    }
    loop {
        let p = NEXT.fetch_add(1, Ordering::SeqCst);
        assert!(p < 32_700, "ran out of test ports");
        // Free on both address families, and not within reach of a gateway's derived ports.
        let v4 = std::net::TcpListener::bind(("127.0.0.1", p)).is_ok();
        let v6 = std::net::TcpListener::bind(("::1", p)).is_ok()
            || std::net::TcpListener::bind(("::1", 0)).is_err();
        if v4 && v6 {
            return p;
        }
    }
}

pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    pub prefix: PathBuf,
    pub tools: PathBuf,
    pub port: u16,
    pub extra_env: Vec<(String, String)>,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let f = fixtures();
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let prefix = dir.path().join("prefix");
        let tools = dir.path().join("tools");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&tools).unwrap();
        let _ = &f.dir;
        Sandbox {
            dir,
            home,
            prefix,
            tools,
            port: free_port(),
            extra_env: Vec::new(),
        }
    }

    /// Puts the fake `systemctl` (and/or `launchctl`) first on PATH.
    pub fn with_tool(self, name: &str) -> Self {
        std::os::unix::fs::symlink(
            repo().join("tests/support").join(name),
            self.tools.join(name),
        )
        .unwrap();
        self
    }

    pub fn state_dir(&self) -> PathBuf {
        self.home.join(".openclaw")
    }

    /// clawkit's npm gets a cache of its own instead of the shared one, which may hold an answer
    /// from an earlier test's registry that had the same port (ports are reused).
    pub fn own_npm_cache(&mut self) {
        let cache = self.dir.path().join("npm-cache");
        self.extra_env
            .push(("npm_config_cache".into(), cache.display().to_string()));
    }

    pub fn node_dir() -> PathBuf {
        let node = which::which("node").expect("node on PATH");
        node.parent().unwrap().to_path_buf()
    }

    pub fn path(&self) -> OsString {
        std::env::join_paths([
            self.tools.clone(),
            self.prefix.join("bin"),
            Self::node_dir(),
            PathBuf::from("/usr/local/bin"),
            PathBuf::from("/usr/bin"),
            PathBuf::from("/bin"),
        ])
        .unwrap()
    }

    pub fn env(&self) -> Vec<(OsString, OsString)> {
        let f = fixtures();
        let mut v: Vec<(OsString, OsString)> = vec![
            ("HOME".into(), self.home.clone().into()),
            ("PATH".into(), self.path()),
            ("npm_config_registry".into(), f.registry.clone().into()),
            ("npm_config_cache".into(), f.npm_cache.clone().into()),
            ("npm_config_update_notifier".into(), "false".into()),
            ("OPENCLAW_NO_AUTO_UPDATE".into(), "1".into()),
            ("LANG".into(), "C.UTF-8".into()),
            ("TMPDIR".into(), self.dir.path().join("tmp").into()),
        ];
        std::fs::create_dir_all(self.dir.path().join("tmp")).unwrap();
        v.extend(self.extra_env.iter().map(|(k, val)| (k.into(), val.into())));
        v
    }

    /// A clawkit command in this sandbox (clean environment, no TTY).
    pub fn clawkit(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::cargo_bin("clawkit").unwrap();
        c.env_clear().envs(self.env()).current_dir(self.dir.path());
        c.timeout(Duration::from_secs(240));
        c
    }

    /// Installs a fake release into the prefix the way npm lays it out (fast, no npm).
    pub fn install(&self, version: &str) {
        let root = self.prefix.join("lib/node_modules/openclaw");
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let tgz = fixtures().dir.join(format!("openclaw-{version}.tgz"));
        let st = Command::new("tar")
            .arg("-xzf")
            .arg(&tgz)
            .arg("--strip-components=1")
            .arg("-C")
            .arg(&root)
            .status()
            .unwrap();
        assert!(st.success());
        std::fs::create_dir_all(self.prefix.join("bin")).unwrap();
        let link = self.prefix.join("bin/openclaw");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink("../lib/node_modules/openclaw/openclaw.mjs", &link).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            root.join("openclaw.mjs"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
    }

    /// Replaces the package directory the way npm does (new dir, old one removed).
    pub fn npm_replace(&self, version: &str) {
        let root = self.prefix.join("lib/node_modules/openclaw");
        let old = self.prefix.join("lib/node_modules/.openclaw-old");
        std::fs::rename(&root, &old).unwrap();
        self.install(version);
        std::fs::remove_dir_all(&old).unwrap();
    }

    pub fn write_config(&self, state_dir: &Path, port: u16) {
        std::fs::create_dir_all(state_dir).unwrap();
        let cfg = json!({
            "gateway": {"mode": "local", "port": port, "bind": "loopback",
                        "auth": {"mode": "token", "token": TOKEN}},
            "logging": {"file": state_dir.join("logs/openclaw.log")},
        });
        std::fs::write(
            state_dir.join("openclaw.json"),
            serde_json::to_string_pretty(&cfg).unwrap(),
        )
        .unwrap();
    }

    pub fn config(&self) {
        self.write_config(&self.state_dir(), self.port);
    }

    /// Starts `openclaw gateway run` detached, like a user in tmux; waits until it serves.
    pub fn start_gateway(&self) -> u32 {
        self.start_gateway_with(&[], self.port)
    }

    pub fn start_gateway_with(&self, env: &[(&str, &str)], port: u16) -> u32 {
        self.start_gateway_args(&[], env, port)
    }

    /// `node <prefix>/bin/openclaw <root_args> gateway run`, detached.
    pub fn start_gateway_args(&self, root_args: &[&str], env: &[(&str, &str)], port: u16) -> u32 {
        self.start_gateway_full(root_args, &[], env, port)
    }

    /// `node <prefix>/bin/openclaw <root_args> gateway run <run_args>`, detached.
    pub fn start_gateway_full(
        &self,
        root_args: &[&str],
        run_args: &[&str],
        env: &[(&str, &str)],
        port: u16,
    ) -> u32 {
        use std::os::unix::process::CommandExt;
        let log =
            std::fs::File::create(self.dir.path().join(format!("gateway-{port}.log"))).unwrap();
        let mut c = Command::new("node");
        c.arg(self.prefix.join("bin/openclaw"))
            .args(root_args)
            .args(["gateway", "run"])
            .args(run_args)
            .env_clear()
            .envs(self.env())
            .envs(env.iter().copied())
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0);
        let child = c.spawn().unwrap();
        let pid = child.id();
        std::mem::forget(child);
        assert!(
            wait_for(Duration::from_secs(20), || startupz(port)
                .is_some_and(|v| v["status"] == "started")),
            "fake gateway did not start on {port}:\n{}",
            std::fs::read_to_string(self.dir.path().join(format!("gateway-{port}.log")))
                .unwrap_or_default()
        );
        pid
    }

    pub fn startupz(&self) -> Option<Value> {
        startupz(self.port)
    }

    /// A systemd user unit for the default profile running this install.
    pub fn systemd_unit(&self, service_version: &str) -> PathBuf {
        let dir = self.home.join(".config/systemd/user");
        std::fs::create_dir_all(&dir).unwrap();
        let node = Self::node_dir().join("node");
        let unit = dir.join("openclaw-gateway.service");
        std::fs::write(
            &unit,
            format!(
                "[Unit]\nDescription=OpenClaw Gateway\n\n[Service]\nExecStart={} {} gateway run --port {}\nRestart=always\nRestartPreventExitStatus=78\nEnvironment=HOME={}\nEnvironment=OPENCLAW_SERVICE_VERSION={service_version}\n\n[Install]\nWantedBy=default.target\n",
                node.display(),
                self.prefix.join("lib/node_modules/openclaw/openclaw.mjs").display(),
                self.port,
                self.home.display()
            ),
        )
        .unwrap();
        unit
    }

    pub fn launchd_plist(&self, service_version: &str) -> PathBuf {
        let dir = self.home.join("Library/LaunchAgents");
        std::fs::create_dir_all(&dir).unwrap();
        let node = Self::node_dir().join("node");
        let plist = dir.join("ai.openclaw.gateway.plist");
        std::fs::write(
            &plist,
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
<key>Label</key><string>ai.openclaw.gateway</string>
<key>ProgramArguments</key><array><string>{}</string><string>{}</string><string>gateway</string><string>run</string><string>--port</string><string>{}</string></array>
<key>EnvironmentVariables</key><dict><key>HOME</key><string>{}</string><key>OPENCLAW_SERVICE_VERSION</key><string>{service_version}</string></dict>
<key>KeepAlive</key><true/>
</dict></plist>
"#,
                node.display(),
                self.prefix.join("lib/node_modules/openclaw/openclaw.mjs").display(),
                self.port,
                self.home.display()
            ),
        )
        .unwrap();
        plist
    }

    /// Runs a fake service manager command directly (test setup).
    pub fn tool(&self, name: &str, args: &[&str]) {
        let st = Command::new(repo().join("tests/support").join(name))
            .args(args)
            .env_clear()
            .envs(self.env())
            .status()
            .unwrap();
        assert!(st.success(), "{name} {args:?}");
    }

    /// Every process started inside this sandbox (HOME points into it).
    pub fn processes(&self) -> Vec<u32> {
        let home = self.home.as_os_str().as_encoded_bytes().to_vec();
        let mut needle = b"HOME=".to_vec();
        needle.extend(home);
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/environ"))
                    .is_ok_and(|env| env.split(|b| *b == 0).any(|kv| kv == needle.as_slice()))
            })
            .collect()
    }

    /// Whether a gateway process (`openclaw gateway run`) lives in this sandbox; a stopped one
    /// is gone or a zombie (empty command line).
    pub fn gateway_process(&self) -> bool {
        self.processes().iter().any(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c.windows(12).any(|w| w == b"gateway\0run\0"))
        })
    }

    /// A sha256 of every file under `dir` (path, mode, content), for "nothing changed" checks.
    pub fn tree_hash(dir: &Path) -> Vec<(String, u32, String)> {
        use sha2::{Digest, Sha256};
        use std::os::unix::fs::MetadataExt;
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                let m = std::fs::symlink_metadata(&p).unwrap();
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().to_string();
                if m.is_dir() {
                    stack.push(p);
                    out.push((rel, m.mode(), String::new()));
                } else if m.is_file() {
                    let data = std::fs::read(&p).unwrap_or_default();
                    out.push((rel, m.mode(), hex::encode(Sha256::digest(&data))));
                } else {
                    out.push((rel, m.mode(), format!("{:?}", std::fs::read_link(&p).ok())));
                }
            }
        }
        out.sort();
        out
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for _ in 0..3 {
            let pids = self.processes();
            if pids.is_empty() {
                break;
            }
            for pid in pids {
                unsafe {
                    libc_kill(pid as i32, 9);
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

pub fn startupz(port: u16) -> Option<Value> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_millis(3000)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent
        .get(&format!("http://127.0.0.1:{port}/startupz"))
        .call()
        .ok()?;
    serde_json::from_str(&r.body_mut().read_to_string().ok()?).ok()
}

pub fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

pub fn json_out(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Asserts that no secret reached stdout or stderr.
pub fn assert_no_secret(out: &std::process::Output) {
    for stream in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(stream);
        assert!(!text.contains(TOKEN), "the gateway token leaked:\n{text}");
    }
}

/// The version the sandbox gateway serves, once started.
pub fn running(sb: &Sandbox) -> Option<String> {
    sb.startupz()
        .filter(|v| v["status"] == "started")
        .and_then(|v| v["version"].as_str().map(String::from))
}

/// The version installed in the sandbox prefix.
pub fn cli_version(sb: &Sandbox) -> String {
    let pj = sb.prefix.join("lib/node_modules/openclaw/package.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(pj).unwrap()).unwrap();
    v["version"].as_str().unwrap().to_string()
}

/// A sandbox with `version` installed and its gateway running unmanaged.
pub fn unmanaged(version: &str) -> Sandbox {
    unmanaged_with(version, &[])
}

/// `unmanaged`, the gateway started with `env` added to its environment.
pub fn unmanaged_with(version: &str, env: &[(&str, &str)]) -> Sandbox {
    let sb = Sandbox::new();
    sb.install(version);
    sb.config();
    sb.start_gateway_with(env, sb.port);
    sb
}

/// State that must survive a failed operation byte for byte (logs, locks and clawkit's own
/// files aside).
pub fn state_hash(dir: &Path) -> Vec<(String, u32, String)> {
    let mut v = Sandbox::tree_hash(dir);
    v.retain(|(p, _, _)| {
        !(p.starts_with("logs") || p.starts_with("tmp") || p.starts_with("clawkit"))
    });
    v
}

/// `clawkit update --yes --json ARGS`: exit code, the JSON document, and the raw output (which
/// must not contain the token).
pub fn update(sb: &Sandbox, args: &[&str]) -> (i32, Value, std::process::Output) {
    let out = sb
        .clawkit()
        .args(["update", "--yes", "--json"])
        .args(args)
        .output()
        .unwrap();
    assert_no_secret(&out);
    let doc = json_out(&out);
    assert_eq!(doc["schema"], 2);
    assert_eq!(doc["command"], "update");
    (out.status.code().unwrap(), doc, out)
}

/// Sends SIGINT (Ctrl-C) to a child process.
pub fn sigint(child: &std::process::Child) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::SIGINT,
    )
    .unwrap();
}

/// `lib/clawkit/staging-*` directories (the install's lock lives beside them).
pub fn staging_dirs(sb: &Sandbox) -> Vec<PathBuf> {
    std::fs::read_dir(sb.prefix.join("lib/clawkit"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("staging-"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Where an install-level transaction (update, rollback) keeps its undo log.
pub fn install_record(sb: &Sandbox) -> PathBuf {
    sb.prefix.join("lib/clawkit/inflight.json")
}

/// Where a profile-level transaction (repair, reset, restore) keeps its undo log.
pub fn profile_record(sb: &Sandbox) -> PathBuf {
    sb.state_dir().join("clawkit/inflight.json")
}

/// Every clawkit lock (the profile's and the install's) is free again.
pub fn assert_unlocked(sb: &Sandbox) {
    use fs4::fs_std::FileExt;
    for p in [
        sb.state_dir().join("clawkit/lock"),
        sb.prefix.join("lib/clawkit/lock"),
    ] {
        if let Ok(f) = std::fs::OpenOptions::new().write(true).open(&p) {
            assert!(
                f.try_lock_exclusive().unwrap(),
                "the clawkit lock {} is still held",
                p.display()
            );
        }
    }
}

/// Spawns `clawkit ARGS` in the sandbox with piped output (for signals mid-run).
pub fn spawn(sb: &Sandbox, args: &[&str]) -> std::process::Child {
    Command::new(assert_cmd::cargo::cargo_bin("clawkit"))
        .env_clear()
        .envs(sb.env())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends a signal to a child process.
pub fn signal(child: &std::process::Child, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
}

/// The transaction record's logged changes (kinds, in order), when the record exists.
pub fn record_changes(path: &Path) -> Vec<String> {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| {
            v["changes"].as_array().map(|a| {
                a.iter()
                    .map(|c| {
                        format!(
                            "{}{}",
                            c["change"]["kind"].as_str().unwrap_or("?"),
                            if c["done"] == true { "" } else { "…" }
                        )
                    })
                    .collect()
            })
        })
        .unwrap_or_default()
}

/// Proof that a gateway was never restarted: the process listening on the port, and how long it
/// had been up, taken before; the same process (pid), up at least as long again, after.
pub struct Witness {
    port: u16,
    pid: Option<u32>,
    uptime_ms: u64,
    taken: Instant,
}

pub fn witness(port: u16) -> Witness {
    let v = startupz(port).expect("a gateway serves");
    Witness {
        port,
        pid: clawkit::proc::listener_pid(port),
        uptime_ms: v["uptimeMs"].as_u64().unwrap_or(0),
        taken: Instant::now(),
    }
}

impl Witness {
    pub fn assert_same(&self, what: &str) {
        let v = startupz(self.port).expect("a gateway serves");
        let now = v["uptimeMs"].as_u64().unwrap_or(0);
        let elapsed = self.taken.elapsed().as_millis() as u64;
        assert_eq!(
            clawkit::proc::listener_pid(self.port),
            self.pid,
            "{what}: another process serves the port now"
        );
        assert!(
            now + 1000 >= self.uptime_ms + elapsed,
            "{what}: the gateway was restarted (up {now} ms, was {} ms {elapsed} ms ago)",
            self.uptime_ms
        );
    }
}

/// A PATH with only the sandbox's fake tools and python3 (which the fakes run on): no
/// systemctl of the machine can leak in.
pub fn only_fakes(sb: &mut Sandbox) {
    let bin = sb.dir.path().join("only-bin");
    std::fs::create_dir_all(&bin).unwrap();
    // The interpreter itself (python3 on PATH may be a shell shim, e.g. pyenv's).
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    let python = String::from_utf8(out.stdout).unwrap().trim().to_string();
    std::os::unix::fs::symlink(python, bin.join("python3")).unwrap();
    let path = std::env::join_paths([sb.tools.clone(), bin]).unwrap();
    sb.extra_env
        .push(("PATH".into(), path.to_string_lossy().into_owned()));
}

/// Holds a clawkit lock file (an exclusive flock, as a running clawkit would).
pub fn hold_lock(dir: &Path) -> std::fs::File {
    use fs4::fs_std::FileExt;
    std::fs::create_dir_all(dir).unwrap();
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))
        .unwrap();
    assert!(f.try_lock_exclusive().unwrap());
    f
}

/// A loopback TCP proxy in front of `upstream` (`http://127.0.0.1:PORT/`) that can turn bad
/// (a registry that answered before and fails now): [`Proxy::silence`] accepts connections and
/// never answers, [`Proxy::reset`] closes each one at once.
pub struct Proxy {
    pub port: u16,
    mode: std::sync::Arc<std::sync::atomic::AtomicU8>,
}

impl Proxy {
    const FORWARD: u8 = 0;
    const SILENT: u8 = 1;
    const RESET: u8 = 2;

    pub fn start(upstream: &str) -> Proxy {
        use std::sync::atomic::Ordering;
        let up: u16 = upstream
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("upstream is http://127.0.0.1:PORT/");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = std::sync::Arc::new(std::sync::atomic::AtomicU8::new(Self::FORWARD));
        let now = mode.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for client in listener.incoming().flatten() {
                match now.load(Ordering::SeqCst) {
                    Self::SILENT => {
                        held.push(client);
                        continue;
                    }
                    Self::RESET => {
                        drop(client);
                        continue;
                    }
                    _ => {}
                }
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", up)) else {
                    continue;
                };
                let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (mut c1, mut s1) = (client, server);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c1, &mut s1);
                    let _ = s1.shutdown(std::net::Shutdown::Write);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut s2, &mut c2);
                    let _ = c2.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        Proxy { port, mode }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    pub fn silence(&self) {
        self.mode
            .store(Self::SILENT, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn reset(&self) {
        self.mode
            .store(Self::RESET, std::sync::atomic::Ordering::SeqCst);
    }
}
