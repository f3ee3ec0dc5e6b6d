# SPDX-License-Identifier: Apache-2.0
"""Two brokers (docs/operations.md, "Two brokers"): a set of its own whose
[bus] keys list an endpoint per broker, each broker started with --set
broker.instance=N. The Client and the Publisher take the list (as a list
and as $TRACTION_ENDPOINT's comma-separated text) and go on through the
other broker while one is SIGKILLed again and again: every call answered,
every record acknowledged and stored once, no long gap."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

import traction
from traction.v1 import bus_pb2, common_pb2

from conftest import BUILD, eventually


class TwoBrokers:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="trc-py-ha-")
        socks = [socket.socket() for _ in range(8)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        ports = [s.getsockname()[1] for s in socks]
        for s in socks:
            s.close()
        keys = ("client", "service", "event_publish", "event_subscribe")
        self.endpoints = [f"tcp://127.0.0.1:{ports[0]}", f"tcp://127.0.0.1:{ports[4]}"]
        self.conf = os.path.join(self.dir, "traction.conf")
        with open(self.conf, "w") as f:
            f.write("[bus]\n")
            for i, k in enumerate(keys):
                f.write(f"{k}_endpoint = tcp://127.0.0.1:{ports[i]}, "
                        f"tcp://127.0.0.1:{ports[i + 4]}\n")
            f.write(f"heartbeat_ms = 200\n[store]\nstate_dir = {self.dir}/var\n"
                    "[events]\nreplay_interval_ms = 200\n[metrics]\nbase_port = 0\n"
                    "[broker]\nservices = supply, scenario, feedback, iteration, deployment\n")
        self.procs = {}

    def _spawn(self, name, argv):
        with open(os.path.join(self.dir, f"{name}.log"), "ab") as log:
            self.procs[name] = subprocess.Popen(argv, stderr=log, stdout=log)

    def start_broker(self, n):
        ready = os.path.join(self.dir, f"endpoints.{n}")
        if os.path.exists(ready):
            os.unlink(ready)
        self._spawn(f"broker{n}", [os.path.join(BUILD, "broker", "traction-broker"), "--config",
                                   self.conf, "--set", f"broker.instance={n}", "--set",
                                   f"broker.endpoints_file={ready}"])
        for _ in range(250):
            if os.path.exists(ready):
                return
            time.sleep(0.02)
        raise RuntimeError(f"broker {n} did not start")

    def kill_broker(self, n):
        p = self.procs.pop(f"broker{n}")
        p.send_signal(signal.SIGKILL)
        p.wait()

    def start(self):
        self.start_broker(1)
        self.start_broker(2)
        for d in ("supplyd", "scenariod", "feedbackd", "iterationd"):
            self._spawn(d, [os.path.join(BUILD, "services", f"traction-{d}"), "--config",
                            self.conf])

    def stop(self):
        for p in self.procs.values():
            p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def two():
    t = TwoBrokers()
    try:
        t.start()
        yield t
    finally:
        t.stop()


@pytest.fixture(scope="module")
def ha_client(two):
    c = traction.Client(endpoints=two.endpoints, timeout=10)
    for e in two.endpoints:  # every service registered with both brokers
        with traction.Client(e, timeout=2) as one:
            for s in ("supply", "scenario", "feedback", "iteration"):
                eventually(lambda: one.call(s, "ping", common_pb2.Empty(), bus_pb2.PingReply))
    c.supply.provider_register(provider={"id": "hap", "name": "p",
                                         "kind": "PROVIDER_AI_COMPANY"})
    c.supply.register(supply={"id": "ha-a", "provider_id": "hap", "name": "a",
                              "kind": "SUPPLY_DATASET", "capabilities": ["x"],
                              "initial_version": "1"})
    c.scenario.submit(scenario={"id": "ha-line", "enterprise": "E", "name": "h",
                                "domain": "DOMAIN_PRODUCTION",
                                "demands": [{"capabilities": ["x"]}]})
    eventually(lambda: c.feedback.publish(records=[
        traction.metric("ha-line", "ha-a", "1", "probe", 1.0, key="probe")]).results[0]
        .status.code == 0)
    yield c
    c.close()


def test_the_endpoint_text_lists_brokers(monkeypatch, two):
    monkeypatch.setenv("TRACTION_ENDPOINT", ",".join(two.endpoints))
    with traction.Client() as c:
        assert c.endpoints == two.endpoints
    with traction.Client(" , ".join(two.endpoints)) as c:
        assert c.endpoints == two.endpoints


def test_calls_and_records_through_broker_kills(two, ha_client):
    gaps, last = [], [None]

    def on_ack(rec, ack):
        now = time.monotonic()
        if last[0] is not None:
            gaps.append(now - last[0])
        last[0] = now
    pub = traction.Publisher(endpoints=two.endpoints, batch=100, max_in_flight=8, timeout=3.0,
                             max_queued=5000, on_ack=on_ack)
    stop = threading.Event()
    failures = []
    made = [0]

    def produce():  # until the kills are over
        while not stop.is_set():
            pub.publish(traction.metric("ha-line", "ha-a", "1", "m", 1.0, key=f"ha-{made[0]}"),
                        block=True)
            made[0] += 1

    def read():  # a reader calling all along: every call answered
        while not stop.is_set():
            try:
                ha_client.feedback.stats(supply_id="ha-a")
            except traction.Error as e:
                failures.append(e)
            time.sleep(0.01)
    threads = [threading.Thread(target=produce), threading.Thread(target=read)]
    for t in threads:
        t.start()
    try:
        for k in range(6):
            time.sleep(0.7)
            b = k % 2 + 1  # 1, 2, 1, ...: where the publisher and the reader are
            two.kill_broker(b)
            time.sleep(0.3)
            two.start_broker(b)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    n = made[0]
    pub.flush(timeout=60)
    pub.close()
    s = pub.stats
    assert n > 5000, f"only {n} records"
    assert not failures, failures[:3]
    assert s["refused"] == 0, pub.refused[:3]
    assert s["accepted"] + s["duplicates"] == n, s
    assert s["retries"] > 0, s  # the kills caught requests in flight
    # recovered by the socket monitor, not by the 3 s request timeout; the
    # room is for a disk's fsync stall or a TSan broker's teardown
    assert max(gaps) < 2.5, f"a gap of {max(gaps):.3f} s between acknowledgements"
    count = lambda: sum(m.stats.count for m in ha_client.feedback.stats(  # noqa: E731
        supply_id="ha-a", metric="m").metrics)
    assert eventually(lambda: count() == n, timeout=20), count()
