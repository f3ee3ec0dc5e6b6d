# SPDX-License-Identifier: Apache-2.0
"""A real daemon set for the tests: the broker and the five daemons of the
build in $TRACTION_BUILD, on loopback ports the kernel picks, state in a temp
dir; stopped (and the dir removed) at the end, even when a test fails."""
import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

BUILD = os.environ.get("TRACTION_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                                      "build"))
DAEMONS = ("supplyd", "scenariod", "feedbackd", "iterationd", "notifyd")
SERVICES = "supply, scenario, feedback, iteration, deployment"


class BusSet:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="trc-py-")
        self.procs = {}
        self.endpoints = ""
        self.endpoint = ""

    def _spawn(self, name, argv):
        log = open(os.path.join(self.dir, f"{name}.log"), "ab")
        self.procs[name] = subprocess.Popen(argv, stderr=log, stdout=log)
        log.close()

    def start_broker(self, endpoints=None):
        """The broker: on ports the kernel picks, or (a restart) the same ones."""
        conf = os.path.join(self.dir, "broker.conf")
        with open(conf, "w") as f:
            if endpoints:
                f.write(endpoints)
            else:
                f.write("[bus]\nclient_endpoint = tcp://127.0.0.1:*\n"
                        "service_endpoint = tcp://127.0.0.1:*\n"
                        "event_publish_endpoint = tcp://127.0.0.1:*\n"
                        "event_subscribe_endpoint = tcp://127.0.0.1:*\n")
            f.write(f"heartbeat_ms = 200\n[broker]\nendpoints_file = {self.dir}/endpoints\n"
                    f"services = {SERVICES}\n[metrics]\nbase_port = 0\n")
        path = os.path.join(self.dir, "endpoints")
        if os.path.exists(path):
            os.unlink(path)
        self._spawn("broker", [os.path.join(BUILD, "broker", "traction-broker"), "--config", conf])
        for _ in range(250):
            if os.path.exists(path) and "client_endpoint" in open(path).read():
                break
            time.sleep(0.02)
        else:
            raise RuntimeError("the broker did not start: " + self.log("broker"))
        self.endpoints = open(path).read()
        self.endpoint = re.search(r"client_endpoint = (\S+)", self.endpoints).group(1)

    def start(self):
        self.start_broker()
        conf = os.path.join(self.dir, "traction.conf")
        with open(conf, "w") as f:
            f.write(self.endpoints + "heartbeat_ms = 200\n[store]\n"
                    f"state_dir = {self.dir}/var\n[events]\nreplay_interval_ms = 200\n"
                    "[metrics]\nbase_port = 0\n")
        for d in DAEMONS:
            self._spawn(d, [os.path.join(BUILD, "services", f"traction-{d}"), "--config", conf])

    def kill_broker(self):
        p = self.procs.pop("broker")
        p.send_signal(signal.SIGKILL)
        p.wait()

    @contextlib.contextmanager
    def frozen(self, name):
        """A daemon SIGSTOPped for the block: what it is sent meanwhile is
        stored late, after its sender gave up waiting (a reply lost, the
        write done)."""
        p = self.procs[name]
        p.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            p.send_signal(signal.SIGCONT)

    def log(self, name):
        try:
            return open(os.path.join(self.dir, f"{name}.log")).read()[-3000:]
        except OSError:
            return ""

    def stop(self):
        for p in self.procs.values():
            p.send_signal(signal.SIGTERM)
        for name, p in self.procs.items():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def bus():
    s = BusSet()
    try:
        s.start()
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="session")
def client(bus):
    import traction
    c = traction.Client(bus.endpoint, timeout=10)
    # every service live before the first test
    end = time.time() + 10
    while time.time() < end:
        st = c.broker.status()
        if all(len(s.instances) > 0 for s in st.services) and len(st.services) == 6:
            break
        time.sleep(0.05)
    yield c
    c.close()


def eventually(fn, timeout=10.0):
    """fn() until it returns a true value or stops raising (events travel)."""
    end = time.time() + timeout
    last = None
    while time.time() < end:
        try:
            v = fn()
            if v:
                return v
        except Exception as e:  # noqa: BLE001  (retried, then raised)
            last = e
        time.sleep(0.05)
    if last:
        raise last
    raise AssertionError("not within %g s" % timeout)
