#!/usr/bin/env python3
"""A minimal npm registry for clawkit's tests: serves `openclaw` packuments and tarballs from a
directory of `openclaw-<version>.tgz`, on 127.0.0.1 only. Prints the port, then serves.

Faults, switched per request by files in the directory (so a running test can flip them):
  .down   -> close the connection without answering (registry unreachable)
  .slow   -> sleep 30 s before answering (npm times out)
"""
import base64, hashlib, http.server, json, os, sys, tarfile, time

DIR = sys.argv[1]
SLOW = set()
LATEST = sys.argv[2] if len(sys.argv) > 2 else None


def versions(base):
    out = {}
    for name in sorted(os.listdir(DIR)):
        if not (name.startswith("openclaw-") and name.endswith(".tgz")):
            continue
        path = os.path.join(DIR, name)
        with tarfile.open(path) as t:
            pkg = json.load(t.extractfile("package/package.json"))
        data = open(path, "rb").read()
        pkg["dist"] = {
            "tarball": f"{base}/openclaw/-/{name}",
            "shasum": hashlib.sha1(data).hexdigest(),
            "integrity": "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode(),
        }
        pkg["_id"] = f"openclaw@{pkg['version']}"
        fake = pkg.get("fake") or {}
        if fake.get("noTarball"):
            pkg["dist"]["tarball"] = f"{base}/openclaw/-/missing-{name}"
        if fake.get("slowTarball"):
            SLOW.add(name)
        out[pkg["version"]] = pkg
    return out


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        if os.path.exists(os.path.join(DIR, ".down")):
            self.close_connection = True
            return
        if os.path.exists(os.path.join(DIR, ".slow")):
            time.sleep(30)
        base = f"http://127.0.0.1:{self.server.server_port}"
        path = self.path.split("?")[0]
        if path in ("/openclaw", "/openclaw/"):
            vs = versions(base)
            latest = LATEST if LATEST in vs else (list(vs)[-1] if vs else None)
            # Publish times as the real registry gives them: `fake.publishedHoursAgo` (default
            # 1000 h) before now.
            now = time.time()
            times = {v: time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now - 3600 * (p.get("fake") or {}).get("publishedHoursAgo", 1000)))
                     for v, p in vs.items()}
            body = json.dumps({"name": "openclaw", "dist-tags": {"latest": latest}, "versions": vs, "time": times}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if path.startswith("/openclaw/-/"):
            if os.path.basename(path) in SLOW:
                time.sleep(60)
            f = os.path.join(DIR, os.path.basename(path))
            if os.path.exists(f):
                data = open(f, "rb").read()
                self.send_response(200)
                self.send_header("content-type", "application/octet-stream")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
        body = b'{"error":"Not found"}'
        self.send_response(404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def watchdog(parent):
    # Exit with the test process that started us.
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


import threading
threading.Thread(target=watchdog, args=(os.getppid(),), daemon=True).start()
class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that went away (npm killed during the slow tarball) is the test's case, not
        # an error worth a traceback in the test log.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


srv = Server(("127.0.0.1", 0), H)
print(srv.server_port, flush=True)
srv.serve_forever()
