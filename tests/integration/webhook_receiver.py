# SPDX-License-Identifier: Apache-2.0
"""A webhook receiver for tests/integration/test_webhooks: a real HTTP
server (the standard library's, a thread per request) on a loopback port
that answers as its mode file says, checks what it gets as a receiver
would (with its own HMAC, not notifyd's), and logs every request as a JSON
line for the test to judge.

usage: webhook_receiver.py DIR SECRET [PORT]
  DIR/port     written once listening (PORT 0 or none: one the kernel picks)
  DIR/mode     read at each request: "500" (answer 500 at once), or
               "ok SECONDS" (hold the request that long, then 200)
  DIR/log      one line per request at its start ("start") and end ("end")
Path /reject is always answered 400. Concurrent requests are counted per
path: "inflight" is how many of that path were in the server at its start,
itself included.
"""
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR, SECRET = sys.argv[1], sys.argv[2].encode()
PORT = int(sys.argv[3]) if len(sys.argv) > 3 else 0
LOCK = threading.Lock()
INFLIGHT = {}


def log(rec):
    with LOCK, open(os.path.join(DIR, "log"), "a") as f:
        f.write(json.dumps(rec) + "\n")


def mode():
    try:
        with open(os.path.join(DIR, "mode")) as f:
            return f.read().split()
    except OSError:
        return ["500"]


def verify(header, body):
    """Traction-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, t.body)>"""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    want = hmac.new(SECRET, parts.get("t", "").encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(parts.get("t", "0"))) < 300
    return hmac.compare_digest(want, parts.get("v1", "")), fresh


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # the answer's headers and body are two writes: without TCP_NODELAY
    # the body waits for the client's delayed ACK (40 ms a request on a
    # kept-alive connection), and the receiver, not notifyd, is the limit
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_POST(self):
        start = time.time()
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with LOCK:
            INFLIGHT[self.path] = INFLIGHT.get(self.path, 0) + 1
            inflight = INFLIGHT[self.path]
        rec = {"path": self.path, "delivery": self.headers.get("Traction-Delivery"),
               "event": self.headers.get("Traction-Event"),
               "attempt": self.headers.get("Traction-Attempt"),
               "content_type": self.headers.get("Content-Type"), "start": start,
               "inflight": inflight}
        sig_ok, fresh = verify(self.headers.get("Traction-Signature", ""), body)
        rec["sig_ok"], rec["fresh"] = sig_ok, fresh
        try:
            rec["body"] = json.loads(body)
        except ValueError:
            rec["body"] = None
        log(dict(rec, phase="start"))
        m = mode()
        status = 500
        if self.path == "/reject":
            status = 400
        elif m and m[0] == "ok":
            time.sleep(float(m[1]) if len(m) > 1 else 0)
            status = 200
        with LOCK:
            INFLIGHT[self.path] -= 1
        rec.update(phase="end", status=status, end=time.time())
        log(rec)
        try:
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
        except OSError:
            pass  # the sender is gone (the test kills it mid-request)


server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
server.daemon_threads = True
with open(os.path.join(DIR, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
server.serve_forever()
