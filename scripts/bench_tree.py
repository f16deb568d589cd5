#!/usr/bin/env python3
"""Run a command and report what its whole process tree used: the peak of the summed RSS of all
its live descendants (sampled from /proc every 50 ms; wrappers such as nsenter, timeout, runuser
and env are left out) and the CPU time of the tree (wait4's rusage: every descendant that was
waited for, which is all of them except processes handed to a service manager, e.g. the gateway
that `systemctl start` runs).  `bench_tree.py OUTFILE -- CMD...` writes "peak_kb cpu_s"."""
import os, subprocess, sys, time

WRAPPERS = {"nsenter", "timeout", "runuser", "env", "systemd-box"}
out, cmd = sys.argv[1], sys.argv[sys.argv.index("--") + 1:]
page_kb = os.sysconf("SC_PAGE_SIZE") // 1024


def tree_rss_kb(root):
    children, comm = {}, {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            st = open(f"/proc/{d}/stat").read()
        except OSError:
            continue
        name, rest = st[st.index("(") + 1:st.rindex(")")], st[st.rindex(")") + 2:].split()
        pid, ppid = int(d), int(rest[1])
        children.setdefault(ppid, []).append(pid)
        comm[pid] = (name, int(rest[21]))  # rss in pages
    total, todo = 0, [root]
    while todo:
        p = todo.pop()
        name, rss = comm.get(p, ("", 0))
        if name not in WRAPPERS:
            total += rss * page_kb
        todo.extend(children.get(p, []))
    return total


p = subprocess.Popen(cmd)
peak = 0
while True:
    pid, status, ru = os.wait4(p.pid, os.WNOHANG)
    if pid:
        break
    peak = max(peak, tree_rss_kb(p.pid))
    time.sleep(0.05)
open(out, "w").write(f"{peak} {ru.ru_utime + ru.ru_stime:.2f}\n")
sys.exit(os.waitstatus_to_exitcode(status))
