#!/usr/bin/env python3
"""Run a command and report the peak RSS (VmHWM) and CPU time of that process alone, not of its
children (npm, node): `bench_rusage.py OUTFILE -- CMD...` writes "peak_kb user_s sys_s"."""
import os, subprocess, sys, time

out, cmd = sys.argv[1], sys.argv[sys.argv.index("--") + 1:]
p = subprocess.Popen(cmd)
hwm, ut, st = 0, 0.0, 0.0
tick = os.sysconf("SC_CLK_TCK")
while p.poll() is None:
    try:
        for line in open(f"/proc/{p.pid}/status"):
            if line.startswith("VmHWM:"):
                hwm = max(hwm, int(line.split()[1]))
        f = open(f"/proc/{p.pid}/stat").read().rsplit(")", 1)[1].split()
        ut, st = int(f[11]) / tick, int(f[12]) / tick
    except (OSError, IndexError, ValueError):
        pass
    time.sleep(0.002)
open(out, "w").write(f"{hwm} {ut:.2f} {st:.2f}\n")
sys.exit(p.returncode)
