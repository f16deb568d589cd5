"""Checks examples/Dockerfile and examples/github-actions.yml (run by scripts/check-examples).

No container engine runs on this machine, so the Dockerfile is checked without one:
  static   every stage a COPY --from names exists; what COPY takes from the context is allowed by
           examples/Dockerfile.dockerignore and exists; nothing that is OpenClaw state (a state
           dir, config, device identity, config-journal-fingerprint.key, SQLite database, token)
           is copied, created or set; the state dir is a VOLUME; hadolint passes.
  steps    (not with --static) every RUN of every stage runs here, in order, in a scratch root
           per stage: absolute paths the Dockerfile names (/src, /opt, /state, /root, /home,
           /usr/local/bin) are moved under it, COPY and COPY --from are done by copying, and the
           base images are stood in for by this machine's cargo and Node 24. Then: no state
           anywhere in the runtime root, OpenClaw at the pinned version, and the image's CMD and
           HEALTHCHECK run on an empty state dir (configured as the header says).
The workflow: every `run:` step runs under `shell: bash`, shellcheck passes, and the steps that
run `clawkit update` and `clawkit doctor` run as GitHub runs them, with a fake clawkit per exit
code: each must fail the step with clawkit's code on any exit but 0. With --real (not with --static) the workflow's
own steps also run for real: update installs OpenClaw, the gateway starts, doctor is clean.
"""

import argparse
import fnmatch
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO / "examples/Dockerfile"
DOCKERIGNORE = REPO / "examples/Dockerfile.dockerignore"
WORKFLOW = REPO / "examples/github-actions.yml"
# What GitHub runs for `shell: bash` (https://docs.github.com: "bash --noprofile --norc -eo
# pipefail {0}"); -u on top, as the brief for these checks asks.
GITHUB_BASH = ["bash", "--noprofile", "--norc", "-euo", "pipefail"]
# What GitHub runs on Linux for a step without a shell: no pipefail.
GITHUB_DEFAULT = ["bash", "-e"]
# Names that are OpenClaw state: none of them may be copied into, created in or set in an image.
STATE_NAMES = re.compile(
    r"(\.openclaw\b|openclaw\.json|config-journal-fingerprint\.key|\.sqlite\b|\.sqlite3\b"
    r"|\.db\b|device-auth\.json|paired\.json|/identity\b|/devices\b)"
)
SECRET_VARS = re.compile(r"(TOKEN|PASSWORD|SECRET|API_KEY)", re.I)
# Top-level directories a RUN may name; each is moved under the stage's scratch root.
RELOCATED = ("src", "opt", "state", "root", "home", "usr/local/bin", "app", "srv", "data")

failures = []
_seen = set()


def ok(msg):
    if msg not in _seen:
        _seen.add(msg)
        print(f"ok   {msg}")


def fail(msg):
    failures.append(msg)
    print(f"FAIL {msg}")


def check(cond, msg):
    (ok if cond else fail)(msg)
    return cond


# ---------------------------------------------------------------------------- Dockerfile ---


def parse_dockerfile(text):
    """Instructions as (line, KEYWORD, args) with continuations joined, comments dropped."""
    out, buf, start = [], "", 0
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if buf and line.lstrip().startswith("#"):
            continue  # a comment inside a continued instruction
        if not buf:
            start = n
        if line.endswith("\\"):
            buf += line[:-1]  # as Docker joins them: the backslash and the newline go
            continue
        buf += line
        kw, _, args = buf.strip().partition(" ")
        out.append((start, kw.upper(), args.strip()))
        buf = ""
    return out


def stages(instrs):
    """[{name, base, instrs}] in order."""
    result = []
    for line, kw, args in instrs:
        if kw == "FROM":
            words = [w for w in args.split() if not w.startswith("--")]
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            result.append({"name": name, "base": words[0], "line": line, "instrs": []})
        elif result:
            result[-1]["instrs"].append((line, kw, args))
    return result


def copy_args(args):
    """COPY/ADD arguments: (flags dict, sources, destination)."""
    if args.startswith("["):
        words = json.loads(args)
        flags = {}
    else:
        words = shlex.split(args)
        flags = {}
        while words and words[0].startswith("--"):
            k, _, v = words.pop(0)[2:].partition("=")
            flags[k] = v
    return flags, words[:-1], words[-1]


def dockerignore_allows(patterns, rel):
    """Whether the build context keeps `rel` (last matching pattern wins, parents count)."""
    parts = rel.split("/")
    allowed = True
    for pat in patterns:
        neg = pat.startswith("!")
        p = pat[1:] if neg else pat
        p = p.strip("/")
        for i in range(1, len(parts) + 1):
            if fnmatch.fnmatch("/".join(parts[:i]), p):
                allowed = neg
                break
    return allowed


def read_dockerignore():
    if not DOCKERIGNORE.exists():
        return None
    return [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def static_dockerfile(venv_bin):
    text = DOCKERFILE.read_text()
    instrs = parse_dockerfile(text)
    st = stages(instrs)
    check(len(st) >= 2, f"Dockerfile has {len(st)} stages (a builder and a runtime)")
    names = [s["name"] for s in st]
    ignore = read_dockerignore()
    check(
        ignore is not None,
        f"{DOCKERIGNORE.relative_to(REPO)} keeps the context (the repository root) small",
    )
    for i, s in enumerate(st):
        for line, kw, args in s["instrs"]:
            if kw in ("COPY", "ADD"):
                flags, srcs, dest = copy_args(args)
                if "from" in flags:
                    ref = flags["from"]
                    earlier = names[:i] + [str(k) for k in range(i)]
                    check(
                        ref in earlier,
                        f"line {line}: COPY --from={ref} names a stage defined before it",
                    )
                else:
                    for src in srcs:
                        rel = src.strip("./") or "."
                        check(
                            (REPO / rel).exists(),
                            f"line {line}: COPY {src} exists in the context",
                        )
                        if ignore is not None:
                            check(
                                dockerignore_allows(ignore, rel),
                                f"line {line}: COPY {src} is not excluded by the dockerignore",
                            )
                for p in srcs + [dest]:
                    check(
                        not STATE_NAMES.search(p),
                        f"line {line}: {kw} {p} is not OpenClaw state",
                    )
            if kw in ("ENV", "ARG"):
                for m in re.finditer(r"([A-Za-z_][A-Za-z0-9_]*)=", args):
                    check(
                        not SECRET_VARS.search(m.group(1)),
                        f"line {line}: {kw} {m.group(1)} is not a secret baked into the image",
                    )
            if kw == "RUN":
                # A RUN may name state only to prove it absent (`test ! -e …`).
                body = re.sub(r"test ! -e \S+", "", args)
                check(
                    not STATE_NAMES.search(body),
                    f"line {line}: RUN creates no OpenClaw state",
                )
                check(
                    not re.search(r"\bopenclaw\s+(onboard|configure|config\s+set|gateway\s+run|doctor)", args),
                    f"line {line}: RUN runs no openclaw command that writes state",
                )
    final = st[-1]
    env = {}
    for _, kw, args in final["instrs"]:
        if kw == "ENV":
            env.update(env_pairs(args, env))
    volumes = []
    for _, kw, args in final["instrs"]:
        if kw == "VOLUME":
            volumes += json.loads(args) if args.startswith("[") else args.split()
    state_dir = env.get("OPENCLAW_STATE_DIR")
    check(state_dir is not None, "the runtime sets OPENCLAW_STATE_DIR")
    check(state_dir in volumes, f"the state dir {state_dir} is a VOLUME ({volumes})")
    check(
        any(kw == "USER" and not args.startswith("0") and args != "root" for _, kw, args in final["instrs"]),
        "the gateway does not run as root",
    )
    r = subprocess.run([str(venv_bin / "hadolint"), str(DOCKERFILE)], capture_output=True, text=True)
    check(r.returncode == 0, "hadolint passes" + ("" if r.returncode == 0 else ":\n" + r.stdout + r.stderr))
    return st


def env_pairs(args, env):
    """ENV a=b c=d (values may use $VAR/${VAR} of earlier ENV/ARG values)."""
    out = {}
    for w in shlex.split(args):
        k, _, v = w.partition("=")
        out[k] = re.sub(
            r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?",
            lambda m: {**env, **out}.get(m.group(1), m.group(0)),
            v,
        )
    return out


def relocate(text, root):
    pat = r"(?<![\w$}./-])/(" + "|".join(re.escape(d) for d in RELOCATED) + r")(?=[/\s\"':;]|$)"
    return re.sub(pat, lambda m: f"{root}/{m.group(1)}", text)


def run_dockerfile_steps(st, node24_dir, cache_dir, npm_cache, keep):
    """Runs every RUN of every stage in a scratch root per stage (see the module doc)."""
    work = Path(tempfile.mkdtemp(prefix="clawkit-check-examples-"))
    print(f"--   scratch roots in {work}")
    roots = {}
    host_path = "/usr/bin:/bin"
    cargo = shutil.which("cargo")
    ok_all = True
    for i, s in enumerate(st):
        root = work / f"stage{i}-{s['name'] or 'final'}"
        # What every base image has (of the relocated directories).
        for d in ("root", "tmp", "opt", "home", "srv", "usr/local/bin"):
            (root / d).mkdir(parents=True)
        roots[s["name"] or str(i)] = roots[str(i)] = root
        # The base image, stood in for by this machine's tools.
        if s["base"].startswith("rust:"):
            if not cargo:
                fail(f"stage {i} ({s['base']}): no cargo here to stand in for it")
                return False
            base_path = f"{Path(cargo).parent}:{root}/usr/local/bin:{host_path}"
        elif s["base"].startswith("node:24"):
            base_path = f"{node24_dir}:{root}/usr/local/bin:{host_path}"
        else:
            fail(f"stage {i}: no stand-in for the base image {s['base']}")
            return False
        env = {
            "PATH": base_path,
            "HOME": f"{root}/root",
            "TMPDIR": f"{root}/tmp",
            "LANG": "C.UTF-8",
        }
        # The proxy/CA settings of this machine, which an image build would have its own way.
        for k in ("NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR", "CARGO_HOME", "RUSTUP_HOME", "CARGO_BUILD_JOBS",
                  "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
            if k in os.environ:
                env[k] = os.environ[k]
        if s["base"].startswith("rust:"):
            # The toolchain and crate cache of this machine (the image brings its own).
            home = Path.home()
            env.setdefault("RUSTUP_HOME", os.environ.get("RUSTUP_HOME", str(home / ".rustup")))
            env.setdefault("CARGO_HOME", os.environ.get("CARGO_HOME", str(home / ".cargo")))
        if s["base"].startswith("node:"):
            # npm's cache outside the scratch root (a RUN that sets HOME still gets this one),
            # so repeated checks do not download OpenClaw again.
            env["npm_config_cache"] = str(npm_cache)
        cwd = root
        print(f"--   stage {i} {s['name'] or ''} ({s['base']}) in {root}")
        for line, kw, args in s["instrs"]:
            if kw == "ARG":
                k, _, v = args.partition("=")
                env.setdefault(k, relocate(v, root))
            elif kw == "ENV":
                # Relocated before $VAR substitution: the stand-ins' paths stay as they are.
                env.update(env_pairs(relocate(args, root), env))
            elif kw == "WORKDIR":
                cwd = Path(relocate(args, root))
                cwd.mkdir(parents=True, exist_ok=True)
            elif kw in ("COPY", "ADD"):
                flags, srcs, dest = copy_args(args)
                dest_path = Path(relocate(dest, root)) if dest.startswith("/") else cwd / dest
                for src in srcs:
                    if "from" in flags:
                        from_root = roots[flags["from"]]
                        src_path = Path(relocate(src, from_root))
                    else:
                        src_path = context_copy(work, src)
                    copy_into(src_path, dest_path, dest.endswith("/") or len(srcs) > 1)
                ok(f"line {line}: {kw} {args}")
            elif kw == "RUN":
                cmd = relocate(args, root)
                if s["base"].startswith("rust:") and "cargo build" in cmd:
                    # Keep the build output between checks: target/ is a link to a cache.
                    tdir = cache_dir / "cargo-target"
                    tdir.mkdir(parents=True, exist_ok=True)
                    if not (cwd / "target").exists():
                        (cwd / "target").symlink_to(tdir)
                print(f"--   line {line}: RUN (in {cwd}): {cmd}")
                t0 = time.time()
                r = subprocess.run(["sh", "-c", cmd], cwd=cwd, env=env)
                ok_all &= check(r.returncode == 0, f"line {line}: RUN exits 0 ({time.time() - t0:.0f}s)")
                if r.returncode != 0:
                    return False
    final_root = roots[str(len(st) - 1)]
    final_env = env
    ok_all &= assert_no_state(final_root, final_env)
    ok_all &= run_cmd_and_healthcheck(st[-1], final_root, final_env)
    if ok_all and not keep:
        shutil.rmtree(work, ignore_errors=True)
    return ok_all


def context_copy(work, src):
    """The build context as BuildKit sends it: only what the dockerignore keeps."""
    ctx = work / "context"
    if not ctx.exists():
        ignore = read_dockerignore() or []
        for dirpath, dirnames, filenames in os.walk(REPO):
            rel_dir = os.path.relpath(dirpath, REPO)
            dirnames[:] = [
                d for d in dirnames
                if d not in (".git", "target")
                and dockerignore_allows(ignore, os.path.normpath(os.path.join(rel_dir, d)))
                or any(p.startswith("!" + os.path.normpath(os.path.join(rel_dir, d))) for p in ignore)
            ]
            for f in filenames:
                rel = os.path.normpath(os.path.join(rel_dir, f))
                if dockerignore_allows(ignore, rel):
                    (ctx / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(REPO / rel, ctx / rel)
    return ctx / src.strip("./")


def copy_into(src, dest, into_dir):
    if src.is_dir():
        shutil.copytree(src, dest, dirs_exist_ok=True, symlinks=True)
    else:
        if into_dir or dest.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
            dest = dest / src.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)


def assert_no_state(root, env):
    """Nothing in the runtime root is OpenClaw state (the package itself aside)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "node_modules"]
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            if STATE_NAMES.search("/" + os.path.relpath(p, root)):
                found.append(os.path.relpath(p, root))
    ok1 = check(not found, f"no OpenClaw state in the runtime root ({found or 'none'})")
    state = Path(env["OPENCLAW_STATE_DIR"])
    ok2 = check(
        state.is_dir() and not any(state.iterdir()),
        f"the state dir /{state.relative_to(root)} is an empty mount point",
    )
    r = subprocess.run(["openclaw", "--version"], env=env, capture_output=True, text=True)
    want = env.get("OPENCLAW_VERSION", "?")
    ok3 = check(
        r.returncode == 0 and r.stdout.split()[1:2] == [want],
        f"openclaw --version is {want} ({r.stdout.strip() or r.stderr.strip()})",
    )
    return ok1 and ok2 and ok3


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def startupz(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/startupz", timeout=1) as r:
            return json.loads(r.read())
    except Exception:
        return None


def exec_form(args):
    return json.loads(args) if args.startswith("[") else ["sh", "-c", args]


def run_cmd_and_healthcheck(stage, root, env):
    """The container's first run, as the header says: `openclaw config set gateway.mode local`
    on the empty state volume, then CMD with a token from the environment; HEALTHCHECK must pass
    once the gateway serves; the state is then in the state dir and nowhere else."""
    cmd = hc = None
    for _, kw, args in stage["instrs"]:
        if kw == "CMD":
            cmd = exec_form(args)
        if kw == "HEALTHCHECK":
            hc = exec_form(args[args.index("CMD") + 3:].strip())
    if not check(cmd is not None, "the image has a CMD"):
        return False
    port = free_port()
    run_env = dict(env, OPENCLAW_GATEWAY_TOKEN="check-examples-" + os.urandom(12).hex())
    cwd = root / "home/node"
    cwd.mkdir(parents=True, exist_ok=True)
    run_env["HOME"] = str(cwd)
    for args in (["openclaw", "config", "set", "gateway.mode", "local"],
                 ["openclaw", "config", "set", "gateway.port", str(port), "--strict-json"]):
        r = subprocess.run(args, env=run_env, cwd=cwd, capture_output=True, text=True)
        if not check(r.returncode == 0, f"{' '.join(args)} on the empty state dir"):
            print(r.stdout + r.stderr)
            return False
    log = open(root / "gateway.log", "w")
    gw = subprocess.Popen(cmd, env=run_env, cwd=cwd, stdout=log, stderr=log,
                          stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        end = time.time() + 150
        started = False
        while time.time() < end and gw.poll() is None:
            v = startupz(port)
            if v and v.get("status") == "started":
                started = True
                break
            time.sleep(0.5)
        good = check(started, f"CMD {' '.join(cmd)} serves on port {port} (the config's)")
        if not started:
            print((root / "gateway.log").read_text()[-3000:])
        if hc:
            r = subprocess.run(hc, env=run_env, cwd=cwd, capture_output=True, text=True)
            good &= check(r.returncode == 0, f"HEALTHCHECK {' '.join(hc)} exits 0 ({r.returncode})"
                          + ("" if r.returncode == 0 else ":\n" + r.stderr[-2000:]))
    finally:
        try:
            os.killpg(gw.pid, signal.SIGTERM)
            gw.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(gw.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    state = Path(env["OPENCLAW_STATE_DIR"])
    home_state = [p.name for p in cwd.iterdir()] if cwd.exists() else []
    good &= check(any(state.iterdir()), f"the gateway wrote its state into the state dir ({len(list(state.iterdir()))} entries)")
    good &= check(".openclaw" not in home_state, f"and nothing into HOME ({home_state})")
    return good


# ------------------------------------------------------------------------------ workflow ---


def workflow_steps():
    wf = yaml.safe_load(WORKFLOW.read_text())
    out = []
    for job_id, job in wf["jobs"].items():
        default_shell = ((job.get("defaults") or {}).get("run") or {}).get("shell") or (
            ((wf.get("defaults") or {}).get("run") or {}).get("shell")
        )
        env = {**(wf.get("env") or {}), **(job.get("env") or {})}
        for step in job["steps"]:
            if "run" in step:
                out.append((job_id, step, step.get("shell") or default_shell,
                            {**env, **(step.get("env") or {})}))
    return out


FAKE_CLAWKIT = r"""#!/usr/bin/env bash
# A fake clawkit: the document in $FAKE_DIR/<command>.json on stdout (when present), the text in
# $FAKE_DIR/<command>.err on stderr, and the exit code in $FAKE_DIR/<command>.code.
cmd=$1
[ -f "$FAKE_DIR/$cmd.json" ] && cat "$FAKE_DIR/$cmd.json"
[ -f "$FAKE_DIR/$cmd.err" ] && cat "$FAKE_DIR/$cmd.err" >&2
echo "$*" >> "$FAKE_DIR/calls"
exit "$(cat "$FAKE_DIR/$cmd.code")"
"""


# Abridged schema-2 documents (schemas/update.json, schemas/doctor.json): the fields the
# workflow reads, as clawkit prints them (null when unknown, never left out).
def update_doc(outcome, code, frm="2026.9.4", to="2026.9.6", downtime=None, error=None):
    return {"schema": 2, "command": "update", "outcome": outcome, "exit_code": code,
            "from": frm, "to": to, "downtime_ms": downtime, "error": error,
            "fix": None if not error else "see `clawkit history show`"}


def doctor_doc(verdict, nxt=None, outcome=None, code=None, error=None):
    ok = verdict == "healthy"
    return {"schema": 2, "command": "doctor", "outcome": outcome or ("ok" if ok else "problem"),
            "exit_code": code if code is not None else (0 if ok else 3), "ok": ok,
            "verdict": verdict, "next": nxt, "checks": [], "error": error, "fix": None}


# (step id, exit code, stdout document or None, stderr, should the step pass, text it prints)
SCENARIOS = [
    ("update", 0, update_doc("updated", 0, downtime=13928), "", True, "updated: 2026.9.4 -> 2026.9.6, outage 13928 ms"),
    ("update", 0, update_doc("updated", 0, frm=None, downtime=None), "", True, "updated: none -> 2026.9.6, outage none"),
    ("update", 0, update_doc("already-current", 0, frm="2026.9.6"), "", True, "already-current: 2026.9.6 -> 2026.9.6, outage none"),
    ("update", 1, update_doc("failed", 1, error="the gateway did not stop"), "", False, "::error::clawkit update exited 1: the gateway did not stop"),
    ("update", 2, None, "error: invalid value \"x y\" for '--to <VERSION|TAG>'\n", False, "::error::clawkit update exited 2: see the log above"),
    ("update", 3, update_doc("failed", 3, error="skew"), "", False, "::error::clawkit update exited 3"),
    ("update", 4, update_doc("rolled-back", 4, downtime=9000, error="health gate timed out"), "", False, "::error::update rolled back, the previous version runs: health gate timed out"),
    ("update", 5, update_doc("locked", 5, frm=None, to=None, error="another clawkit operation is running"), "", False, "::error::clawkit update exited 5: another clawkit operation is running"),
    ("update", 6, update_doc("refused", 6, error="the rehearsal failed"), "", False, "::error::clawkit update exited 6: the rehearsal failed"),
    ("update", 7, update_doc("update-available", 7), "", False, "::error::clawkit update exited 7"),
    ("doctor", 0, doctor_doc("healthy"), "", True, "doctor: healthy"),
    ("doctor", 3, doctor_doc("problems", "clawkit update"), "", False, "::error::clawkit doctor exited 3: clawkit update"),
    ("doctor", 3, doctor_doc("version-skew-loop", "clawkit update --to 2026.9.6"), "", False, "::error::clawkit doctor exited 3: clawkit update --to 2026.9.6"),
    ("doctor", 1, doctor_doc(None, outcome="failed", code=1, error="cannot read the config"), "", False, "::error::clawkit doctor exited 1: cannot read the config"),
]


def check_workflow(venv_bin):
    steps = workflow_steps()
    for job_id, step, shell, _ in steps:
        check(shell == "bash", f"{job_id}: step {step.get('name') or step.get('id')!r} runs with shell: bash ({shell})")
    with tempfile.TemporaryDirectory(prefix="clawkit-check-workflow-") as t:
        t = Path(t)
        for job_id, step, _, _ in steps:
            script = t / "step.sh"
            # ${{ … }} expressions are GitHub's, not the shell's.
            body = re.sub(r"\$\{\{[^}]*\}\}", "EXPR", step["run"])
            script.write_text("#!/usr/bin/env bash\nset -eo pipefail\n" + body)
            r = subprocess.run([str(venv_bin / "shellcheck"), "-s", "bash", str(script)],
                               capture_output=True, text=True)
            check(r.returncode == 0, f"shellcheck: step {step.get('name')!r}" + ("" if r.returncode == 0 else ":\n" + r.stdout))
        # The steps under test: the one that runs `clawkit update`, the one that runs `clawkit
        # doctor`, each run as GitHub would run it with its shell.
        by_id = {}
        for _, s, shell, env in steps:
            for sid in ("update", "doctor"):
                if re.search(rf"\bclawkit {sid}\b", s["run"]) and sid not in by_id:
                    by_id[sid] = (s, env, GITHUB_BASH if shell == "bash" else GITHUB_DEFAULT)
        for sid in ("update", "doctor"):
            check(sid in by_id, f"the workflow has a step that runs clawkit {sid}")
        bin_dir = t / "bin"
        bin_dir.mkdir()
        (bin_dir / "clawkit").write_text(FAKE_CLAWKIT)
        (bin_dir / "clawkit").chmod(0o755)
        for sid, code, doc, err, should_pass, text in SCENARIOS:
            if sid not in by_id:
                continue
            step, wenv, shell_cmd = by_id[sid]
            case = Path(tempfile.mkdtemp(dir=t))
            cmd = sid
            (case / f"{cmd}.code").write_text(str(code))
            if doc is not None:
                (case / f"{cmd}.json").write_text(json.dumps(doc))
            (case / f"{cmd}.err").write_text(err)
            (case / "step.sh").write_text(step["run"])
            env = {"PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin", "HOME": str(case),
                   "FAKE_DIR": str(case), "CI": "true", "GITHUB_ACTIONS": "true",
                   "RUNNER_TEMP": str(case), "GITHUB_ENV": str(case / "github_env"),
                   **{k: str(v) for k, v in wenv.items()}}
            r = subprocess.run(shell_cmd + [str(case / "step.sh")], cwd=case, env=env,
                               capture_output=True, text=True)
            out = r.stdout + r.stderr
            passed = r.returncode == 0
            good = passed == should_pass and text in out
            if not should_pass:
                # The step fails with clawkit's own code, not with some other error on the way.
                good &= r.returncode == code
            check(good, f"step {sid}: clawkit exits {code}"
                  + (f" ({doc.get('outcome') or doc.get('verdict')})" if doc else "")
                  + f" -> step {'passes' if passed else 'fails'} (exit {r.returncode})"
                  + ("" if good else f", expected {'pass' if should_pass else 'fail'} printing {text!r}:\n{out}"))


def run_workflow_for_real(clawkit, node24_dir, npm_cache):
    """The workflow's steps with the real clawkit and OpenClaw: setup-node is Node 24 with an
    npm global prefix of its own, `Install clawkit` is this build, the rest runs as written."""
    steps = workflow_steps()
    t = Path(tempfile.mkdtemp(prefix="clawkit-check-workflow-real-"))
    home, prefix, runner_temp = t / "home", t / "npm-global", t / "runner-temp"
    for d in (home, prefix / "bin", runner_temp, t / "bin"):
        d.mkdir(parents=True)
    shutil.copy2(clawkit, t / "bin/clawkit")
    port = free_port()
    env = {
        "PATH": f"{t / 'bin'}:{prefix / 'bin'}:{node24_dir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home), "CI": "true", "GITHUB_ACTIONS": "true", "LANG": "C.UTF-8",
        "RUNNER_TEMP": str(runner_temp), "GITHUB_ENV": str(runner_temp / "github_env"),
        "npm_config_prefix": str(prefix), "npm_config_cache": str(npm_cache),
        "npm_config_update_notifier": "false",
    }
    for k in ("NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        if k in os.environ:
            env[k] = os.environ[k]
    good = True
    try:
        for job_id, step, _, wenv in steps:
            if "cargo install" in step["run"]:
                ok(f"step {step['name']!r}: stood in for by this build of clawkit")
                continue
            senv = {**env, **{k: str(v) for k, v in wenv.items()}, "OPENCLAW_PORT": str(port)}
            (t / "step.sh").write_text(step["run"])
            t0 = time.time()
            r = subprocess.run(GITHUB_BASH + [str(t / "step.sh")], cwd=t, env=senv,
                               capture_output=True, text=True)
            good &= check(r.returncode == 0, f"real: step {step['name']!r} exits 0 ({time.time() - t0:.0f}s)")
            print("       " + (r.stdout + r.stderr).strip().replace("\n", "\n       ")[-3000:])
            if r.returncode != 0:
                break
    finally:
        kill_home_processes(home)
    if good:
        shutil.rmtree(t, ignore_errors=True)
    return good


def kill_home_processes(home):
    """Ends the processes this check started (their HOME is inside its scratch dir), by pid."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                envb = Path(f"/proc/{pid}/environ").read_bytes()
            except OSError:
                continue
            if f"HOME={home}".encode() in envb.split(b"\0"):
                pids.append(int(pid))
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        if not pids:
            return
        time.sleep(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--venv-bin", required=True, type=Path)
    ap.add_argument("--node24-dir")
    ap.add_argument("--cache-dir", type=Path)
    ap.add_argument("--npm-cache", type=Path)
    ap.add_argument("--static", action="store_true")
    ap.add_argument("--real", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--dockerfile", type=Path, help="check this file instead (e.g. an old one)")
    ap.add_argument("--workflow", type=Path, help="check this workflow instead")
    a = ap.parse_args()
    global DOCKERFILE, WORKFLOW
    DOCKERFILE = (a.dockerfile or DOCKERFILE).resolve()
    WORKFLOW = (a.workflow or WORKFLOW).resolve()
    print("== examples/Dockerfile (static)")
    st = static_dockerfile(a.venv_bin)
    print("== examples/github-actions.yml")
    check_workflow(a.venv_bin)
    if not a.static and not failures:
        print("== examples/Dockerfile: every RUN outside a container, then CMD and HEALTHCHECK")
        run_dockerfile_steps(st, a.node24_dir, a.cache_dir, a.npm_cache, a.keep)
    if a.real and not a.static and not failures:
        print("== examples/github-actions.yml: the steps for real")
        # The clawkit the Dockerfile's builder stage just built (its target/ is kept in the cache).
        run_workflow_for_real(a.cache_dir / "cargo-target/release/clawkit", a.node24_dir, a.npm_cache)
    print()
    if failures:
        print(f"check-examples: {len(failures)} failed")
        for f in failures:
            print(f"  - {f.splitlines()[0]}")
        sys.exit(1)
    print("check-examples: all passed")


if __name__ == "__main__":
    main()
