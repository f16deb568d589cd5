# Helpers for scripts that work inside booted systemd boxes (scripts/e2e-systemd,
# scripts/bench-systemd): run as the box's user ck, read unit properties, put a release and a
# config in, install the real service, read the unit's journal. Needs lib.sh, $BOX and $CLAWKIT.
# shellcheck shell=bash

check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then return 0; fi
  log "  FAILED: $1"
  return 1
}
info() { log "  $*"; }

# --- inside the box -----------------------------------------------------------------------------
ck() { "$BOX" run "$NAME" -- bash -c "$1"; }            # as ck, with its user manager
ck_t() { "$BOX" run "$NAME" --timeout "$1" -- bash -c "$2"; }
prop() { ck "systemctl --user show ${2:-openclaw-gateway.service} -p $1 --value"; }   # prop NAME [UNIT]

# box_up: boot this scenario's box, put clawkit and the state witness in, wait for nothing else.
box_up() {
  NAME=sd-${1//_/-}
  CURRENT=$NAME
  local t0
  t0=$(date +%s.%N)
  "$BOX" boot "$NAME" 2>/dev/null || { "$BOX" boot "$NAME"; return 1; }
  BROOT=$("$BOX" path "$NAME")
  CKHOME="$BROOT/home/ck"
  install -m 0755 "$CLAWKIT" "$BROOT/usr/local/bin/clawkit"
  # A witness of the state dir at every start and stop of a unit (ExecStartPre/ExecStopPost
  # drop-in, added per scenario): a hash listing like lib.sh's state_hash.
  cat > "$BROOT/usr/local/bin/e2e-state-hash" <<'SH'
#!/bin/sh
# e2e-state-hash EVENT STATE_DIR → ~/e2e/witness/<ns>-<event>.txt and a line in events.log
out=$HOME/e2e/witness
mkdir -p "$out"
n=$(date +%s%N)
(cd "$2" && find . -type f ! -path './logs/*' ! -path './tmp/*' ! -path './clawkit/*' \
   ! -path './cache/*' ! -path './media/*' -print0 | sort -z | xargs -0 -r sha256sum) > "$out/$n-$1.txt"
echo "$n $1 $n-$1.txt" >> "$out/events.log"
SH
  chmod 0755 "$BROOT/usr/local/bin/e2e-state-hash"
  mkdir -p "$CKHOME/e2e" && chown 1000:1000 "$CKHOME/e2e"
  info "box booted in $(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)") s"
}

# release VERSION: the cached prefix copied into ck's npm prefix (ck must own it).
release() {
  local t0
  t0=$(date +%s.%N)
  ck_t 300 "cp -r --preserve=mode,timestamps,links /opt/cache/oc-$1/. ~/.npm-global/ && openclaw --version" \
    | grep -q "$1" || { log "  cannot copy OpenClaw $1 into the box"; return 1; }
  info "OpenClaw $1 copied in $(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)") s"
}

# config STATE_SUBDIR PORT VERSION: a config with a fresh token on PORT, outbound chatter off.
config() {
  local dir="$CKHOME/$1" port=$2 version=$3 extra=""
  case "$version" in
    2026.[89].*|2026.1[0-2].*) extra='telemetry: { enabled: false }, models: { catalogRefresh: { enabled: false } },' ;;
  esac
  TOKEN="e2e-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  mkdir -p "$dir"
  cat > "$dir/openclaw.json" <<CFG
{
  gateway: { mode: "local", port: $port, bind: "loopback", auth: { mode: "token", token: "$TOKEN" } },
  update: { checkOnStart: false },
  discovery: { mdns: { mode: "off" } },
  $extra
}
CFG
  chown -R 1000:1000 "$dir"
}

# service PORT [PROFILE]: the real `openclaw gateway install`, then wait until it serves.
service() {
  local port=$1 profile=${2:-} t0 flag=""
  [ -z "$profile" ] || flag="--profile $profile"
  t0=$(date +%s.%N)
  ck_t 180 "openclaw $flag gateway install" >"$CKHOME/e2e/install${profile:+-$profile}.out" 2>&1 \
    || { tail -20 "$CKHOME/e2e/install${profile:+-$profile}.out" >&2; log "  openclaw $flag gateway install failed"; return 1; }
  local t1
  t1=$(date +%s.%N)
  wait_serving "$port" 120 || { ck "journalctl --user -u $(unit "$profile") -n 30 --no-pager" >&2; log "  the service did not serve on $port"; return 1; }
  info "gateway install${profile:+ --profile $profile} $(printf '%.1f' "$(echo "$t1 - $t0" | bc)") s, then healthy after $(printf '%.1f' "$(echo "$(date +%s.%N) - $t1" | bc)") s"
}

unit() { if [ -n "${1:-}" ]; then echo "openclaw-gateway-$1.service"; else echo openclaw-gateway.service; fi; }

# witness UNIT STATE_DIR_IN_BOX: hash the state dir at every start and stop of the unit.
witness() {
  local d="$CKHOME/.config/systemd/user/$1.d"
  mkdir -p "$d"
  printf '[Service]\nExecStartPre=/usr/local/bin/e2e-state-hash start %s\nExecStopPost=/usr/local/bin/e2e-state-hash stop %s\n' "$2" "$2" > "$d/e2e-witness.conf"
  chown -R 1000:1000 "$CKHOME/.config/systemd/user"
  ck "systemctl --user daemon-reload"
}

# events_since N: witness events after line N of events.log
witness_lines() { wc -l < "$CKHOME/e2e/witness/events.log" 2>/dev/null || echo 0; }

# witness_same N: the state at the first stop after line N equals the state at the last start.
witness_same() {
  local first last
  first=$(tail -n +"$(( $1 + 1 ))" "$CKHOME/e2e/witness/events.log" | awk '$2 == "stop" {print $3; exit}')
  last=$(tail -n +"$(( $1 + 1 ))" "$CKHOME/e2e/witness/events.log" | awk '$2 == "start" {f=$3} END {print f}')
  [ -n "$first" ] && [ -n "$last" ] || { log "  no stop/start witnessed"; return 1; }
  diff "$CKHOME/e2e/witness/$first" "$CKHOME/e2e/witness/$last" >&2 || return 1
  info "state at clawkit's stop = state at the final start ($(wc -l < "$CKHOME/e2e/witness/$last") files, sha256 each)"
}

# lifecycle UNIT SINCE_EPOCH: the user manager's lifecycle messages for UNIT, one word each
# (Starting Started Stopping Stopped Restart Failed Exited Reloading).
lifecycle() {
  ck "journalctl --user -u $1 --since @$2 -o json --no-pager" | python3 -c '
import json, sys
for line in sys.stdin:
    try: e = json.loads(line)
    except ValueError: continue
    if e.get("SYSLOG_IDENTIFIER") != "systemd": continue
    m = e.get("MESSAGE", "")
    if isinstance(m, list): m = bytes(m).decode(errors="replace")
    for word, kind in (("Starting ", "Starting"), ("Started ", "Started"), ("Stopping ", "Stopping"),
                       ("Stopped ", "Stopped"), ("Scheduled restart job", "Restart"),
                       ("Failed with result", "Failed"), ("Main process exited", "Exited"),
                       ("Start request repeated too quickly", "StartLimit"), ("Failed to start", "FailedStart")):
        if m.startswith(word) or word in m:
            print(e["__REALTIME_TIMESTAMP"], kind); break
'
}
kinds() { awk '{printf "%s%s", sep, $2; sep=" "} END {print ""}'; }
# core: the sequence without "Starting" (a unit with ExecStartPre= logs it, one without does not).
core() { tr ' ' '\n' | grep -vx Starting | paste -sd' '; }

json() { json_get "$CKHOME/e2e/$1" "$2"; }

# steps_line FILE: the steps of a clawkit --json report with their durations, on one line.
steps_line() {
  python3 - "$CKHOME/e2e/$1" <<'PY' 2>/dev/null
import json, sys
d = json.load(open(sys.argv[1]))
out = []
for s in d.get("steps") or []:
    name = s["name"].split(" (")[0]
    out.append("%s %.1fs%s" % (name, s["duration_ms"] / 1000, "" if s["status"] == "ok" else " " + s["status"]))
print("; ".join(out))
PY
}

clawkit_in_box() { # clawkit_in_box OUTNAME ARGS...: clawkit inside the box, stdout/stderr in ~/e2e
  local out=$1
  shift
  ck_t 900 "clawkit $* > ~/e2e/$out.json 2> ~/e2e/$out.err"
}

startupz_version() { running_version "$1"; }
# gw_version PORT: /startupz's version (8.x on), else what `clawkit status` reads (6.x/7.x serve no
# version on /startupz; clawkit reads it from the control UI config).
gw_version() {
  local v
  v=$(running_version "$1")
  [ -n "$v" ] || v=$(ck "clawkit status --json 2>/dev/null" | python3 -c 'import json,sys; print(json.load(sys.stdin)["gateway"]["version"] or "")' 2>/dev/null)
  echo "$v"
}

latest() { npm24 view openclaw dist-tags.latest 2>/dev/null; }

