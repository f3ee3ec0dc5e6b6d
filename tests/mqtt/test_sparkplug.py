# SPDX-License-Identifier: Apache-2.0
"""A Sparkplug B edge node simulated with paho-mqtt (Debian's python3-paho-mqtt
1.6) against traction-mqttd, driven by tests/mqtt/run.sh: the primary host's
STATE retained, the edge node's own NCMD subscribed (another's refused),
NBIRTH, NDATA with seq and a gap (a rebirth asked for over NCMD), a device's
DBIRTH and DDATA, a measurement sent twice, NDEATH as the will of a
connection that drops; every metric ends as feedback of the bound
deployment, stored once, at its Sparkplug timestamp.
  test_sparkplug.py PORT TOKENS ENDPOINT BUILD PB_DIR
PB_DIR holds sparkplug_payload_pb2.py (protoc of mqtt/sparkplug/)."""
import json, queue, re, subprocess, sys, time
import paho.mqtt.client as mqtt

PORT, TOKENS, EP, BUILD, PB_DIR = sys.argv[1:6]
PORT = int(PORT)
sys.path.insert(0, PB_DIR)
import sparkplug_payload_pb2 as spb  # noqa: E402

PW = dict(l.split() for l in open(TOKENS))
CTL = [BUILD + "/clients/tractionctl/tractionctl", "--endpoint", EP]
G, E = "plant7", "line3-edge"
NCMD = "spBv1.0/%s/NCMD/%s" % (G, E)
T0 = 1795000000000  # ms: 2026-11-18, the edge node's clock
DOUBLE, INT32, INT64, BOOL, STRING, FLOAT = 10, 3, 4, 11, 12, 9


def ok(msg):
    print("ok -", msg, flush=True)


def payload(seq, metrics, ts=None):
    p = spb.Payload()
    p.timestamp = ts or int(time.time() * 1000)
    if seq is not None:
        p.seq = seq
    for m in metrics:
        x = p.metrics.add()
        for k, v in m.items():
            setattr(x, k, v)
    return p.SerializeToString()


def bd(n):
    return {"name": "bdSeq", "datatype": INT64, "long_value": n}


class Edge:
    """An edge node: its will is its NDEATH; what the server sends it is queued."""

    def __init__(self, bdseq):
        self.c = mqtt.Client(client_id="edge-%s-%d" % (E, bdseq), clean_session=True)
        self.c.username_pw_set("line3", PW["line3"])
        self.c.will_set("spBv1.0/%s/NDEATH/%s" % (G, E), payload(None, [bd(bdseq)]), qos=1)
        self.got, self.subacks, self.connack = queue.Queue(), queue.Queue(), None
        self.c.on_message = lambda c, u, m: self.got.put(m)
        self.c.on_subscribe = lambda c, u, mid, granted: self.subacks.put(granted)
        self.c.on_connect = lambda c, u, f, rc: setattr(self, "connack", rc)

    def connect(self):
        self.c.connect("127.0.0.1", PORT, 30)
        self.c.loop_start()
        end = time.time() + 10
        while self.connack is None and time.time() < end:
            time.sleep(0.02)
        assert self.connack == 0, "CONNACK %r" % self.connack

    def subscribe(self, topic):
        self.c.subscribe(topic, 0)
        return self.subacks.get(timeout=10)

    def publish(self, kind, seq, metrics, device=None, qos=0, ts=None):
        t = "spBv1.0/%s/%s/%s" % (G, kind, E) + ("/" + device if device else "")
        info = self.c.publish(t, payload(seq, metrics, ts), qos=qos)
        info.wait_for_publish(10)

    def message(self, secs=10):
        return self.got.get(timeout=secs)

    def no_message(self, secs):
        try:
            m = self.got.get(timeout=secs)
        except queue.Empty:
            return
        raise AssertionError("unexpected message on %s" % m.topic)


def ctl(*args):
    return subprocess.run(CTL + list(args), capture_output=True, text=True).stdout


def stats(metric):
    out = ctl("feedback", "stats", "--supply", "defect-vision@1.0", "--metric", metric)
    get = lambda k: (lambda m: float(m.group(1)) if m else None)(re.search(k + r" (-?[\d.e+]+)", out))
    return {"count": int(get("count") or 0), "min": get("min"), "max": get("max")}


def eventually_stats(metric, n, secs=15):
    end = time.time() + secs
    while time.time() < end:
        s = stats(metric)
        if s["count"] >= n:
            time.sleep(0.5)  # and no more come
            return stats(metric)
        time.sleep(0.2)
    return stats(metric)


# ---- the host's STATE, the node's own NCMD ---------------------------------------------------
e = Edge(0)
e.connect()
assert e.subscribe("spBv1.0/STATE/traction") == (0,)
m = e.message()
assert m.topic == "spBv1.0/STATE/traction" and m.retain, (m.topic, m.retain)
assert json.loads(m.payload)["online"] is True
ok("the primary host's STATE: delivered on SUBSCRIBE as a retained message, online")
assert e.subscribe(NCMD) == (0,)
assert e.subscribe("spBv1.0/%s/NCMD/another-edge" % G) == (128,)
assert e.subscribe("spBv1.0/#") == (128,)
ok("SUBSCRIBE: the edge node's own NCMD granted (QoS 0); another node's and a wildcard refused (0x80)")

# ---- NBIRTH, NDATA, a gap in seq: the rebirth asked for ------------------------------------
birth = [bd(0), {"name": "Node Control/Rebirth", "datatype": BOOL, "boolean_value": False},
         {"name": "Properties/Make", "datatype": STRING, "string_value": "ACME"},
         {"name": "Line/Temperature", "alias": 1, "datatype": DOUBLE, "double_value": 20.5,
          "timestamp": T0},
         {"name": "Line/Count", "alias": 2, "datatype": INT32, "int_value": (-3) & 0xffffffff,
          "timestamp": T0}]
e.publish("NBIRTH", 0, birth, ts=T0)
e.publish("NDATA", 1, [{"alias": 1, "datatype": DOUBLE, "double_value": 21.0, "timestamp": T0 + 1000}])
e.no_message(0.5)
e.publish("NDATA", 3, [{"alias": 1, "datatype": DOUBLE, "double_value": 22.0, "timestamp": T0 + 3000}])
m = e.message()
assert m.topic == NCMD, m.topic
cmd = spb.Payload.FromString(m.payload)
assert [(x.name, x.boolean_value) for x in cmd.metrics] == [("Node Control/Rebirth", True)], cmd
ok("NDATA seq 1 then 3: NCMD Node Control/Rebirth = true received")

# the rebirth: NBIRTH again (the current values: the same measurements), a device born
birth[3].update(double_value=22.0, timestamp=T0 + 3000)
e.publish("NBIRTH", 0, birth, ts=T0 + 3500)
e.publish("DBIRTH", 1, [{"name": "Exposure", "alias": 10, "datatype": FLOAT, "float_value": 1.5,
                         "timestamp": T0 + 4000}], device="cam-2")
e.publish("DDATA", 2, [{"alias": 10, "datatype": FLOAT, "float_value": 2.5,
                        "timestamp": T0 + 5000}], device="cam-2")
# a measurement sent twice (a store-and-forward edge node, a bridge): at QoS 1
e.publish("NDATA", 3, [{"alias": 1, "datatype": DOUBLE, "double_value": 21.0,
                        "timestamp": T0 + 1000}], qos=1)
e.no_message(0.5)
s = eventually_stats("Line.Temperature", 3)
assert s == {"count": 3, "min": 20.5, "max": 22.0}, s
s = eventually_stats("Line.Count", 1)
assert s["count"] == 1 and s["min"] == -3, s
s = eventually_stats("Exposure", 2)
assert s == {"count": 2, "min": 1.5, "max": 2.5}, s
ok("NBIRTH, NDATA, DBIRTH, DDATA: metrics of the bound deployment, each measurement stored "
   "once (Line.Temperature 3, Line.Count 1, Exposure 2)")

out = ctl("feedback", "list", "--supply", "defect-vision@1.0", "--label", "sparkplug_device=cam-2")
assert "2026-11-18" in out and out.count("Exposure") == 2, out
ok("the Sparkplug timestamp is the observation time; the device is a label")

# ---- NDEATH: the will of a connection that drops -----------------------------------------
LOG = PB_DIR + "/set/mqttd.log"  # run.sh's DIR


def deaths():
    with open(LOG, errors="replace") as f:
        return f.read().count("sparkplug node=plant7/line3-edge: dead")


before = deaths()
e.c.loop_stop()
e.c.socket().close()          # no DISCONNECT: the server publishes the will, NDEATH bdSeq 0
end = time.time() + 10        # until traction-mqttd has taken the will
while deaths() == before and time.time() < end:
    time.sleep(0.05)
assert deaths() > before, "traction-mqttd did not log the node dead within 10 s"
e2 = Edge(1)
e2.connect()
assert e2.subscribe(NCMD) == (0,)
# the node is dead: data without a new NBIRTH asks for one, and is not stored
e2.publish("NDATA", 4, [{"alias": 1, "datatype": DOUBLE, "double_value": 99.0, "timestamp": T0 + 9000}])
m = e2.message()
assert m.topic == NCMD, m.topic
assert eventually_stats("Line.Temperature", 4, secs=2)["count"] == 3
ok("NDEATH as the will of a dropped connection: the node dead, its next NDATA asks for a rebirth")
e2.c.disconnect()
e2.c.loop_stop()

# ---- a node bound to no deployment: refused, listed -----------------------------------------
c = mqtt.Client(client_id="edge-nowhere", protocol=mqtt.MQTTv311)
c.username_pw_set("line3", PW["line3"])
c.connect("127.0.0.1", PORT, 30)
c.loop_start()
info = c.publish("spBv1.0/%s/NBIRTH/nowhere" % G, payload(0, [bd(0)]), qos=1)
info.wait_for_publish(10)
assert info.is_published()
c.disconnect()
c.loop_stop()
ok("an edge node bound to no deployment: acknowledged (3.1.1), refused, listed")
