#!/usr/bin/env python3
"""Turns scripts/bench's raw samples into docs/benchmarks.md, docs/outage-timeline.svg and
CSV files. Usage: bench_report.py DATA_DIR DOCS_DIR FROM TO REPS RUNS"""
import json, os, platform, re, statistics, subprocess, sys, time
from collections import defaultdict

data, docs, FROM, TO, REPS, RUNS = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
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


def samples(m, rep):
    out = []
    for line in open(os.path.join(data, f"{m}-{rep}.samples")):
        t, kind, v = line.split()
        out.append((float(t), kind, v))
    return sorted(out)


def gap(ss, kind, t0):
    """Last sample serving FROM before the first one serving TO (after t0) → first TO."""
    xs = [(t, v) for t, k, v in ss if k == kind]
    first_new = next((t for t, v in xs if t >= t0 and v == TO), None)
    if first_new is None:
        return None, None
    last_old = max((t for t, v in xs if t < first_new and v == FROM), default=t0)
    return last_old, first_new


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
    # The first RPC failure after t0 while HTTP still serves the old version: broken, not down.
    if rep == median_rep[m]:
        last_rpc = "ok"
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
            elif m == "naive" and t > t1:
                state = "skew"  # the new CLI is installed, the old gateway still runs
            else:
                state = "old"
            timeline.append((NAMES[m], round(t - t0, 3), v, state))
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
    f"Measured by `scripts/bench` on {time.strftime('%Y-%m-%d')}: {os.cpu_count()} cores ({cpu}), "
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
md += [
    "",
    "## Verdict latency (gateway up)",
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
labels = {"old": f"serving {FROM}", "down": "unavailable", "broken": f"{FROM} answers, RPC fails",
          "skew": f"skew: {TO} CLI, {FROM} gateway", "new": f"serving {TO}"}
fig, ax = plt.subplots(figsize=(11, 4.4))
methods = list(NAMES.values())
for y, name in enumerate(methods):
    pts = [(t, s) for n, t, _, s in timeline if n == name]
    for (t, s), nxt in zip(pts, pts[1:] + [(pts[-1][0] + 0.1, None)] if pts else []):
        ax.barh(y, nxt[0] - t, left=t, color=colors[s], height=0.6, linewidth=0)
ax.set_yticks(range(len(methods)), methods)
ax.invert_yaxis()
ax.set_xlabel(f"seconds from the start of the update ({FROM} → {TO}, real OpenClaw, unmanaged gateway)")
ax.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=c) for c in colors.values()], labels=list(labels.values()),
          loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=3, frameon=False)
fig.tight_layout()
fig.savefig(os.path.join(docs, "outage-timeline.svg"))
if os.environ.get("BENCH_PNG"):
    fig.savefig(os.environ["BENCH_PNG"], dpi=90)
print("\n".join(md))
