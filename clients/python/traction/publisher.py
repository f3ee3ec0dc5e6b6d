# SPDX-License-Identifier: Apache-2.0
"""The background publisher: records queued by the caller, sent by a thread of
its own in batches, many requests in flight, each record acknowledged once
it is on disk, retried with the same idempotency key on a timeout, a broker
restart or an UNAVAILABLE — so a retry never stores a record twice — like
libtraction's traction_publisher (clients/libtraction/include/traction/
publisher.h).

    with traction.Publisher("tcp://127.0.0.1:7400") as pub:
        for v in values:
            pub.publish(traction.metric("weld-line-3", "defect-vision", "1.1",
                                        "defect_rate", v))
    # leaving the block flushed: every record stored, or an error raised

The queue is bounded (max_queued): publish() raises traction.QueueFull when
it is full, or waits with block=True. pub.stats says how many records were
accepted, were duplicates, were refused; pub.refused lists the refused ones
with their status; on_ack(record, result) is called for each record, from
the publisher's thread.
"""
import collections
import os
import threading
import time
import uuid

import zmq

from . import errors
from .client import PROTOCOL_VERSION, Brokers, endpoint_list
from .v1 import bus_pb2, common_pb2, feedback_pb2

_RETRY = (common_pb2.UNAVAILABLE, common_pb2.DEADLINE_EXCEEDED, common_pb2.RESOURCE_EXHAUSTED)


def _framed(record):
    """A record as field 1 (records) of a PublishRequest: the request is
    these, one after another, so a batch is a join rather than a copy of
    every record into a new message (a fifth of the publisher's time)."""
    data = record.SerializeToString()
    n, head = len(data), bytearray(b"\x0a")
    while n >= 0x80:
        head.append((n & 0x7F) | 0x80)
        n >>= 7
    head.append(n)
    return bytes(head) + data


class Ack:
    """One record's outcome: code 0 stored (record_id; duplicate if its key
    had been stored before), else the status code and message."""
    __slots__ = ("code", "message", "record_id", "duplicate")

    def __init__(self, code, message, record_id, duplicate):
        self.code, self.message, self.record_id, self.duplicate = code, message, record_id, duplicate

    def __repr__(self):
        return f"Ack(code={self.code}, record_id={self.record_id}, duplicate={self.duplicate})"


class Publisher:
    """endpoint/endpoints and CurveZMQ keys as traction.Client. batch:
    records per request; max_in_flight: requests in flight; max_queued:
    records queued or in flight; timeout: seconds before a request is sent
    again."""

    def __init__(self, endpoint=None, *, endpoints=None, batch=500, max_in_flight=16,
                 max_queued=100000, timeout=5.0, name="traction-python-publisher",
                 server_key=None, public_key=None, secret_key=None, on_ack=None):
        self.endpoints = endpoint_list(endpoint, endpoints)
        self.batch, self.max_in_flight, self.max_queued = batch, max_in_flight, max_queued
        self.timeout, self.name, self.on_ack = timeout, name, on_ack
        self.stats = {"accepted": 0, "duplicates": 0, "refused": 0, "retries": 0}
        self.refused = []                     # [(record, Ack)]
        self._keys = (server_key, public_key, secret_key)
        self._prefix = "py-" + uuid.uuid4().hex[:12]
        self._seq = 0
        self._queue = collections.deque()     # records not yet sent
        self._pending = 0                     # queued + in flight
        self._cv = threading.Condition()
        self._closing = False
        self._failure = None                  # what stopped the thread, if anything
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._ctx = zmq.Context()
        self._thread = threading.Thread(target=self._run, name="traction-publisher", daemon=True)
        self._thread.start()

    # ---- the caller's side -------------------------------------------------------

    def publish(self, record, *, block=False, timeout=None):
        """Queues a FeedbackRecord (it gets an idempotency key if it has none,
        kept across retries). Raises QueueFull when max_queued records are
        pending, unless block: then waits up to timeout seconds for room."""
        if not isinstance(record, feedback_pb2.FeedbackRecord):
            raise TypeError("publish takes a traction.v1.feedback_pb2.FeedbackRecord")
        if not record.idempotency_key:
            with self._cv:
                self._seq += 1
                seq = self._seq
            # sorted in publish order: the key index grows at its right edge
            record.idempotency_key = f"{self._prefix}-{seq:012x}"
        framed = _framed(record)  # encoded once, outside the lock
        with self._cv:
            self._raise_failure()
            if self._closing:
                raise errors.Cancelled("the publisher is closed")
            if self._pending >= self.max_queued:
                if not block:
                    raise errors.QueueFull(
                        f"{self._pending} records pending (max_queued {self.max_queued}): "
                        "flush() or publish(block=True)")
                end = None if timeout is None else time.monotonic() + timeout
                while self._pending >= self.max_queued:
                    left = None if end is None else end - time.monotonic()
                    if left is not None and left <= 0:
                        raise errors.QueueFull(f"no room within {timeout:g} s")
                    self._cv.wait(left)
                    self._raise_failure()
            was_empty = not self._queue
            self._queue.append((record, framed))
            self._pending += 1
        if was_empty:
            os.write(self._wake_w, b"x")

    def flush(self, timeout=None):
        """Waits until every record published so far is acknowledged (stored,
        a duplicate, or refused). Raises DeadlineExceeded after timeout
        seconds."""
        end = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            while self._pending > 0:
                self._raise_failure()
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    raise errors.DeadlineExceeded(f"{self._pending} records still pending")
                self._cv.wait(left if left is not None else 0.5)
            self._raise_failure()

    @property
    def pending(self):
        with self._cv:
            return self._pending

    def close(self, flush=True, timeout=None):
        """Flushes (unless flush=False), then stops the thread; records not
        acknowledged by then are dropped (never silently: flush raised, or
        the caller said not to wait)."""
        try:
            if flush:
                self.flush(timeout)
        finally:
            with self._cv:
                self._closing = True
            os.write(self._wake_w, b"x")
            self._thread.join()
            os.close(self._wake_r)
            os.close(self._wake_w)
            self._ctx.term()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        self.close(flush=exc_type is None)

    def _raise_failure(self):
        if self._failure is not None:
            raise errors.Internal(f"the publisher's thread stopped: {self._failure!r}")

    # ---- the thread -------------------------------------------------------------------

    def _run(self):
        try:
            self._loop()
        except Exception as e:  # a bug: said to the caller, not swallowed
            with self._cv:
                self._failure = e
                self._cv.notify_all()

    def _loop(self):
        brokers = Brokers(self._ctx, self.endpoints, self._keys, unbounded=True)
        poller = zmq.Poller()
        brokers.register(poller)
        poller.register(self._wake_r, zmq.POLLIN)
        # request id -> [records, request bytes, sent at, attempts, via]
        inflight = {}
        rid = 0
        try:
            while True:
                with self._cv:
                    closing = self._closing
                    # new requests while the window has room
                    while self._queue and len(inflight) < self.max_in_flight:
                        got = [self._queue.popleft()
                               for _ in range(min(self.batch, len(self._queue)))]
                        recs = [r for r, _ in got]
                        rid += 1
                        # the request's bytes: each record's, encoded once
                        # when it was published (no copy into a message)
                        body = b"".join(f for _, f in got)
                        inflight[rid] = [recs, body, 0.0, 0, None]
                if closing:  # flushed first, or told not to wait: what is left is dropped
                    return
                now = time.monotonic()
                unsent = False
                for r, f in inflight.items():
                    if f[2] == 0.0 or now - f[2] >= self._backoff(f[3]):
                        if f[2] != 0.0:
                            self.stats["retries"] += 1
                            if f[4] is not None:
                                brokers.suspect(f[4])  # it did not answer: another
                        f[4] = self._send(brokers, r, f[1])
                        if f[4] is None:  # no broker connected: soon again
                            f[2], unsent = 0.0, True
                        else:
                            f[2], f[3] = now, f[3] + 1
                wait = 10 if unsent else self._next_wake(inflight, now)
                ready = poller.poll(wait)
                gone = brokers.dropped()
                for f in inflight.values():
                    if f[4] in gone:  # in flight through a broker that died: again, now
                        f[2], f[4] = 0.0, None
                        self.stats["retries"] += 1
                for s, _ in ready:
                    if s in brokers.socks:
                        self._receive(s, inflight)
                    elif s == self._wake_r:
                        try:
                            os.read(self._wake_r, 4096)
                        except BlockingIOError:
                            pass
        finally:
            brokers.close()

    def _backoff(self, attempts):
        """A request unanswered this long goes again (timeout, then up to 4x)."""
        return self.timeout * min(4, 1 + attempts // 3) if attempts else 0.0

    def _next_wake(self, inflight, now):
        if not inflight:
            return None  # until a record or the close comes
        due = min(f[2] + self._backoff(f[3]) for f in inflight.values())
        return max(1, int((due - now) * 1000))

    def _send(self, brokers, rid, body):
        """The request through the current broker: which, or None."""
        h = bus_pb2.Header(version=PROTOCOL_VERSION, kind=bus_pb2.FRAME_REQUEST,
                           service="feedback", method="publish", request_id=rid,
                           timeout_ms=int(self.timeout * 1000), client_name=self.name)
        return brokers.send([h.SerializeToString(), body])

    def _receive(self, sock, inflight):
        while True:
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            h = bus_pb2.Header()
            h.ParseFromString(frames[0])
            f = inflight.get(h.request_id)
            if f is None:
                continue  # an answer to a request already answered (a retry's twin)
            if h.status.code in _RETRY:
                f[2] = time.monotonic() - self.timeout * 0.9  # again shortly, keys kept
                continue
            recs = f[0]
            del inflight[h.request_id]
            if h.status.code != common_pb2.OK:
                acks = [Ack(h.status.code, h.status.message, 0, False)] * len(recs)
            else:
                rep = feedback_pb2.PublishReply()
                rep.ParseFromString(frames[1] if len(frames) > 1 else b"")
                acks = [Ack(r.status.code, r.status.message, r.record_id, r.duplicate)
                        for r in rep.results]
                acks += [Ack(common_pb2.INTERNAL, "no result for this record", 0, False)] * (
                    len(recs) - len(acks))
            self._settle(recs, acks)

    def _settle(self, recs, acks):
        for rec, ack in zip(recs, acks):
            if ack.code == common_pb2.OK:
                self.stats["duplicates" if ack.duplicate else "accepted"] += 1
            else:
                self.stats["refused"] += 1
                self.refused.append((rec, ack))
            if self.on_ack is not None:
                self.on_ack(rec, ack)
        with self._cv:
            self._pending -= len(recs)
            self._cv.notify_all()
