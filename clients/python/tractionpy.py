#!/usr/bin/python3
"""tractionpy: a small traction client in Python, speaking the wire protocol
(docs/protocol.md) with pyzmq and the protobuf code generated from proto/.

Run it with Debian's interpreter, /usr/bin/python3, which has python3-zmq and
python3-protobuf. The generated modules (traction/v1/*_pb2.py) are found in
$TRACTION_PYTHON_GEN, else in build/python next to this checkout.

As a library:

    import tractionpy
    c = tractionpy.Client("tcp://127.0.0.1:7400")
    c.publish([tractionpy.metric("weld-line-3", "defect-vision", "1.0",
                                 "defect_rate", 0.031)])
    h = c.call("iteration", "history",
               c.pb.iteration.SupplyHistoryRequest(supply_id="defect-vision"))

As a command:

    tractionpy.py publish --scenario weld-line-3 --supply defect-vision@1.0 \\
        --metric defect_rate=0.031 [--count N]
    tractionpy.py history defect-vision
"""
import argparse
import importlib
import json
import os
import sys
import time
import uuid

import zmq

_HERE = os.path.dirname(os.path.abspath(__file__))
_GEN = os.environ.get("TRACTION_PYTHON_GEN",
                      os.path.join(_HERE, "..", "..", "build", "python"))
sys.path.insert(0, _GEN)

from google.protobuf import json_format  # noqa: E402


class _Modules:
    """The generated modules: pb.common, pb.bus, pb.feedback, ..."""

    def __init__(self):
        for name in ("common", "bus", "events", "supply", "scenario",
                     "feedback", "iteration"):
            setattr(self, name, importlib.import_module(
                "traction.v1.%s_pb2" % name))


pb = _Modules()
PROTOCOL_VERSION = 1

# The method name -> (request, reply) message types this client knows.
_TYPES = {
    ("feedback", "publish"): (pb.feedback.PublishRequest, pb.feedback.PublishReply),
    ("feedback", "stats"): (pb.feedback.StatsRequest, pb.feedback.StatsReply),
    ("feedback", "list"): (pb.feedback.FeedbackListRequest, pb.feedback.FeedbackListReply),
    ("feedback", "problems"): (pb.feedback.ProblemsRequest, pb.feedback.ProblemsReply),
    ("iteration", "history"): (pb.iteration.SupplyHistoryRequest, pb.iteration.SupplyHistoryReply),
    ("iteration", "diff"): (pb.iteration.IterationDiffRequest, pb.iteration.IterationDiffReply),
    ("deployment", "history"): (pb.iteration.DeploymentHistoryRequest,
                                pb.iteration.DeploymentHistoryReply),
    ("scenario", "match"): (pb.scenario.MatchRequest, pb.scenario.MatchReply),
}


class TractionError(Exception):
    """A reply whose status is not OK: .code (the gRPC number), .name, .message."""

    def __init__(self, code, message):
        self.code = code
        self.name = pb.common.Code.Name(code) if code in pb.common.Code.values() else str(code)
        self.message = message
        super().__init__("%s: %s" % (self.name, message))


class Client:
    """One DEALER to the broker's client endpoint; requests matched by id."""

    def __init__(self, endpoint=None, timeout_ms=10000, name="tractionpy"):
        self.endpoint = endpoint or os.environ.get("TRACTION_ENDPOINT", "tcp://127.0.0.1:7400")
        self.timeout_ms = timeout_ms
        self.name = name
        self.pb = pb
        self._ctx = zmq.Context()
        self._sock = self._ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.connect(self.endpoint)
        self._next = 1

    def close(self):
        self._sock.close()
        self._ctx.term()

    def call(self, service, method, request, reply_type=None):
        """Sends one request and waits for its reply; raises TractionError."""
        if reply_type is None:
            reply_type = _TYPES[(service, method)][1]
        rid = self._next
        self._next += 1
        header = pb.bus.Header(version=PROTOCOL_VERSION, kind=pb.bus.FRAME_REQUEST,
                               service=service, method=method, request_id=rid,
                               timeout_ms=self.timeout_ms, client_name=self.name)
        self._sock.send_multipart([header.SerializeToString(), request.SerializeToString()])
        deadline = time.monotonic() + self.timeout_ms / 1000.0
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self._sock.poll(int(left * 1000)):
                raise TractionError(pb.common.DEADLINE_EXCEEDED, "no reply within the timeout")
            frames = self._sock.recv_multipart()
            reply = pb.bus.Header()
            reply.ParseFromString(frames[0])
            if reply.request_id != rid:
                continue  # a late reply to an earlier call
            if reply.status.code != pb.common.OK:
                raise TractionError(reply.status.code, reply.status.message)
            out = reply_type()
            out.ParseFromString(frames[1] if len(frames) > 1 else b"")
            return out

    def publish(self, records, batch=500, retries=20):
        """Publishes records (FeedbackRecord), batch by batch, each with an
        idempotency key (made if missing, kept across retries). Returns the
        per-record results. Retries a batch while the service is unavailable."""
        results = []
        # keys made here sort in publish order (a random prefix per client,
        # then a fixed-width counter), so feedbackd's key index grows at its
        # right edge instead of touching a random page per record
        if not hasattr(self, "_key_prefix"):
            self._key_prefix, self._next_key = uuid.uuid4().hex[:12], 0
        for r in records:
            if not r.idempotency_key:
                self._next_key += 1
                r.idempotency_key = "py-%s-%012x" % (self._key_prefix, self._next_key)
        for i in range(0, len(records), batch):
            req = pb.feedback.PublishRequest(records=records[i:i + batch])
            for attempt in range(retries):
                try:
                    rep = self.call("feedback", "publish", req)
                    results.extend(rep.results)
                    break
                except TractionError as e:
                    if e.code not in (pb.common.UNAVAILABLE, pb.common.DEADLINE_EXCEEDED) \
                            or attempt == retries - 1:
                        raise
                    time.sleep(0.1 * (attempt + 1))
        return results


def metric(scenario, supply, version, name, value, key="", labels=None):
    """A metric FeedbackRecord."""
    r = pb.feedback.FeedbackRecord(scenario_id=scenario, supply_id=supply, version=version,
                                   idempotency_key=key,
                                   metric=pb.feedback.Metric(name=name, value=value))
    for k, v in (labels or {}).items():
        r.labels.add(key=k, value=v)
    return r


def to_json(message):
    """A message as a JSON-ready dict (field names as in the .proto files)."""
    return json_format.MessageToDict(message, preserving_proto_field_name=True,
                                     including_default_value_fields=True)


def _main(argv):
    ap = argparse.ArgumentParser(prog="tractionpy.py", description=__doc__.split("\n")[0])
    ap.add_argument("--endpoint", default=None)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("publish", help="publish metric records")
    p.add_argument("--scenario", required=True)
    p.add_argument("--supply", required=True, help="SUPPLY@VERSION")
    p.add_argument("--metric", required=True, help="NAME=VALUE")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--key-prefix", default="", help="stable keys: PREFIX-0, PREFIX-1, ...")
    h = sub.add_parser("history", help="the iteration history of a supply, as JSON")
    h.add_argument("supply")
    a = ap.parse_args(argv)
    c = Client(a.endpoint)
    try:
        if a.cmd == "publish":
            supply, _, version = a.supply.partition("@")
            name, _, value = a.metric.partition("=")
            recs = [metric(a.scenario, supply, version, name, float(value),
                           key="%s-%d" % (a.key_prefix, i) if a.key_prefix else "")
                    for i in range(a.count)]
            res = c.publish(recs)
            refused = [r for r in res if r.status.code != 0]
            print(json.dumps({"accepted": sum(1 for r in res if r.status.code == 0 and not r.duplicate),
                              "duplicates": sum(1 for r in res if r.duplicate),
                              "refused": [{"code": pb.common.Code.Name(r.status.code),
                                           "message": r.status.message} for r in refused]}))
            return 1 if refused else 0
        rep = c.call("iteration", "history", pb.iteration.SupplyHistoryRequest(supply_id=a.supply))
        print(json.dumps(to_json(rep), indent=2))
        return 0
    except TractionError as e:
        print("tractionpy: %s" % e, file=sys.stderr)
        return 1
    finally:
        c.close()


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
