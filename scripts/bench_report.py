#!/usr/bin/env python3
"""Turns scripts/bench's (and scripts/bench-systemd's, in DATA_DIR/systemd) raw samples into
docs/benchmarks.md, docs/outage-timeline.svg and CSV files. Usage: bench_report.py DATA_DIR DOCS_DIR"""
import json, os, platform, re, statistics, subprocess, sys, time
from collections import defaultdict

data, docs = sys.argv[1], sys.argv[2]
# meta.txt (written by scripts/bench): FROM TO DATE REPS RUNS
FROM, TO, DATE, REPS, RUNS = open(os.path.join(data, "meta.txt")).read().split()[:5]
REPS, RUNS = int(REPS), int(RUNS)
# notes.txt: hand-written findings about a run, "[section]" then its paragraph(s).
NOTES, _key = {}, None
if os.path.exists(os.path.join(data, "notes.txt")):
    for line in open(os.path.join(data, "notes.txt")):
        if line.startswith("[") and line.rstrip().endswith("]"):
            _key = line.strip()[1:-1]
        elif _key:
            NOTES[_key] = (NOTES.get(_key, "") + line).strip()


def note(key):
    return ["", NOTES[key]] if key in NOTES else []
NAMES = {
    "clawkit": "clawkit update (staged, rehearsed)",
    "clawkit_norehearsal": "clawkit update --no-rehearsal",
    "clawkit_inplace": "clawkit update --in-place",
    "manual": "careful manual checklist",
    "naive": "naive npm install -g",
}

runs = []
for line in open(os.path.join(data, "runs.txt")):
    m, rep, t0, t1 = line.split()
    runs.append((m, int(rep), float(t0), float(t1)))


def samples(m, rep, d=data):
    out = []
    for line in open(os.path.join(d, f"{m}-{rep}.samples")):
        t, kind, v = line.split()
        out.append((float(t), kind, v))
    return sorted(out)


def gap(ss, kind, t0, FROM=FROM, TO=TO):
    """Last sample serving FROM before the first one serving TO (after t0) → first TO."""
    xs = [(t, v) for t, k, v in ss if k == kind]
    first_new = next((t for t, v in xs if t >= t0 and v == TO), None)
    if first_new is None:
        return None, None
    last_old = max((t for t, v in xs if t < first_new and v == FROM), default=t0)
    return last_old, first_new


def states(ss, t0, t1, FROM, TO, naive=False):
    """Each /startupz sample as (seconds since t0, value, state) for the timeline. The first RPC
    failure after t0 while HTTP still serves the old version: broken, not down."""
    out, last_rpc = [], "ok"
    for t, k, v in ss:
        if k == "rpc":
            last_rpc = "ok" if v in (FROM, TO) else "fail"
            continue
        if v == TO:
            state = "new"
        elif v in ("down", "starting"):
            state = "down"
        elif last_rpc == "fail" and t > t0:
            state = "broken"
        elif naive and t > t1:
            state = "skew"  # the new CLI is installed, the old gateway still runs
        else:
            state = "old"
        out.append((round(t - t0, 3), v, state))
    return out


rows = defaultdict(lambda: defaultdict(list))
timeline = []
# The timeline shows each method's median run (by total time).
median_rep = {}
for m in {r[0] for r in runs}:
    mine = sorted((r[3] - r[2], r[1]) for r in runs if r[0] == m)
    median_rep[m] = mine[len(mine) // 2][1]
for m, rep, t0, t1 in runs:
    ss = samples(m, rep)
    total = t1 - t0
    lo, fn = gap(ss, "http", t0)
    rlo, rfn = gap(ss, "rpc", t0)
    rows[m]["total"].append(total)
    rows[m]["http"].append(None if fn is None else fn - lo)
    rows[m]["rpc"].append(None if rfn is None else rfn - rlo)
    if rep == median_rep[m]:
        timeline.extend((NAMES[m], t, v, st) for t, v, st in states(ss, t0, t1, FROM, TO, m == "naive"))
    rj = os.path.join(data, f"{m}-{rep}.json")
    if os.path.exists(rj):
        doc = json.load(open(rj))
        for s in doc.get("steps", []):
            name = re.sub(r" on port \d+", "", s["name"].replace(" default", "")).split(" (")[0].split(" /")[0]
            rows[m]["step:" + name].append(s["duration_ms"] / 1000)
        for k, v in (doc.get("outage") or {}).items():
            if isinstance(v, (int, float)):
                rows[m]["part:" + k].append(v / 1000)
    ru = os.path.join(data, f"{m}-{rep}.rusage")
    if os.path.exists(ru):
        kb, u, s_ = open(ru).read().split()
        rows[m]["rss_mb"].append(int(kb) / 1024)
        rows[m]["cpu_s"].append(float(u) + float(s_))


def fmt(xs, unit="s", never="never*"):
    vals = [x for x in xs if x is not None]
    if not vals:
        return never
    med = statistics.median(vals)
    s = f"{med:.1f} {unit}"
    if len(vals) > 1:
        s += f" ({min(vals):.1f}–{max(vals):.1f})"
    if len(vals) < len(xs):
        s += f", never in {len(xs) - len(vals)} of {len(xs)}"
    return s


lat = defaultdict(list)
for line in open(os.path.join(data, "latency.txt")):
    name, us = line.rsplit(" ", 1)
    lat[name].append(int(us) / 1000)
status_ru = open(os.path.join(data, "status.rusage")).read().split()

with open(os.path.join(data, "timeline.csv"), "w") as f:
    f.write("method,t_seconds,startupz,state\n")
    for r in timeline:
        f.write(",".join(map(str, r)) + "\n")
with open(os.path.join(data, "summary.csv"), "w") as f:
    f.write("method,rep,total_s,http_outage_s,rpc_outage_s\n")
    for m in NAMES:
        for i, (tot, h, r) in enumerate(zip(rows[m]["total"], rows[m]["http"], rows[m]["rpc"])):
            f.write(f"{m},{i + 1},{tot:.2f},{'' if h is None else f'{h:.2f}'},{'' if r is None else f'{r:.2f}'}\n")

cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
md = [
    "# Benchmarks",
    "",
    f"Measured by `scripts/bench` on {DATE}: {os.cpu_count()} cores ({cpu}), "
    f"{round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB, {platform.system()} {platform.release()}, "
    f"Node 24, real OpenClaw {FROM} → {TO}, unmanaged gateway on loopback, {REPS} repetition(s): median (min–max).",
    "",
    "## Update: outage and total time",
    "",
    "The timeline shows each method's median run. Outage is measured from outside: `/startupz` polled every 100 ms (last sample serving the old version → first serving the new one), "
    "and a real RPC (`openclaw gateway call status --json`, back to back, ~1.5 s per call, so coarser) with the same rule.",
    "",
    "| method | outage (/startupz, 100 ms) | outage (RPC) | total time |",
    "|---|---|---|---|",
]
for m, name in NAMES.items():
    md.append(f"| {name} | {fmt(rows[m]['http'])} | {fmt(rows[m]['rpc'])} | {fmt(rows[m]['total'])} |")
md += [
    "",
    "\\* never: the new version did not serve within 120 s without manual action. Measured here: while npm "
    "replaced the files, RPCs failed; afterwards the old gateway kept serving the old version to the new CLI "
    "(the version skew behind the `pairing required` loop) until someone restarts it.",
    "",
    "Where clawkit's outage goes (median of its steps, seconds):",
    "",
    "| step | clawkit (staged, rehearsed) | clawkit --no-rehearsal | clawkit --in-place |",
    "|---|---|---|---|",
]
steps = sorted({k for m in ("clawkit", "clawkit_norehearsal", "clawkit_inplace") for k in rows[m] if k.startswith("step:")})
for k in steps:
    cell = lambda m: f"{statistics.median(rows[m][k]):.1f}" if rows[m].get(k) else "-"
    md.append(f"| {k[5:]} | {cell('clawkit')} | {cell('clawkit_norehearsal')} | {cell('clawkit_inplace')} |")
md += note("steps")
md += [
    "",
    "The outage in parts as clawkit reports it (`outage` in its JSON; median, seconds). The rehearsal "
    "boots the new release on a copy of the state before the stop; a shorter start to healthy with it "
    "is what that boot warmed (Node's compile cache is shared through the gateway's "
    "`NODE_COMPILE_CACHE` directory, and the file-system cache):",
    "",
    "| part | clawkit (staged, rehearsed) | clawkit --no-rehearsal |",
    "|---|---|---|",
]
for k in sorted({k for m in ("clawkit", "clawkit_norehearsal") for k in rows[m] if k.startswith("part:")}):
    cell = lambda m: f"{statistics.median(rows[m][k]):.1f}" if rows[m].get(k) else "-"
    md.append(f"| {k[5:]} | {cell('clawkit')} | {cell('clawkit_norehearsal')} |")
# The systemd box: clawkit update vs openclaw update (scripts/bench-systemd).
SD = os.path.join(data, "systemd")
SD_NAMES = {"clawkit": "clawkit update (systemd box)", "openclaw": "openclaw update (systemd box)"}
if os.path.exists(os.path.join(SD, "runs.txt")):
    meta = open(os.path.join(SD, "meta.txt")).read().split("\n")
    SFROM, STO, SDATE, SCORES = meta[0].split()[:4]
    sload = meta[0].split(None, 4)[4] if len(meta[0].split()) > 4 else "?"
    eload = next((l.split(": ", 1)[1] for l in meta if l.startswith("load at the end")), "?")
    sruns = [l.split() for l in open(os.path.join(SD, "runs.txt")) if l.strip()]
    srows = defaultdict(lambda: defaultdict(list))
    smed = {}
    for tool in SD_NAMES:
        mine = sorted((float(r[3]) - float(r[2]), int(r[1])) for r in sruns if r[0] == tool)
        if mine:
            smed[tool] = mine[len(mine) // 2][1]
    for r in sruns:
        tool, rep, t0, t1, code = r[0], int(r[1]), float(r[2]), float(r[3]), r[4]
        ended = r[5] if len(r) > 5 else "down"
        ss = samples(tool, rep, SD)
        lo, fn = gap(ss, "http", t0, SFROM, STO)
        rlo, rfn = gap(ss, "rpc", t0, SFROM, STO)
        srows[tool]["total"].append(t1 - t0)
        srows[tool]["http"].append(None if fn is None else fn - lo)
        srows[tool]["rpc"].append(None if rfn is None else rfn - rlo)
        srows[tool]["exit"].append(code)
        srows[tool]["ended"].append(ended)
        tree = os.path.join(SD, f"{tool}-{rep}.tree")
        if os.path.exists(tree):
            kb, cpu_s = open(tree).read().split()
            srows[tool]["mem"].append(int(kb) / 1024)
            srows[tool]["cpu"].append(float(cpu_s))
        if rep == smed.get(tool):
            timeline.extend((SD_NAMES[tool] + f" {SFROM} → {STO}", t, v, st) for t, v, st in states(ss, t0, t1, SFROM, STO))
    n = {tool: len(srows[tool]["total"]) for tool in SD_NAMES}
    md += [
        "",
        "## On a real systemd box: clawkit update vs openclaw update",
        "",
        f"Measured by `scripts/bench-systemd` on {SDATE}, same machine ({SCORES} cores; load average at the start "
        f"{sload}, at the end {eload}): each run in a fresh booted Debian box (`scripts/systemd-box`) with OpenClaw "
        f"{SFROM} installed as the systemd user service by the real `openclaw gateway install`, same config and the "
        f"same warm npm cache; `clawkit update --to {STO} --yes --json` and `openclaw update --tag {STO} --yes --json` "
        f"alternating, {n['clawkit']} and {n['openclaw']} runs: median (min–max). Outage from outside as above: "
        "`/startupz` every 100 ms from the host, the RPC poller inside the box. Memory: the peak of the summed RSS "
        "of the tool's own process tree (npm, doctor, its rehearsal or canary gateway; not the service's gateway), "
        "sampled every 50 ms; CPU: the tree's user+sys time.",
        "",
        "| tool | outage (/startupz, 100 ms) | outage (RPC) | total time | peak memory (tree) | CPU (tree) | exit codes | gateway afterwards |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for tool, name in SD_NAMES.items():
        r = srows[tool]
        md.append(f"| `{name.split(' (')[0]}` | {fmt(r['http'])} | {fmt(r['rpc'])} | {fmt(r['total'])} | "
                  f"{fmt(r['mem'], 'MB', '-')} | {fmt(r['cpu'], 's', '-')} | {', '.join(r['exit'])} | {', '.join(sorted(set(r['ended'])))} |")
    md += note("systemd")
    md += ["", "Raw data: `docs/bench-data/systemd/` (per-run samples, each tool's JSON and stderr tail)."]

md += [
    "",
    "## Verdict latency (gateway up)",
    *note("latency"),
    "",
    f"{RUNS} runs each, wall time, median (min–max):",
    "",
    "| command | latency |",
    "|---|---|",
]
for name, xs in lat.items():
    md.append(f"| `{name}` | {statistics.median(xs):.0f} ms ({min(xs):.0f}–{max(xs):.0f}) |")
md += [
    "",
    "## clawkit's own resources",
    "",
    "Peak RSS (VmHWM) and CPU time of the clawkit process itself, not of npm or node (sampled from /proc):",
    "",
    "| run | peak RSS | CPU (user+sys) |",
    "|---|---|---|",
    f"| `clawkit status --json` | {int(status_ru[0]) / 1024:.1f} MB | {float(status_ru[1]) + float(status_ru[2]):.2f} s |",
    f"| `clawkit update` (staged, rehearsed) | {fmt(rows['clawkit']['rss_mb'], 'MB')} | {fmt(rows['clawkit']['cpu_s'])} |",
    f"| `clawkit update --no-rehearsal` | {fmt(rows['clawkit_norehearsal']['rss_mb'], 'MB')} | {fmt(rows['clawkit_norehearsal']['cpu_s'])} |",
    f"| `clawkit update --in-place` | {fmt(rows['clawkit_inplace']['rss_mb'], 'MB')} | {fmt(rows['clawkit_inplace']['cpu_s'])} |",
    "",
    "![outage timeline](outage-timeline.svg)",
    "",
    "Raw data: `docs/bench-data/` (`summary.csv`, `timeline.csv`, per-run samples). Regenerate with `scripts/bench`.",
    "",
]
open(os.path.join(docs, "benchmarks.md"), "w").write("\n".join(md))

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

colors = {"old": "#4c78a8", "down": "#e45756", "broken": "#f58518", "skew": "#b279a2", "new": "#54a24b"}
labels = {"old": "serving the old version", "down": "unavailable", "broken": "old version answers, RPC fails",
          "skew": "skew: new CLI, old gateway", "new": "serving the new version"}
fig, ax = plt.subplots(figsize=(12.5, 2.2 + 0.45 * len({n for n, _, _, _ in timeline})))
order = list(NAMES.values())
methods = sorted({n for n, _, _, _ in timeline}, key=lambda n: (order.index(n) if n in order else len(order), n))
for y, name in enumerate(methods):
    pts = [(t, s) for n, t, _, s in timeline if n == name]
    for (t, s), nxt in zip(pts, pts[1:] + [(pts[-1][0] + 0.1, None)] if pts else []):
        ax.barh(y, nxt[0] - t, left=t, color=colors[s], height=0.6, linewidth=0)
ax.set_yticks(range(len(methods)), methods)
ax.invert_yaxis()
ax.set_xlabel(f"seconds from the start of the update (real OpenClaw; unmanaged {FROM} → {TO} unless named)")
ax.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=c) for c in colors.values()], labels=list(labels.values()),
          loc="upper center", bbox_to_anchor=(0.4, -0.22), ncol=3, frameon=False, fontsize=9)
fig.tight_layout()
fig.savefig(os.path.join(docs, "outage-timeline.svg"))
if os.environ.get("BENCH_PNG"):
    fig.savefig(os.environ["BENCH_PNG"], dpi=90)
print("\n".join(md))
