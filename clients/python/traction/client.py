# SPDX-License-Identifier: Apache-2.0
"""The synchronous client: a ZeroMQ DEALER to the broker's client endpoint
(or one to each of several brokers: Brokers, below), requests in the wire protocol of docs/protocol.md
(version 2: v1.1, with error details and positions), replies matched by
request id. Every service is an attribute with a typed method per rpc,
generated from the proto service descriptors (traction/_services.py):

    import traction
    with traction.Client("tcp://127.0.0.1:7400") as c:
        c.supply.provider_register(provider={"id": "acme", "name": "Acme Vision",
                                             "kind": "PROVIDER_AI_COMPANY"})
        h = c.iteration.history(supply_id="defect-vision")   # SupplyHistoryReply
        h.to_dict()

A reply that is not OK raises the traction.Error subclass of its code.
"""
import os
import re
import threading
import time

import zmq
from google.protobuf import json_format, message as _message

from . import errors
from .v1 import bus_pb2, common_pb2, events_pb2

try:
    from . import _services
except ImportError:  # while the package is built: the generator makes it
    _services = None

PROTOCOL_VERSION = 2
DEFAULT_ENDPOINT = "tcp://127.0.0.1:7400"
# ErrorDetail reasons of an election of a replicated daemon (docs/protocol.md):
# the call goes again, same request id, through the same broker, after a
# backoff from the first to the longest (seconds, doubling), within its
# timeout: not the broker's fault, as libtraction does.
ELECTION_REASONS = ("no_leader", "leadership_changed")
ELECTION_RETRY = (0.02, 0.25)
# A retry goes only with this much left for its answer after the backoff:
# else the refusal stands (UNAVAILABLE: not done) rather than a resend that
# would end in DeadlineExceeded (done or not, unknown); libtraction's too.
ELECTION_ANSWER_ROOM = 0.05


def _to_dict(self, defaults=False):
    """The message as a dict: field names as in the .proto files, enums by name,
    64-bit integers as ints."""
    return json_format.MessageToDict(self, preserving_proto_field_name=True,
                                     including_default_value_fields=defaults,
                                     use_integers_for_enums=False)


def _add_to_dict(module):
    """Gives every message class of a generated module a to_dict()."""
    def walk(desc):
        cls = getattr(module, desc.name, None)
        if cls is not None and not hasattr(cls, "to_dict"):
            cls.to_dict = _to_dict
    for desc in module.DESCRIPTOR.message_types_by_name.values():
        walk(desc)


def endpoint_list(endpoint=None, endpoints=None):
    """The brokers' endpoints: endpoints (a list), else endpoint, else
    $TRACTION_ENDPOINT, else the default; a string may list several,
    separated by commas (as the config file's [bus] keys and tractionctl's
    --endpoint)."""
    if endpoints:
        return list(endpoints)
    text = endpoint or os.environ.get("TRACTION_ENDPOINT") or DEFAULT_ENDPOINT
    return [e for e in re.split(r"[,\s]+", text) if e]


def dealer(ctx, endpoints, keys, unbounded=False, immediate=False):
    """A DEALER to every endpoint, with CurveZMQ if keys (server, public,
    secret: Z85) name a server key; unbounded: no high-water marks (a
    publisher bounds itself); immediate: nothing queued towards a peer that
    is not connected."""
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    if immediate:
        s.setsockopt(zmq.IMMEDIATE, 1)
    if unbounded:
        s.setsockopt(zmq.SNDHWM, 0)
        s.setsockopt(zmq.RCVHWM, 0)
    server, pub, sec = keys
    if server:
        s.curve_serverkey = server.encode() if isinstance(server, str) else server
        s.curve_publickey = pub.encode() if isinstance(pub, str) else pub
        s.curve_secretkey = sec.encode() if isinstance(sec, str) else sec
    for ep in endpoints:
        s.connect(ep)
    return s


class Brokers:
    """The brokers of an endpoint list, as libtraction's (brokers.c): a
    DEALER to each, and with several a socket monitor of each, so that a
    request in flight through a broker whose connection drops goes again at
    once through the next (docs/operations.md, "Two brokers"). Requests go
    to the current broker, the first of the list to start with. With one
    broker its DEALER queues while the broker is away, as it always did."""

    _EVENTS = zmq.EVENT_CONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED

    def __init__(self, ctx, endpoints, keys, unbounded=False):
        several = len(endpoints) > 1
        self.socks = [dealer(ctx, [e], keys, unbounded, immediate=several) for e in endpoints]
        self.monitors = [s.get_monitor_socket(self._EVENTS) for s in self.socks] if several else []
        self.down = [False] * len(self.socks)
        self.current = 0

    def register(self, poller):
        for s in self.socks + self.monitors:
            poller.register(s, zmq.POLLIN)

    def _next(self, i):
        n = len(self.socks)
        for k in range(1, n + 1):
            if not self.down[(i + k) % n]:
                return (i + k) % n
        return (i + 1) % n

    def suspect(self, i):
        """Broker i did not answer in time: the next becomes current."""
        if len(self.socks) > 1 and i == self.current:
            self.current = self._next(i)

    def send(self, frames):
        """frames through the current broker, or the next that takes them:
        its index, or None when no broker is connected now."""
        if len(self.socks) == 1:
            self.socks[0].send_multipart(frames)
            return 0
        for _ in range(len(self.socks)):
            i = self.current
            try:
                self.socks[i].send_multipart(frames, zmq.NOBLOCK)
                return i
            except zmq.Again:
                self.suspect(i)
        return None

    def dropped(self):
        """The brokers whose connection dropped since the last call."""
        out = set()
        for i, m in enumerate(self.monitors):
            while True:
                try:
                    frames = m.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                event = int.from_bytes(frames[0][:2], "little")
                self.down[i] = event == zmq.EVENT_DISCONNECTED
                if self.down[i]:
                    out.add(i)
        if self.current in out:
            self.current = self._next(self.current)
        return out

    def close(self):
        for s in self.socks:
            if self.monitors:
                s.disable_monitor()
            s.close(0)
        for m in self.monitors:
            m.close(0)


def positions(value):
    """[(source, seq)] from what a caller may pass as `after`: an
    EventPosition, a list of them, a dict {source: seq}, a list of pairs, or
    a reply header (its `committed`)."""
    if value is None:
        return []
    if isinstance(value, bus_pb2.Header):
        value = [value.committed] if value.HasField("committed") else []
    if isinstance(value, bus_pb2.EventPosition):
        value = [value]
    if isinstance(value, dict):
        value = list(value.items())
    out = []
    for v in value:
        if isinstance(v, bus_pb2.EventPosition):
            out.append((v.source, v.applied_seq))
        else:
            out.append((str(v[0]), int(v[1])))
    return out


def _details(rep, body):
    """The ErrorDetail list of an error reply (a version 2 reply's body)."""
    if rep.version < 2 or not body:
        return []
    d = common_pb2.ErrorDetails()
    try:
        d.ParseFromString(body)
    except _message.DecodeError:
        return []
    return list(d.details)


class Client:
    """A connection to the bus. Thread-safe (one request at a time per client;
    use a client per thread for parallel calls, or the Publisher for
    publishing).

    endpoint: the broker's client endpoint (or $TRACTION_ENDPOINT, else
    tcp://127.0.0.1:7400), or several separated by commas; endpoints: the
    same as a list. With several brokers a call caught in its broker's
    death goes again, same request id, through the next: reads and
    feedback are safe to repeat; another write may find its own effect.
    timeout: seconds a request may take. server_key, public_key,
    secret_key: CurveZMQ (Z85 text), as tractionctl's --server-key/--key.
    A call refused UNAVAILABLE during an election of a replicated daemon
    (a detail reason no_leader or leadership_changed) goes again, same
    request id, through the same broker, until its timeout.
    """

    def __init__(self, endpoint=None, *, endpoints=None, timeout=10.0, name="traction-python",
                 server_key=None, public_key=None, secret_key=None, context=None):
        self.endpoints = endpoint_list(endpoint, endpoints)
        self.timeout = timeout
        self.name = name
        self.last_header = None  # the header of the last reply: .committed, .applied
        self._lock = threading.Lock()
        self._own_ctx = context is None
        self._ctx = context or zmq.Context()
        self._keys = (server_key, public_key, secret_key)
        self._brokers = Brokers(self._ctx, self.endpoints, self._keys)
        self._poller = zmq.Poller()
        self._brokers.register(self._poller)
        self._next = 1
        if _services is not None:
            for attr, cls in _services.SERVICES.items():
                setattr(self, attr, cls(self))

    def close(self):
        if self._brokers is not None:
            self._brokers.close()
            self._brokers = None
        if self._own_ctx and self._ctx is not None:
            self._ctx.term()
            self._ctx = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- the wire ------------------------------------------------------------

    def call(self, service, method, request, reply_type, *, timeout=None, after=None,
             stale=False):
        """One request: service and method by their wire names ("supply",
        "provider.register"), the request message, the reply's class. Returns
        the reply; raises traction.Error's subclass of a status that is not
        OK (with the v1.1 details). after: positions the daemon must have
        applied first (see positions()). stale: a read any replica of a
        replicated daemon may answer, a follower too, as of what it has
        applied (Header.consistency STALE; the reply header's `applied`
        says as of what)."""
        timeout = self.timeout if timeout is None else timeout
        with self._lock:
            if self._brokers is None:
                raise errors.Cancelled("the client is closed")
            rid = self._next
            self._next += 1
            h = bus_pb2.Header(version=PROTOCOL_VERSION, kind=bus_pb2.FRAME_REQUEST,
                               service=service, method=method, request_id=rid,
                               timeout_ms=max(1, int(timeout * 1000)), client_name=self.name)
            for src, seq in positions(after):
                h.after.add(source=src, applied_seq=seq)
            if stale:
                h.consistency = bus_pb2.CONSISTENCY_STALE
            frames = [h.SerializeToString(), request.SerializeToString()]
            via = self._brokers.send(frames)
            deadline = time.monotonic() + timeout
            backoff = ELECTION_RETRY[0]
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    if via is None:
                        raise errors.Unavailable(f"{service}.{method}: no broker reachable")
                    self._brokers.suspect(via)  # the next call tries another
                    raise errors.DeadlineExceeded(
                        f"{service}.{method}: no reply within {timeout:g} s")
                if via is None:  # none connected yet, or ours died: again
                    via = self._brokers.send(frames)
                ms = max(1, int(left * 1000))
                ready = dict(self._poller.poll(ms if via is not None else min(ms, 10)))
                if via in self._brokers.dropped():
                    via = None  # caught in its broker's death: through another
                    continue
                frames_in = None
                for s in self._brokers.socks:
                    if s in ready:
                        frames_in = s.recv_multipart()
                        break
                if frames_in is None:
                    continue
                rep = bus_pb2.Header()
                try:
                    rep.ParseFromString(frames_in[0])
                except _message.DecodeError:
                    continue
                if rep.request_id != rid:
                    continue  # the late reply of a call that timed out
                self.last_header = rep
                body = frames_in[1] if len(frames_in) > 1 else b""
                if rep.status.code != common_pb2.OK:
                    details = _details(rep, body)
                    if (rep.status.code == common_pb2.UNAVAILABLE and
                            any(d.reason in ELECTION_REASONS for d in details) and
                            deadline - time.monotonic() > backoff + ELECTION_ANSWER_ROOM):
                        time.sleep(backoff)  # an election: the same broker, a little later
                        backoff = min(2 * backoff, ELECTION_RETRY[1])
                        via = self._brokers.send(frames)
                        continue
                    raise errors.from_status(rep.status.code, rep.status.message, details)
                out = reply_type()
                out.ParseFromString(body)
                return out

    # ---- the reader feed -------------------------------------------------------

    def heads(self, sources=("supply", "scenario", "feedback", "iteration")):
        """{source: the last sequence it has written}: positions to follow
        only what happens next."""
        return {s: self.call(s, "events.read", events_pb2.EventsReadRequest(from_seq=2 ** 63),
                             events_pb2.EventsReadReply).head_seq for s in sources}

    def events(self, sources=("supply", "scenario", "feedback", "iteration"), *, topics=(),
               positions=None, wait=1.0, until_idle=False):
        """The events of these sources (events.read), in each source's order,
        as Event messages (.source, .seq, .type, and the record): an
        iterator that follows forever, or until_idle: until every source had
        nothing more. positions: {source: last seq seen} to resume after
        (e.g. the .position of the iterator; heads() for only what comes
        next). Filtered by the caller's scope
        and by topic prefixes."""
        return EventStream(self, sources, topics, positions, wait, until_idle)

    # ---- DataFrames (pandas) ------------------------------------------------------

    def history(self, supply_id, **fields):
        """iteration.history as a pandas DataFrame: a row per version and
        metric (count, mean, p50, p90, p99, and the change against the parent
        where both sides have data; absent otherwise)."""
        from . import frames
        return frames.history(self.iteration.history(supply_id=supply_id, **fields))

    def stats(self, supply_id, **fields):
        """feedback.stats as a pandas DataFrame: a row per (version, scenario,
        metric) aggregate, or per trend bucket with granularity set."""
        from . import frames
        return frames.stats(self.feedback.stats(supply_id=supply_id, **fields))


class EventStream:
    """Iterates the reader feed of several sources; .position is where it is
    ({source: last seq seen}), to resume with Client.events(positions=...)."""

    def __init__(self, client, sources, topics, start, wait, until_idle):
        self.client = client
        self.sources = list(sources)
        self.topics = list(topics)
        self.position = {s: 0 for s in self.sources}
        self.position.update(start or {})
        self._read_to = dict(self.position)  # read this far (yielded or filtered out)
        self.wait = wait
        self.until_idle = until_idle
        self._ready = []
        self._turn = 0

    def __iter__(self):
        return self

    def _read(self, source, wait_ms):
        req = events_pb2.EventsReadRequest(from_seq=self._read_to[source] + 1, topics=self.topics,
                                           max=500, wait_ms=wait_ms)
        rep = self.client.call(source, "events.read", req, events_pb2.EventsReadReply,
                               timeout=max(self.client.timeout, wait_ms / 1000 + 5))
        self._ready.extend(rep.events)
        if rep.next_seq > 0:
            self._read_to[source] = max(self._read_to[source], rep.next_seq - 1)
        if not rep.events:  # past what the filters left out
            self.position[source] = self._read_to[source]
        return len(rep.events)

    def __next__(self):
        while not self._ready:
            got = sum(self._read(s, 0) for s in self.sources)
            if got:
                break
            if self.until_idle:
                raise StopIteration
            s = self.sources[self._turn % len(self.sources)]
            self._turn += 1
            self._read(s, int(self.wait * 1000))
        ev = self._ready.pop(0)
        # where a resume starts: after this event, or after what was read of
        # its source if none of it is left to yield
        more = any(e.source == ev.source for e in self._ready)
        self.position[ev.source] = ev.seq if more else self._read_to[ev.source]
        return ev


for _mod in ("common_pb2", "bus_pb2", "events_pb2", "supply_pb2", "scenario_pb2", "feedback_pb2",
             "iteration_pb2", "notify_pb2"):
    _add_to_dict(__import__(f"traction.v1.{_mod}", fromlist=[_mod]))
