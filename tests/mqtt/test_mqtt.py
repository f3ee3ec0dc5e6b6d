# SPDX-License-Identifier: Apache-2.0
"""traction-mqttd with paho-mqtt (Debian's python3-paho-mqtt 1.6), driven by
tests/mqtt/run.sh: refusals (5.0 reason codes, 3.1.1 acknowledged and
listed), a malformed packet, feedbackd stopped (no PUBACK until it is back,
the record stored once), PUBACKs in order when the bus answers out of
order, QoS 2 with a persistent session through a SIGKILL
of traction-mqttd (every message stored exactly once).
  test_mqtt.py PORT TOKENS ENDPOINT BUILD DIR   (env MQ_PID, FB_PID)"""
import os, re, signal, socket, subprocess, sys, threading, time
import paho.mqtt.client as mqtt

PORT, TOKENS, EP, BUILD, DIR = sys.argv[1:6]
PORT = int(PORT)
PW = dict(l.split() for l in open(TOKENS))
TOPIC = "traction/v1/feedback/weld-line-3/defect-vision/1.0"
CTL = [BUILD + "/clients/tractionctl/tractionctl", "--endpoint", EP]


def ok(msg):
    print("ok -", msg, flush=True)


def count(metric):
    out = subprocess.run(CTL + ["feedback", "stats", "--supply", "defect-vision@1.0",
                                "--metric", metric], capture_output=True, text=True).stdout
    m = re.search(r"count (\d+)", out)
    return int(m.group(1)) if m else 0


def eventually_count(metric, n, secs=15):
    end = time.time() + secs
    while time.time() < end:
        c = count(metric)
        if c == n:
            return c
        time.sleep(0.2)
    return count(metric)


class Paho(mqtt.Client):
    """paho-mqtt 1.6 resets its outgoing messages at every reconnect attempt:
    the first turns a QoS 2 message owed a PUBCOMP into "resend PUBREL", a
    second (after a refused attempt: the server still down) turns that into
    "publish" with DUP 0, so the PUBLISH of a packet id already released is
    sent again, a new message to any server [MQTT-4.3.3]: a second record.
    Keep "resend PUBREL" as what it was, awaiting PUBCOMP, at each reset."""

    def _messages_reconnect_reset_out(self):
        with self._out_message_mutex:
            for m in self._out_messages.values():
                if m.state == mqtt.mqtt_ms_resend_pubrel:
                    m.state = mqtt.mqtt_ms_wait_for_pubcomp
        super()._messages_reconnect_reset_out()


class Client:
    """A paho client that records what the server acknowledged."""

    def __init__(self, cid, v5, clean=True, user="line3", expiry=None, inflight=20):
        proto = mqtt.MQTTv5 if v5 else mqtt.MQTTv311
        kw = {} if v5 else {"clean_session": clean}
        self.c = Paho(client_id=cid, protocol=proto, **kw)
        self.c.username_pw_set(user, PW.get(user, "x"))
        self.c.max_inflight_messages_set(inflight)
        self.c.reconnect_delay_set(0.1, 0.5)
        self.v5 = v5
        self.acks = {}
        self.connack = None
        self.lock = threading.Lock()
        self.c.on_publish = self._pub
        self.c.on_connect = self._conn
        self.clean, self.expiry = clean, expiry

    def _pub(self, c, u, mid, *rest):
        with self.lock:
            self.acks[mid] = time.time()

    def _conn(self, c, u, flags, rc, *rest):
        self.connack = rc

    def connect(self):
        if self.v5:
            from paho.mqtt.properties import Properties
            from paho.mqtt.packettypes import PacketTypes
            p = Properties(PacketTypes.CONNECT)
            if self.expiry:
                p.SessionExpiryInterval = self.expiry
            self.c.connect("127.0.0.1", PORT, 30, clean_start=self.clean, properties=p)
        else:
            self.c.connect("127.0.0.1", PORT, 30)
        self.c.loop_start()
        end = time.time() + 10
        while self.connack is None and time.time() < end:
            time.sleep(0.02)
        return self.connack

    def stop(self):
        self.c.disconnect()
        self.c.loop_stop()


def reason_of(v5, payload, topic):
    """The reason code of a 5.0 PUBACK: paho 1.6 does not hand it to
    on_publish, so a raw client reads it."""
    s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
    user, pw = b"line3", PW["line3"].encode()
    body = (b"\x00\x04MQTT\x05\xc2\x00\x1e\x00" + b"\x00\x03raw" +
            len(user).to_bytes(2, "big") + user + len(pw).to_bytes(2, "big") + pw)
    s.sendall(bytes([0x10, len(body)]) + body)
    assert s.recv(1024)[0] == 0x20
    t = topic.encode()
    pub = len(t).to_bytes(2, "big") + t + b"\x00\x07" + b"\x00" + payload
    s.sendall(bytes([0x32, len(pub)]) + pub)
    ack = s.recv(1024)
    s.close()
    assert ack[0] == 0x40, ack
    return ack[4] if ack[1] >= 3 else 0


# ---- refusals -----------------------------------------------------------------------------
rc = reason_of(True, b"1", "traction/v1/feedback/no-such-scenario/defect-vision/1.0/metric/x")
assert rc >= 0x80, "5.0: an unknown scenario got reason %#x" % rc
rc = reason_of(True, b"not a number", TOPIC + "/metric/x")
assert rc == 0x99, "5.0: a bad payload got reason %#x" % rc
rc = reason_of(True, b"1", "elsewhere/topic")
assert rc == 0x90, "5.0: a topic outside traction/v1/feedback got %#x" % rc
ok("5.0: refused records answered with their reason codes (%#x, 0x99, 0x90)" % 0x90)

c = Client("refuse-v4", False)
assert c.connect() == 0
info = c.c.publish(TOPIC + "/metric/x", b"not a number", qos=1)
info.wait_for_publish(10)
assert info.is_published(), "3.1.1: a refused record was not acknowledged"
c.stop()
ok("3.1.1: a refused record acknowledged (and listed: traction-mqttd refusals)")

# ---- auth: a reader may not publish; a user unknown ------------------------------------------
c = Client("nobody", True, user="ghost")
rc = c.connect()
assert rc not in (0, None), "an unknown user was accepted (%r)" % rc
c.c.loop_stop()
ok("5.0: an unknown user refused at CONNECT (%s)" % rc)

# ---- a malformed packet closes that connection only ----------------------------------------
good = Client("good", True)
assert good.connect() == 0
bad = socket.create_connection(("127.0.0.1", PORT), timeout=10)
bad.sendall(b"\x10\xff\xff\xff\xff\x7f")      # a remaining length in five bytes
bad.settimeout(5)
assert bad.recv(16) == b"", "a malformed packet did not close its connection"
bad = socket.create_connection(("127.0.0.1", PORT), timeout=10)
bad.sendall(b"\x30\x02\x00\x00")            # PUBLISH before CONNECT
assert bad.recv(16) == b""
info = good.c.publish(TOPIC + "/metric/after_malformed", b"3", qos=1)
info.wait_for_publish(10)
assert info.is_published()
good.stop()
assert eventually_count("after_malformed", 1) == 1
ok("malformed packets closed their connections only; the daemon and the others go on")

# ---- feedbackd stopped: no PUBACK until it is back ----------------------------------------
fb = int(os.environ["FB_PID"])
c = Client("stopped-fb", False)
assert c.connect() == 0
os.kill(fb, signal.SIGSTOP)
try:
    info = c.c.publish(TOPIC + "/metric/while_stopped", b"7", qos=1)
    time.sleep(3)
    assert not info.is_published(), "PUBACK while feedbackd was stopped"
finally:
    os.kill(fb, signal.SIGCONT)
info.wait_for_publish(60)
assert info.is_published(), "no PUBACK after feedbackd came back"
c.stop()
assert eventually_count("while_stopped", 1) == 1, "stored %d times" % count("while_stopped")
ok("feedbackd SIGSTOPped: no PUBACK for 3 s; after SIGCONT the PUBACK, the record once")

# ---- PUBACKs in the order of the PUBLISHes, whatever order the bus answers in -------------
# A record for feedbackd (held: feedbackd stopped), then a payload that is
# not JSON, in a request of its own that its worker refuses without the
# bus: answered first, it must still be acknowledged second [MQTT-4.6.0-2].
s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
user, pw = b"line3", PW["line3"].encode()
body = (b"\x00\x04MQTT\x04\xc2\x00\x1e" + b"\x00\x05order" +
        len(user).to_bytes(2, "big") + user + len(pw).to_bytes(2, "big") + pw)
s.sendall(bytes([0x10, len(body)]) + body)
assert s.recv(4)[:2] == b"\x20\x02"


def pub1(pid, payload, topic=TOPIC + "/metric/ordered"):
    t = topic.encode()
    v = len(t).to_bytes(2, "big") + t + pid.to_bytes(2, "big") + payload
    s.sendall(bytes([0x32, len(v)]) + v)


os.kill(fb, signal.SIGSTOP)
try:
    pub1(1, b"1")
    time.sleep(0.5)                   # the first request is on the bus
    pub1(2, b"{not json", TOPIC)
    s.settimeout(1.5)
    try:
        early = s.recv(16)
    except socket.timeout:
        early = b""
    assert early == b"", "a PUBACK while the message before it waits for feedbackd: %r" % early
finally:
    os.kill(fb, signal.SIGCONT)
s.settimeout(30)
acks = b""
while len(acks) < 8:
    got = s.recv(8 - len(acks))
    assert got, "closed after %r" % acks
    acks += got
s.close()
assert acks == b"\x40\x02\x00\x01\x40\x02\x00\x02", "PUBACKs out of order: %r" % acks
ok("PUBACKs in the order of the PUBLISHes: a refusal answered first waited for the record before it")

# ---- QoS 2, persistent sessions, traction-mqttd SIGKILLed mid-stream ------------------------
conf = open(DIR + "/set/traction.conf").read()
conf = re.sub(r"(?m)^port = 0$", "port = %d" % PORT, conf)
open(DIR + "/set/fixed.conf", "w").write(conf)


def restart():
    log = open(DIR + "/set/mqttd.log", "a")
    p = subprocess.Popen([BUILD + "/mqtt/traction-mqttd", "--config", DIR + "/set/fixed.conf"],
                         stderr=log)
    open(DIR + "/mqttd.pid", "w").write(str(p.pid))
    return p


def dead(pid, secs=10.0):
    """Until pid has exited (gone, or a zombie: its sockets closed), so that
    its port is free again; the first one is run.sh's child, not ours to
    wait for."""
    end = time.time() + secs
    while time.time() < end:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return
        except FileNotFoundError:
            return
        time.sleep(0.02)
    raise AssertionError("traction-mqttd %d still alive %.0f s after SIGKILL" % (pid, secs))


def listening(proc, secs=30.0):
    """Until the restarted traction-mqttd takes connections (it exits at
    once if its port is not free: say so rather than time out later)."""
    end = time.time() + secs
    while time.time() < end:
        assert proc.poll() is None, "the restarted traction-mqttd exited %s" % proc.returncode
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the restarted traction-mqttd not listening after %.0f s" % secs)


mq = int(os.environ["MQ_PID"])
N = 300
for v5 in (False, True):
    name = "q2_v5" if v5 else "q2_v4"
    c = Client("exactly-once-" + name, v5, clean=False, expiry=3600 if v5 else None, inflight=16)
    assert c.connect() == 0
    infos = [c.c.publish(TOPIC + "/metric/" + name, str(i).encode(), qos=2) for i in range(N)]
    end = time.time() + 60
    while len(c.acks) < N // 3 and time.time() < end:
        time.sleep(0.001)
    assert len(c.acks) >= N // 3, "%s: %d of %d acknowledged in 60 s" % (name, len(c.acks), N)
    os.kill(mq, signal.SIGKILL)
    dead(mq)
    proc = restart()
    mq = proc.pid
    listening(proc)
    end = time.time() + 60
    while len(c.acks) < N and time.time() < end:
        time.sleep(0.05)
    assert len(c.acks) == N, "%s: %d of %d completed" % (name, len(c.acks), N)
    c.stop()
    n = eventually_count(name, N)
    assert n == N, "%s: %d records stored for %d messages" % (name, n, N)
    ok("%s: QoS 2 through a SIGKILL of traction-mqttd: %d messages, %d records" %
       (name, N, n))
