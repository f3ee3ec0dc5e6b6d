# SPDX-License-Identifier: Apache-2.0
"""traction-gatewayd past its file limit, driven by tests/gateway/run.sh
(a gateway of its own, timeout_s = 60): its soft RLIMIT_NOFILE lowered while it runs (prlimit)
to a few descriptors above those it holds, then 40 connections at once
(those it cannot take are closed as they come, with its spare
descriptor); then below its lowest free descriptor, with 5 connections
waiting (no spare: the listener rests). Each time it must not spin —
libmicrohttpd's own listening thread polled a listener it could not
accept from, a spin and a log line each turn (637,000 lines in 3 s) — and
once the limit is back it answers.
    /usr/bin/python3 test_filelimit.py PID BASE_URL LOG"""
import http.client
import os
import resource
import socket
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from spin import runnable  # noqa: E402

PID, BASE, LOG = int(sys.argv[1]), urllib.parse.urlparse(sys.argv[2]), sys.argv[3]


def fail(what):
    print(f"gateway: FAILED: {what}", file=sys.stderr, flush=True)
    sys.exit(1)


def health():
    c = http.client.HTTPConnection(BASE.hostname, BASE.port, timeout=10)
    c.request("GET", "/v1/health")
    return c.getresponse().status


def connect(n):
    out = []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(5)
        try:
            s.connect((BASE.hostname, BASE.port))
        except OSError:
            s.close()
            continue
        out.append(s)
    return out


quiet, spent = runnable(PID, 1)
print("# before: runnable %.0f%% of 1 s, %.2f s of CPU" % (100 * quiet, spent), flush=True)
limit = resource.prlimit(PID, resource.RLIMIT_NOFILE)
held = len(os.listdir("/proc/%d/fd" % PID))
try:
    # a few above what it holds: some taken, the rest closed as they come
    resource.prlimit(PID, resource.RLIMIT_NOFILE, (held + 4, limit[1]))
    socks = connect(40)
    time.sleep(0.5)
    closed = 0
    for s in socks:
        s.settimeout(0.05)
        try:
            closed += s.recv(16) == b""
        except socket.timeout:
            pass
        except OSError:
            closed += 1
    busy, spent = runnable(PID, 3)
    if busy >= 0.25:
        fail("spun past its file limit: runnable %.0f%% of 3 s (%.2f s of CPU)" % (100 * busy, spent))
    if closed == 0 or "closed as it came: past the file limit" not in open(LOG).read():
        fail("no connection closed as it came past the file limit (%d closed)" % closed)
    print("ok - 40 connections a few descriptors from its file limit: %d closed as they came; "
          "runnable %.0f%% of 3 s, %.2f s of CPU (no spin)" % (closed, 100 * busy, spent), flush=True)
    # below its lowest free descriptor: nothing to take a waiting one with
    resource.prlimit(PID, resource.RLIMIT_NOFILE, (3, limit[1]))
    waiting = connect(5)
    lines = sum(1 for _ in open(LOG))
    busy, spent = runnable(PID, 3)
    lines = sum(1 for _ in open(LOG)) - lines
    if busy >= 0.25:
        fail("spun with connections it cannot take: runnable %.0f%% of 3 s (%.2f s of CPU, "
             "%d log lines)" % (100 * busy, spent, lines))
    if lines > 10 or "the listener rests" not in open(LOG).read():
        fail("%d log lines in 3 s with connections it cannot take" % lines)
    print("ok - 5 connections it cannot take (no descriptor to spare): runnable %.0f%% of 3 s, "
          "%.2f s of CPU, %d log lines (no spin)" % (100 * busy, spent, lines), flush=True)
finally:
    resource.prlimit(PID, resource.RLIMIT_NOFILE, limit)
for s in socks + waiting:
    s.close()
time.sleep(0.3)
st = health()
if st != 200:
    fail("after the file limit: %d" % st)
print("ok - its limit back: answered", flush=True)
