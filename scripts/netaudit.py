#!/usr/bin/env python3
"""Reads an `strace -f -v -e trace=execve,clone,clone3,fork,vfork,connect,sendto,sendmsg` log and
lists every network destination that a rehearsal process (HOME inside clawkit's private copy,
and all its threads and children) tried to reach outside the loopback.

usage: netaudit.py STRACE_LOG   → prints them; exit 1 when there is any, 0 otherwise.
"""
import re, sys

rehearsal = set()
parent = {}
bad = []
seen = 0
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"(\d+)\s+(.*)", line)
    if not m:
        continue
    tid, rest = int(m.group(1)), m.group(2)
    if rest.startswith("execve(") and "/clawkit/rehearsal-" in rest and re.search(r'"HOME=[^"]*/clawkit/rehearsal-', rest):
        rehearsal.add(tid)
    c = re.match(r"(?:<\.\.\. )?(clone3?|fork|vfork)\b.*= (\d+)$", rest.strip())
    if c:
        parent[int(c.group(2))] = tid
        continue
    if rest.startswith(("connect(", "sendto(", "sendmsg(")) or "connect resumed" in rest:
        t = tid
        mine = False
        while t is not None:
            if t in rehearsal:
                mine = True
                break
            t = parent.get(t)
        if not mine:
            continue
        seen += 1
        if "AF_UNIX" in rest or "AF_NETLINK" in rest:
            continue
        v4 = re.search(r'inet_addr\("([\d.]+)"\)', rest)
        v6 = re.search(r'inet_pton\(AF_INET6, "([^"]+)"', rest)
        addr = v4.group(1) if v4 else (v6.group(1) if v6 else None)
        if addr is None:
            continue
        if addr.startswith("127.") or addr in ("::1", "::ffff:127.0.0.1"):
            continue
        bad.append(line.strip())

print(f"rehearsal processes: {len(rehearsal)}; their network calls: {seen}; outside loopback: {len(bad)}")
for b in bad:
    print("  " + b[:300])
sys.exit(1 if bad else 0)
