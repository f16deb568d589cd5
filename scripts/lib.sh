# Shared by scripts/e2e, scripts/demo and scripts/bench: Node 24 and real OpenClaw releases in a
# reusable cache, and throwaway sandboxes (HOME, npm prefix, loopback port) that never touch the
# user's ~/.openclaw, global prefix or port 18789.
set -euo pipefail

CACHE=${CLAWKIT_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clawkit-e2e}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$CACHE"

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Node 24 from the npm registry (OpenClaw 9.x needs >= 24.16; the machine's node may be older).
ensure_node24() {
  NODE24_DIR="$CACHE/node24/node_modules/node/bin"
  if [ ! -x "$NODE24_DIR/node" ]; then
    log "installing Node 24 into $CACHE/node24 (once)"
    mkdir -p "$CACHE/node24"
    (cd "$CACHE/node24" && [ -f package.json ] || npm init -y >/dev/null) 
    (cd "$CACHE/node24" && npm install --no-fund --no-audit --no-update-notifier --silent node@24 >/dev/null)
  fi
  "$NODE24_DIR/node" --version >/dev/null || die "Node 24 did not install"
  export NODE24_DIR
}

# npm with Node 24 first on PATH (OpenClaw's preinstall script checks `node`).
npm24() { PATH="$NODE24_DIR:$PATH" npm --no-fund --no-audit --no-update-notifier "$@"; }

# with_cache_lock NAME CMD...: runs CMD holding $CACHE/.lock-NAME, so that scenarios running in
# parallel (E2E_JOBS) build a cached item once and never read it half-written.
with_cache_lock() {
  local name=$1; shift
  ( flock -w 900 9 || die "waited 15 min for $CACHE/.lock-$name"; "$@" ) 9>"$CACHE/.lock-$name"
}

# A pristine install of OpenClaw VERSION in $CACHE/oc-VERSION (installed once, then reused).
release_ready() { [ "$(node -p "require('$CACHE/oc-$1/lib/node_modules/openclaw/package.json').version" 2>/dev/null)" = "$1" ]; }
ensure_release() {
  release_ready "$1" || with_cache_lock "oc-$1" ensure_release_locked "$1" || die "no OpenClaw $1 in the cache"
}
ensure_release_locked() {
  local v=$1 dir="$CACHE/oc-$1"
  release_ready "$v" && return 0
  log "installing OpenClaw $v into $dir (once, ~25 s)"
  rm -rf "$dir" "$dir.tmp"
  npm24 install -g --prefix "$dir.tmp" --silent "openclaw@$v" >/dev/null 2>"$CACHE/install-$v.log" \
    || { tail -20 "$CACHE/install-$v.log" >&2; die "npm could not install openclaw@$v"; }
  mv "$dir.tmp" "$dir"
}

# clawkit_bin: $CLAWKIT when given (scripts/test passes the debug binary it built), else the
# release binary, rebuilt when the sources are newer.
clawkit_bin() {
  if [ -n "${CLAWKIT:-}" ]; then
    [ -x "$CLAWKIT" ] || die "CLAWKIT=$CLAWKIT is not an executable"
    export CLAWKIT
    return 0
  fi
  CLAWKIT=$REPO/target/release/clawkit
  if [ ! -x "$CLAWKIT" ] || [ -n "$(find "$REPO/src" -newer "$CLAWKIT" -print -quit)" ]; then
    log "building clawkit (release)"
    (cd "$REPO" && cargo build --release --quiet)
  fi
  export CLAWKIT
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# sandbox NAME VERSION: a HOME, a copy of the cached prefix (hard links: instant), a config with a
# fresh token on a free loopback port, and outbound chatter off. Sets SB, SB_HOME, SB_PREFIX,
# SB_PORT, SB_TOKEN and exports the sandbox environment into the calling shell.
sandbox() {
  local name=$1 version=$2
  SB="$ROOT/$name"
  rm -rf "$SB"
  mkdir -p "$SB/home/.openclaw"
  SB_HOME="$SB/home"
  SB_PREFIX="$SB/prefix"
  cp -al "$CACHE/oc-$version" "$SB_PREFIX"
  SB_PORT=$(free_port)
  SB_TOKEN="e2e-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  write_config "$SB_HOME/.openclaw" "$SB_PORT" "$version"
  export HOME="$SB_HOME"
  export PATH="$SB_PREFIX/bin:$NODE24_DIR:/usr/local/bin:/usr/bin:/bin"
  export OPENCLAW_NO_AUTO_UPDATE=1 DO_NOT_TRACK=1 OPENCLAW_DISABLE_BONJOUR=1
  export npm_config_cache="$CACHE/npm-cache"
}

# Config keys differ by era: telemetry/catalogRefresh exist only from 2026.8.
write_config() {
  local dir=$1 port=$2 version=$3 extra=""
  case "$version" in
    2026.[89].*|2026.1[0-2].*) extra='telemetry: { enabled: false }, models: { catalogRefresh: { enabled: false } },' ;;
  esac
  mkdir -p "$dir"
  cat > "$dir/openclaw.json" <<CFG
{
  gateway: { mode: "local", port: $port, bind: "loopback", auth: { mode: "token", token: "$SB_TOKEN" } },
  update: { checkOnStart: false },
  discovery: { mdns: { mode: "off" } },
  $extra
  logging: { file: "$dir/logs/openclaw.log" },
}
CFG
}

# Starts `openclaw gateway run` unmanaged (own session, stdio to a file) and waits until it serves.
start_gateway() {
  (cd "$SB" && setsid -f openclaw gateway run >>"$SB/gateway.out" 2>&1 </dev/null)
  wait_serving "$SB_PORT" 90 || { tail -20 "$SB/gateway.out" >&2; die "gateway did not start on $SB_PORT"; }
}

# wait_serving PORT SECS: /startupz started (8.x+) or /healthz ok (older).
wait_serving() {
  local port=$1 secs=$2 i
  for ((i = 0; i < secs * 5; i++)); do
    if curl -fsS -m 1 "http://127.0.0.1:$port/startupz" 2>/dev/null | grep -q '"status":"started"'; then return 0; fi
    if curl -fsS -m 1 "http://127.0.0.1:$port/healthz" 2>/dev/null | grep -q '"ok":true'; then return 0; fi
    sleep 0.2
  done
  return 1
}

running_version() {
  curl -fsS -m 2 "http://127.0.0.1:$1/startupz" 2>/dev/null | sed -n 's/.*"version":"\([^"]*\)".*/\1/p'
}

# Every process whose HOME is inside $1 (all sandbox processes have one).
sandbox_pids() {
  local root=$1 pid
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    if { tr '\0' '\n' < "/proc/$pid/environ"; } 2>/dev/null | grep -q "^HOME=$root/"; then echo "$pid"; fi
  done
}

kill_sandboxes() {
  local root=$1 pids
  pids=$(sandbox_pids "$root")
  [ -z "$pids" ] || kill -TERM $pids 2>/dev/null || true
  sleep 0.5
  pids=$(sandbox_pids "$root")
  [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
}

# OpenClaw keeps a compile cache per install (keyed by package.json's mtime and size) under
# $TMPDIR/node-compile-cache/openclaw: about 65 MB for each install a scenario made, never
# removed by OpenClaw (14 GB here after some days of runs). Drops the ones made since MARK.
drop_compile_caches() { # MARK
  local base="${TMPDIR:-/tmp}/node-compile-cache/openclaw"
  [ -d "$base" ] || return 0
  find "$base" -mindepth 2 -maxdepth 2 -type d -newer "$1" -exec rm -rf {} + 2>/dev/null || true
  find "$base" -mindepth 1 -maxdepth 1 -type d -empty -delete 2>/dev/null || true
}

# sha256 of every file below DIR except logs, temp files, caches and clawkit's own files.
state_hash() {
  (cd "$1" && find . -type f ! -path './logs/*' ! -path './tmp/*' ! -path './clawkit/*' ! -path './cache/*' \
      ! -path './media/*' -print0 | sort -z | xargs -0 sha256sum)
}

json_get() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval("d"+sys.argv[2]))' "$@"; }
# json_has_step FILE NAME_PREFIX DETAIL_PART: a step whose name starts with NAME_PREFIX and
# whose detail contains DETAIL_PART, status ok.
json_has_step() {
  python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
sys.exit(0 if any(s["name"].startswith(sys.argv[2]) and sys.argv[3] in s.get("detail","") and s["status"]=="ok" for s in d.get("steps",[])) else 1)' "$@"
}

# poisoned_package start|migrate [VERSION]: the real VERSION (default $TO) repacked so that its
# gateway crashes at start, or its `doctor --fix` migration fails; --version still works, so
# staging verifies it.
poisoned_package() {
  local out="$CACHE/poisoned-$1-${2:-$TO}.tgz"
  [ -f "$out" ] || with_cache_lock "poisoned-$1-${2:-$TO}" poisoned_package_locked "$@" >/dev/null
  [ -f "$out" ] || die "cannot build $out"
  echo "$out"
}
poisoned_package_locked() {
  local kind=$1 v=${2:-$TO} out="$CACHE/poisoned-$1-${2:-$TO}.tgz" work
  if [ ! -f "$out" ]; then
    work=$(mktemp -d)
    (cd "$work" && npm24 pack --silent "openclaw@$v" >/dev/null && tar -xzf openclaw-*.tgz)
    python3 - "$work/package/openclaw.mjs" "$kind" <<'PY'
import sys
p, kind = sys.argv[1], sys.argv[2]
lines = open(p).read().split("\n")
if kind == "start":
    guard = 'if (process.argv.includes("gateway") && process.argv.includes("run")) { console.error("poisoned: crash at start"); process.exit(1); }'
else:
    guard = 'if (process.argv.includes("doctor") && process.argv.includes("--fix")) { console.error("poisoned: migration failed"); process.exit(1); }'
lines.insert(1, guard)
open(p, "w").write("\n".join(lines))
PY
    (cd "$work" && tar -czf "$out.tmp" package && mv "$out.tmp" "$out")
    rm -rf "$work"
  fi
}

# poll_startupz PORT FILE: samples /startupz every 100 ms into FILE ("ok VERSION", "slow" or "down")
# until the file FILE.stop exists.
# A sample that connected but got no answer within 1 s is "slow", not "down": on a loaded machine
# (two scenarios on 2 cores) a serving gateway sometimes answers late, while a stopped one
# refuses the connection at once.
poll_startupz() {
  local port=$1 out=$2 body rc v
  : >"$out"
  while [ ! -e "$out.stop" ]; do
    rc=0
    body=$(curl -fsS -m 1 "http://127.0.0.1:$port/startupz" 2>/dev/null) || rc=$?
    v=$(sed -n 's/.*"status":"started".*"version":"\([^"]*\)".*/\1/p' <<<"$body")
    if [ -n "$v" ]; then echo "ok $v" >>"$out"
    elif [ "$rc" = 28 ]; then echo slow >>"$out"
    else echo down >>"$out"; fi
    sleep 0.1
  done
}

# state_shape DIR: what a migration would change in a state dir that a running gateway keeps
# writing: the config's bytes, the set of files (WAL files folded into their database), and each
# SQLite database's user_version.
state_shape() {
  (cd "$1" && sha256sum openclaw.json
   find . -type f ! -path './logs/*' ! -path './tmp/*' ! -path './clawkit/*' ! -path './cache/*' ! -path './media/*' \
     | sed -e 's/-wal$//' -e 's/-shm$//' | sort -u
   find . -name '*.sqlite' ! -path './clawkit/*' | sort | while read -r db; do
     printf '%s user_version=%s\n' "$db" "$(python3 -c 'import sqlite3,sys; print(sqlite3.connect("file:"+sys.argv[1]+"?mode=ro", uri=True).execute("pragma user_version").fetchone()[0])' "$db" 2>/dev/null)"
   done)
}
