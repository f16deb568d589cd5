#!/usr/bin/env node
// Fake OpenClaw for clawkit's tests. Behaviour per release comes from package.json "fake":
//   crashAtStart, rewriteUnit, neverHealthy, reportVersion, cliVersion, doctorFails, slowStopMs, startupMs
import fs from "node:fs";
import path from "node:path";
import os from "node:os";
import http from "node:http";
import crypto from "node:crypto";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);

const root = path.dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
const VERSION = pkg.version;
const FAKE = pkg.fake || {};
const SCHEMA = (pkg.openclaw && pkg.openclaw.schemaVersions && pkg.openclaw.schemaVersions.state) || 1;
const env = process.env;
let argv = process.argv.slice(2);

function takeFlag(name) {
  const i = argv.indexOf(name);
  if (i < 0) return false;
  argv.splice(i, 1);
  return true;
}
function takeValue(name) {
  const i = argv.indexOf(name);
  if (i < 0 || i + 1 >= argv.length) return undefined;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
}

const profile = takeValue("--profile") || (takeFlag("--dev") ? "dev" : undefined);
const home = env.OPENCLAW_HOME || env.HOME;
const stateDir = env.OPENCLAW_STATE_DIR || path.join(home, profile ? `.openclaw-${profile}` : ".openclaw");
const configPath = env.OPENCLAW_CONFIG_PATH || path.join(stateDir, "openclaw.json");

function cmp(a, b) {
  // OpenClaw order: prerelease < release < correction.
  const parse = (v) => {
    const [core, suf] = v.split(/-(.*)/s);
    const n = core.split(".").map(Number);
    const rank = suf === undefined ? [1, 0] : /^\d+$/.test(suf) ? [2, Number(suf)] : [0, 0];
    return [...n, ...rank];
  };
  const x = parse(a), y = parse(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}
function readConfig() {
  try {
    const text = fs.readFileSync(configPath, "utf8").replace(/^\s*\/\/.*$/gm, "");
    return text.trim() ? JSON.parse(text) : {};
  } catch (e) {
    if (e.code === "ENOENT") return {};
    console.error(`Invalid config at ${configPath}: ${e.message}`);
    process.exit(78);
  }
}
function writeConfig(cfg) {
  if (fs.existsSync(configPath)) fs.copyFileSync(configPath, configPath + ".bak");
  fs.mkdirSync(path.dirname(configPath), { recursive: true });
  const tmp = configPath + ".tmp";
  fs.writeFileSync(tmp, JSON.stringify(cfg, null, 2) + "\n", { mode: 0o600 });
  fs.renameSync(tmp, configPath);
}
function lockDir() {
  return path.join(stateDir, "tmp", `openclaw-${process.getuid()}`);
}
function lockPaths() {
  const hash = crypto.createHash("sha256").update(configPath).digest("hex").slice(0, 8);
  return [path.join(lockDir(), "gateway.state.lock"), path.join(lockDir(), `gateway.${hash}.lock`)];
}
function startTicks(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[19]);
  } catch {
    return undefined;
  }
}
function alive(pid) {
  try {
    process.kill(pid, 0);
    const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return s.slice(s.lastIndexOf(")") + 2)[0] !== "Z";
  } catch (e) {
    return e.code === "EPERM";
  }
}
function liveOwner() {
  for (const p of lockPaths()) {
    try {
      const l = JSON.parse(fs.readFileSync(p, "utf8"));
      if (l.pid && alive(l.pid) && (l.startTime === undefined || l.startTime === startTicks(l.pid))) return l;
    } catch {}
  }
  return null;
}
function port(cfg) {
  const flag = takeValue("--port");
  return Number(flag || env.OPENCLAW_GATEWAY_PORT || (cfg.gateway && cfg.gateway.port) || (profile === "dev" ? 19001 : 18789));
}
function logLine(obj) {
  const cfg = readConfig();
  const file = (cfg.logging && cfg.logging.file) || path.join(stateDir, "logs", "openclaw.log");
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.appendFileSync(file, JSON.stringify({ time: new Date().toISOString(), ...obj }) + "\n");
  } catch {}
}
// Pairing: JSON files up to 2026.7.x, a database (here a stand-in file) from 2026.8.1.
const SQLITE_ERA = cmp(VERSION, "2026.8.1") >= 0;
function readJson(p, dflt) {
  try { return JSON.parse(fs.readFileSync(p, "utf8")); } catch { return dflt; }
}
function writeJson(p, v) {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p + ".tmp", JSON.stringify(v, null, 2), { mode: 0o600 });
  fs.renameSync(p + ".tmp", p);
}
function loadPairing() {
  if (SQLITE_ERA) {
    const db = readJson(path.join(stateDir, "state", "pairing-db.json"), { paired: {}, pending: {} });
    return db;
  }
  return {
    paired: readJson(path.join(stateDir, "devices", "paired.json"), {}),
    pending: readJson(path.join(stateDir, "devices", "pending.json"), {}),
  };
}
function savePairing(db) {
  if (SQLITE_ERA) return writeJson(path.join(stateDir, "state", "pairing-db.json"), db);
  writeJson(path.join(stateDir, "devices", "paired.json"), db.paired);
  writeJson(path.join(stateDir, "devices", "pending.json"), db.pending);
}
// The CLI's own identity and cached token.
function cliIdentity() {
  const idPath = path.join(stateDir, "identity", "device.json");
  let id = readJson(idPath, null);
  if (!id || !id.deviceId) {
    id = { version: 1, deviceId: "cli-" + crypto.randomBytes(6).toString("hex") };
    writeJson(idPath, id);
  }
  const auth = readJson(path.join(stateDir, "identity", "device-auth.json"), null);
  const token = auth && auth.deviceId === id.deviceId && auth.tokens && auth.tokens.operator && auth.tokens.operator.token;
  return { deviceId: id.deviceId, token: token || "" };
}
function saveCliToken(deviceId, token) {
  writeJson(path.join(stateDir, "identity", "device-auth.json"), { version: 1, deviceId, tokens: { operator: { token } } });
}

function out(obj) {
  process.stdout.write(JSON.stringify(obj, null, 2) + "\n");
}
function get(p, pathname, headers = {}) {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port: p, path: pathname, headers, timeout: 3000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.on("error", () => resolve(null));
    req.on("timeout", () => { req.destroy(); resolve(null); });
  });
}

// 9.5+ keep a launcher process (its argv intact) above the real gateway, which retitles itself.
// FAKE_OPENCLAW_LAUNCHER=1 models that: this process stays the launcher, forwards signals, and
// exits with the gateway.
function launcher() {
  const { spawn } = require("node:child_process");
  const child = spawn(process.execPath, process.argv.slice(1), {
    env: { ...env, FAKE_OPENCLAW_LAUNCHER: "", FAKE_OPENCLAW_LAUNCHER_CHILD: "1" },
    stdio: "inherit",
  });
  for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => child.kill(sig));
  child.on("exit", (code, sig) => process.exit(code === null ? 143 : code));
}

async function gatewayRun() {
  if (env.FAKE_OPENCLAW_LAUNCHER === "1") return launcher();
  const cfg = readConfig();
  const p = port(cfg);
  const written = cfg.meta && cfg.meta.lastTouchedVersion;
  if (written && cmp(VERSION, written) < 0 && env.OPENCLAW_ALLOW_OLDER_BINARY_DESTRUCTIVE_ACTIONS !== "1") {
    console.error(`this OpenClaw binary (${VERSION}) is older than the config last written by OpenClaw ${written}`);
    process.exit(78);
  }
  if (!cfg.gateway || cfg.gateway.mode !== "local") {
    if (!takeFlag("--allow-unconfigured")) {
      console.error("Missing config: set gateway.mode=local (openclaw setup)");
      process.exit(78);
    }
  }
  const owner = liveOwner();
  if (owner) {
    console.error(`Another gateway (pid ${owner.pid}) already owns this state directory`);
    process.exit(78);
  }
  // 8.x on retitle the gateway `openclaw-gateway`; 6.x/7.x set the bare title every CLI
  // command sets (FAKE_OPENCLAW_TITLE=openclaw), and Node blanks the rest of argv.
  process.title = env.FAKE_OPENCLAW_TITLE || "openclaw-gateway";
  if (FAKE.crashAtStart || (env.FAKE_OPENCLAW_CRASH_IF && fs.existsSync(env.FAKE_OPENCLAW_CRASH_IF))) {
    console.error(`fake: gateway ${VERSION} crashes at start`);
    setTimeout(() => process.exit(1), 150);
    return;
  }
  const started = Date.now();
  const startupMs = Number(env.FAKE_OPENCLAW_STARTUP_MS || FAKE.startupMs || 300);
  const token = env.OPENCLAW_GATEWAY_TOKEN || (cfg.gateway && cfg.gateway.auth && cfg.gateway.auth.token);
  const shown = FAKE.reportVersion || VERSION;
  const chunk = path.join(root, "dist", `chunk-${VERSION}.mjs`);
  const server = http.createServer(async (req, res) => {
    const send = (code, obj) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(obj));
    };
    const ready = !FAKE.neverHealthy && Date.now() - started >= startupMs;
    if (req.url === "/startupz") {
      return send(ready ? 200 : 503, { ok: ready, status: ready ? "started" : "starting", version: shown, uptimeMs: Date.now() - started });
    }
    if (req.url === "/healthz" || req.url === "/health") return send(200, { ok: true, status: "live" });
    if (req.url === "/readyz") return send(ready ? 200 : 503, { ready, failing: ready ? [] : ["startup"] });
    if (req.url === "/__openclaw/control-ui-config.json") {
      if (!token || req.headers.authorization !== `Bearer ${token}`) return send(401, { error: "unauthorized" });
      return send(200, { serverVersion: shown });
    }
    const url = new URL(req.url, "http://x");
    if (url.pathname.startsWith("/__fake/rpc/devices")) {
      if (!token || req.headers.authorization !== `Bearer ${token}`) return send(401, { error: "unauthorized" });
      const db = loadPairing();
      if (url.pathname === "/__fake/rpc/devices") {
        return send(200, { pending: Object.values(db.pending), paired: Object.values(db.paired).map((d) => ({ deviceId: d.deviceId, role: d.role })) });
      }
      if (url.pathname === "/__fake/rpc/devices/approve") {
        const id = url.searchParams.get("requestId");
        const p = db.pending[id];
        if (!p) return send(404, { error: `unknown request id ${id}` });
        const tok = "tok-" + crypto.randomBytes(8).toString("hex");
        db.paired[p.deviceId] = { deviceId: p.deviceId, role: "operator", tokens: { operator: { token: tok } } };
        delete db.pending[id];
        savePairing(db);
        logLine({ level: "info", message: `device pairing approved device=${p.deviceId} role=operator` });
        return send(200, { approved: p.deviceId, token: tok });
      }
      if (url.pathname === "/__fake/rpc/devices/clear") {
        db.paired = {};
        if (url.searchParams.get("pending") === "1") db.pending = {};
        savePairing(db);
        return send(200, { cleared: true });
      }
    }
    if (url.pathname === "/__fake/rpc/status") {
      try {
        const mod = await import(pathToFileURL(chunk).href + `?t=${Date.now()}`);
        const dev = req.headers["x-device-id"];
        if (dev) {
          const db = loadPairing();
          const entry = db.paired[dev];
          const presented = req.headers["x-device-token"] || "";
          if (!entry && Object.keys(db.paired).length === 0 && !Object.values(db.pending).some((q) => q.deviceId === dev)) {
            // First contact on an empty table: the local CLI pairs itself.
            const tok = "tok-" + crypto.randomBytes(8).toString("hex");
            db.paired[dev] = { deviceId: dev, role: "operator", tokens: { operator: { token: tok } } };
            savePairing(db);
            logLine({ level: "info", message: `device pairing auto-approved device=${dev} role=operator` });
            return send(200, { ...mod.status(shown), issuedToken: tok });
          }
          if (!entry || entry.tokens.operator.token !== presented) {
            let reqId = Object.keys(db.pending).find((k) => db.pending[k].deviceId === dev);
            if (!reqId) {
              reqId = crypto.randomUUID();
              db.pending[reqId] = { requestId: reqId, deviceId: dev, ts: Date.now() };
              savePairing(db);
            }
            const why = entry ? "device token mismatch" : "pairing required";
            logLine({ level: "warn", message: `gateway closed (1008): ${why} device=${dev}` });
            return send(403, { error: `gateway closed (1008): ${why}`, requestId: reqId });
          }
        }
        return send(200, mod.status(shown));
      } catch {
        logLine({ level: "warn", msg: "gateway closed (1011): gateway install changed; run: openclaw gateway restart" });
        return send(503, { error: "gateway closed (1011): gateway install changed; run: openclaw gateway restart" });
      }
    }
    send(404, { error: "not found" });
  });
  server.on("error", (e) => {
    console.error(`gateway failed to listen on 127.0.0.1:${p}: ${e.message}`);
    process.exit(1);
  });
  server.listen(p, "127.0.0.1", () => {
    fs.mkdirSync(lockDir(), { recursive: true });
    const lock = JSON.stringify({ pid: process.pid, ownerId: crypto.randomUUID(), createdAt: new Date().toISOString(), configPath, stateDir, port: p, startTime: startTicks(process.pid) });
    for (const l of lockPaths()) fs.writeFileSync(l, lock, { mode: 0o600 });
    console.log(`listening on ws://127.0.0.1:${p} (fake OpenClaw ${VERSION})`);
    logLine({ level: "info", msg: `gateway listening on ws://127.0.0.1:${p}` });
  });
  const stop = () => {
    const delay = Number(FAKE.slowStopMs || env.FAKE_OPENCLAW_SLOW_STOP_MS || 0);
    setTimeout(() => {
      for (const l of lockPaths()) {
        try { fs.unlinkSync(l); } catch {}
      }
      server.close();
      process.exit(0);
    }, delay);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.on("SIGUSR1", () => {}); // in-process restart: keeps the old code, like the real one
}

async function main() {
  if (argv[0] === "--version" || argv[0] === "-V") {
    console.log(`OpenClaw ${FAKE.cliVersion || VERSION} (fake)`);
    return;
  }
  const [cmd, sub, ...rest] = argv;
  if (cmd === "gateway" && sub === "run") return gatewayRun();
  if (cmd === "gateway" && (sub === "status" || sub === "call")) {
    const cfg = readConfig();
    const p = port(cfg);
    const me = cliIdentity();
    const r = await get(p, "/__fake/rpc/status", { "x-device-id": me.deviceId, "x-device-token": me.token });
    const rpc = r && r.status === 200 ? JSON.parse(r.body) : null;
    if (rpc && rpc.issuedToken) {
      saveCliToken(me.deviceId, rpc.issuedToken);
      delete rpc.issuedToken;
    }
    if (sub === "call") {
      if (!rpc) {
        console.error(r ? JSON.parse(r.body).error : `gateway not reachable at ws://127.0.0.1:${p}`);
        process.exit(1);
      }
      return out(rpc);
    }
    if (!rpc && rest.includes("--require-rpc")) process.exit(1);
    return out({ cli: { version: VERSION }, rpc: { ok: !!rpc, server: rpc ? { version: rpc.runtimeVersion } : undefined }, port: { port: p } });
  }
  if (cmd === "devices") {
    if (argv.includes("--help")) {
      console.log("Usage: openclaw devices [command]\n\nCommands:\n  list     List pending and paired devices\n  approve  Approve a pending device pairing request\n  reject   Reject a pending request\n  remove   Remove a paired device entry\n  clear    Clear paired devices from the gateway table\n  rotate   Rotate a device token for a role");
      return;
    }
    const cfg = readConfig();
    const p = port(cfg);
    const token = env.OPENCLAW_GATEWAY_TOKEN || (cfg.gateway && cfg.gateway.auth && cfg.gateway.auth.token);
    const auth = { authorization: `Bearer ${token}` };
    let r;
    if (sub === "list") r = await get(p, "/__fake/rpc/devices", auth);
    else if (sub === "approve" && rest[0] && !rest[0].startsWith("-")) r = await get(p, `/__fake/rpc/devices/approve?requestId=${encodeURIComponent(rest[0])}`, auth);
    else if (sub === "clear" && rest.includes("--yes")) r = await get(p, `/__fake/rpc/devices/clear?pending=${rest.includes("--pending") ? 1 : 0}`, auth);
    else {
      console.error(`fake openclaw: devices ${sub || ""}: unsupported or missing arguments`);
      process.exit(2);
    }
    if (!r || r.status !== 200) {
      console.error(r ? r.body : `gateway not reachable at ws://127.0.0.1:${p}`);
      process.exit(1);
    }
    const body = JSON.parse(r.body);
    if (sub === "approve" && body.approved === cliIdentity().deviceId) saveCliToken(body.approved, body.token);
    delete body.token;
    return out(body);
  }
  if (cmd === "doctor") {
    if (argv.includes("--help")) {
      console.log("Usage: openclaw doctor [options]\n\n  --fix              apply fixes and migrations\n  --non-interactive  never prompt\n  --lint             machine-checkable findings\n  --json             JSON output\n  --severity-min <s> minimum severity\n  --deep             deeper checks");
      return;
    }
    if (argv.includes("--fix")) {
      if (liveOwner()) {
        console.error("doctor --fix cannot run while a gateway owns this state directory (lifecycle contention)");
        process.exit(1);
      }
      if (FAKE.doctorSlowMs) await new Promise((r) => setTimeout(r, FAKE.doctorSlowMs));
      if (FAKE.doctorFails) {
        console.error(`fake: doctor ${VERSION} migration failed`);
        process.exit(1);
      }
      if (FAKE.doctorNoop) {
        const cfg = readConfig();
        cfg.meta = { ...(cfg.meta || {}), lastTouchedVersion: VERSION };
        writeConfig(cfg);
        console.log("Doctor complete: nothing to migrate.");
        return;
      }
      const cfg = readConfig();
      cfg.meta = { ...(cfg.meta || {}), lastTouchedVersion: VERSION };
      writeConfig(cfg);
      if (FAKE.rewriteUnit) {
        // As the real 9.6's doctor "reconciles" an older release's unit while it migrates.
        const cfgHome = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), ".config");
        const unit = path.join(cfgHome, "systemd", "user", "openclaw-gateway.service");
        if (fs.existsSync(unit)) fs.appendFileSync(unit, `KillMode=mixed\n# reconciled by ${VERSION}\n`);
      }
      const dir = path.join(stateDir, "state");
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, "schema.json"), JSON.stringify({ state: SCHEMA }) + "\n", { mode: 0o600 });
      for (const f of ["paired.json", "pending.json"]) {
        const p = path.join(stateDir, "devices", f);
        if (SCHEMA >= 18 && fs.existsSync(p)) fs.renameSync(p, p + ".migrated");
      }
      console.log("Doctor complete: migrations applied.");
      return;
    }
    const doc = { schemaVersion: 1, ok: true, checksRun: 3, findings: [] };
    if (argv.includes("--json")) return out(doc);
    console.log("Doctor: ok");
    return;
  }
  if (cmd === "setup") {
    const cfg = readConfig();
    cfg.gateway = { mode: "local", ...(cfg.gateway || {}) };
    writeConfig(cfg);
    return;
  }
  console.error(`fake openclaw: unknown command: ${argv.join(" ")}`);
  process.exit(2);
}

main();
