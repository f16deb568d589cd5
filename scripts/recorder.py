#!/usr/bin/env python3
"""A loopback HTTP recorder for the rehearsal's outbound-silence test (scripts/e2e).

usage: recorder.py LOGFILE PORTFILE

Binds 127.0.0.1:0, writes its port to PORTFILE, answers like the Telegram Bot API (getMe,
getUpdates, ...) and a model catalog would, and logs every request as one JSON line with the
client process: its pid and HOME, found from the connection's socket (/proc/net/tcp → inode →
/proc/PID/fd), so requests of a rehearsal gateway (HOME inside clawkit's private copy) can be
told from the live gateway's.
"""
import json, os, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG, PORTFILE = sys.argv[1], sys.argv[2]
lock = threading.Lock()
ME = {"id": 4242, "is_bot": True, "first_name": "Recorder", "username": "recorder_bot",
      "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}


def client_process(peer_port, server_port):
    """The pid and HOME of the process owning the client end of a loopback connection."""
    want_local = "%04X" % peer_port
    want_remote = "%04X" % server_port
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[1].endswith(":" + want_local) and f[2].endswith(":" + want_remote):
                inode = f[9]
                break
        if inode:
            break
    if not inode:
        return None, None
    target = "socket:[%s]" % inode
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            for fd in os.listdir("/proc/%s/fd" % pid):
                if os.readlink("/proc/%s/fd/%s" % (pid, fd)) == target:
                    env = open("/proc/%s/environ" % pid, "rb").read().split(b"\0")
                    home = next((e[5:].decode() for e in env if e.startswith(b"HOME=")), None)
                    return int(pid), home
        except OSError:
            continue
    return None, None


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _handle(self):
        pid, home = client_process(self.client_address[1], self.server.server_address[1])
        n = int(self.headers.get("content-length") or 0)
        if n:
            self.rfile.read(n)
        rec = {"t": time.time(), "method": self.command, "path": self.path.split("?")[0],
               "pid": pid, "home": home}
        with lock, open(LOG, "a") as f:
            f.write(json.dumps(rec) + "\n")
        p = rec["path"]
        status, out = 200, {"ok": True, "result": True}
        if p.endswith("/getMe"):
            out = {"ok": True, "result": ME}
        elif p.endswith("/getUpdates"):
            time.sleep(1.0)
            out = {"ok": True, "result": []}
        elif p.endswith("/getWebhookInfo"):
            out = {"ok": True, "result": {"url": "", "has_custom_certificate": False, "pending_update_count": 0}}
        elif p.endswith("/getMyCommands"):
            out = {"ok": True, "result": []}
        elif p.endswith("catalog.json"):
            status, out = 404, {"error": "not here"}
        data = json.dumps(out).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

    def do_CONNECT(self):
        self._handle()


class S(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


def watchdog(parent):
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


threading.Thread(target=watchdog, args=(os.getppid(),), daemon=True).start()
srv = S(("127.0.0.1", 0), H)
with open(PORTFILE, "w") as f:
    f.write(str(srv.server_address[1]))
srv.serve_forever()
