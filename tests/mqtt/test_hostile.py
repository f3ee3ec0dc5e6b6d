# SPDX-License-Identifier: Apache-2.0
"""Hostile input against traction-mqttd, driven by tests/mqtt/run.sh (whose
config has max_connections = 48, max_output_kb = 64, max_packet_kb = 64): a
flood of connections past max_connections, and past the process's file
limit (a second traction-mqttd started here with RLIMIT_NOFILE 64), then
with no spare descriptor left to refuse them with (its soft limit lowered
below its lowest free descriptor while it runs); a client that never
reads what it is sent; oversize packets. Each time the connection is
refused or closed, the daemon stays up, does not spin, and an honest
client is served right after.
  test_hostile.py PORT TOKENS DIR BUILD   (env MQ_PID)"""
import os, re, resource, signal, socket, subprocess, sys, time
import paho.mqtt.client as mqtt

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from spin import runnable  # noqa: E402

PORT, TOKENS, DIR, BUILD = sys.argv[1:5]
PORT = int(PORT)
PW = dict(l.split() for l in open(TOKENS))
TOPIC = "traction/v1/feedback/weld-line-3/defect-vision/1.0/metric/after_hostile"
LOG = DIR + "/set/mqttd.log"


def ok(msg):
    print("ok -", msg, flush=True)


def served(port, what):
    """An honest client publishes at QoS 1 and gets its PUBACK."""
    c = mqtt.Client(client_id="honest-%d" % time.time_ns(), protocol=mqtt.MQTTv311)
    c.username_pw_set("line3", PW["line3"])
    c.connect("127.0.0.1", port, 30)
    c.loop_start()
    info = c.publish(TOPIC, b"1", qos=1)
    info.wait_for_publish(15)
    c.disconnect()
    c.loop_stop()
    assert info.is_published(), "no PUBACK after " + what


def connect_v5(rcvbuf=None):
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(10)
    s.connect(("127.0.0.1", PORT))
    user, pw = b"line3", PW["line3"].encode()
    body = (b"\x00\x04MQTT\x05\xc2\x00\x1e\x00" + b"\x00\x04slow" +
            len(user).to_bytes(2, "big") + user + len(pw).to_bytes(2, "big") + pw)
    s.sendall(bytes([0x10, len(body)]) + body)
    assert s.recv(1024)[0] == 0x20
    return s


def flood(port, n):
    """n connections at once: how many the server closed at once."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        socks.append(s)
    closed = 0
    for s in socks:
        s.settimeout(0.05)
        try:
            if s.recv(16) == b"":
                closed += 1
        except socket.timeout:
            pass
        except OSError:
            closed += 1
    return socks, closed


# ---- a flood past max_connections -------------------------------------------------------
mq = int(os.environ["MQ_PID"])
socks, closed = flood(PORT, 200)
assert closed >= 200 - 48, "only %d of 200 connections past max_connections = 48 closed" % closed
for s in socks:
    s.close()
time.sleep(0.3)
served(PORT, "a flood")
assert "past max_connections" in open(LOG).read()
ok("200 connections at once, max_connections = 48: %d closed as they came, logged; "
   "an honest client served after" % closed)

# ---- a flood past the file limit: a traction-mqttd of its own ---------------------------------
conf = open(DIR + "/set/traction.conf").read()
conf = re.sub(r"(?m)^(tls_\w+|sparkplug_bindings|max_connections) = .*\n", "", conf)
conf = conf.replace("address_file = %s/set/mqtt.addr" % DIR, "address_file = %s/fd.addr" % DIR)
conf += "\n[mqtt]\n" if "[mqtt]" not in conf else ""
conf = conf.replace("[mqtt]\n", "[mqtt]\nstate_subdir = mqttd-fd\nmax_connections = 1024\n", 1)
open(DIR + "/fd.conf", "w").write(conf)


def low_limit():
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


fdlog = open(DIR + "/set/mqttd-fd.log", "w")
p = subprocess.Popen([BUILD + "/mqtt/traction-mqttd", "--config", DIR + "/fd.conf"],
                     stderr=fdlog, preexec_fn=low_limit)
open(DIR + "/mqttd-fd.pid", "w").write(str(p.pid))
try:
    for _ in range(250):
        if os.path.exists(DIR + "/fd.addr"):
            break
        time.sleep(0.02)
    port = int(open(DIR + "/fd.addr").readline().rsplit(":", 1)[1])
    socks, closed = flood(port, 150)
    busy, spent = runnable(p.pid, 3)
    assert p.poll() is None, "traction-mqttd died past its file limit"
    assert busy < 0.25, ("traction-mqttd spun past its file limit: runnable %.0f%% of 3 s "
                         "(%.2f s of CPU)" % (100 * busy, spent))
    assert closed > 0, "no connection closed past a file limit of 64"
    assert "past the file limit" in open(DIR + "/set/mqttd-fd.log").read()
    assert "cannot make a client" not in open(DIR + "/set/mqttd-fd.log").read(), \
        "a bus worker lost its client to the flood"
    ok("150 connections at once past a file limit of 64: %d closed as they came; then "
       "runnable %.0f%% of 3 s, %.2f s of CPU (no spin)" % (closed, 100 * busy, spent))

    # no spare descriptor: below its lowest free one, the limit leaves the
    # listener nothing to take a waiting connection with
    resource.prlimit(p.pid, resource.RLIMIT_NOFILE, (3, 64))
    waiting = []
    for _ in range(5):
        s = socket.socket()
        s.settimeout(5)
        s.connect(("127.0.0.1", port))  # into the backlog: the kernel answers
        waiting.append(s)
    busy, spent = runnable(p.pid, 3)
    assert p.poll() is None, "traction-mqttd died with no descriptor to spare"
    assert busy < 0.25, ("traction-mqttd spun with connections it cannot take: runnable "
                         "%.0f%% of 3 s (%.2f s of CPU)" % (100 * busy, spent))
    assert "the listeners rest" in open(DIR + "/set/mqttd-fd.log").read()
    resource.prlimit(p.pid, resource.RLIMIT_NOFILE, (64, 64))
    for s in socks + waiting:
        s.close()
    time.sleep(0.3)
    served(port, "a flood past the file limit")
    ok("5 connections it could not take (no descriptor to spare): runnable %.0f%% of 3 s, "
       "%.2f s of CPU (no spin), logged; descriptors freed: an honest client served"
       % (100 * busy, spent))
finally:
    p.send_signal(signal.SIGTERM)
    p.wait(10)

# ---- a client that never reads ------------------------------------------------------------
s = connect_v5(rcvbuf=4096)
pings, t0, gone = 0, time.time(), False
s.settimeout(5)
while time.time() - t0 < 30:
    try:
        s.sendall(b"\xc0\x00" * 4096)   # PINGREQs: a PINGRESP each, never read
        pings += 4096
    except OSError:
        gone = True
        break
s.close()
assert gone, "a client that reads nothing is still connected after %d PINGREQs" % pings
assert "does not read what it is sent" in open(LOG).read()
served(PORT, "a slow reader")
ok("a client that never reads: closed once 64 KiB waited for it (after %d PINGREQs); "
   "the others served" % pings)

# ---- oversize packets ---------------------------------------------------------------------
s = connect_v5()
s.sendall(b"\x30\x80\x80\x06" + b"\x00" * 1024)   # PUBLISH of 96 KiB > max_packet_kb 64
d = s.recv(16)
assert d[:1] == b"\xe0" and d[2] == 0x95, "5.0: expected DISCONNECT 0x95, got %r" % d
assert s.recv(16) == b""
s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
s.sendall(b"\x10\xff\xff\xff\x7f")                 # a CONNECT of 256 MiB
assert s.recv(16) == b"", "a 256 MiB CONNECT was not closed at once"
served(PORT, "oversize packets")
assert os.kill(mq, 0) is None
ok("oversize packets: 5.0 DISCONNECT 0x95 then closed, a 256 MiB CONNECT closed; the daemon up")
