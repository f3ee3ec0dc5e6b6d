# SPDX-License-Identifier: Apache-2.0
"""Replicas of a daemon behind the broker (docs/scale-out.md): a set of its
own, a broker and two trc-replicad (traction-exampled on the runtime, told
its role and term through a FIFO: tests/integration/replicad.c). With only
followers the broker refuses UNAVAILABLE no_leader; the Client sends the
call again, same id, through the same broker, and it succeeds once a leader
appears within its timeout; stale=True reads reach the followers; a
replica's leadership_changed refusal is retried the same way."""
import os
import subprocess
import threading
import time

import pytest

import traction
from traction.v1 import bus_pb2, common_pb2

from conftest import BUILD, BusSet, eventually

REPLICAD = os.path.join(BUILD, "tests", "integration", "trc-replicad")


class Replicas(BusSet):
    def start(self):
        self.start_broker()
        conf = os.path.join(self.dir, "traction.conf")
        self.fifos, self.pids = [], []
        for i in range(2):
            with open(conf + str(i), "w") as f:
                f.write(self.endpoints + "heartbeat_ms = 200\n[store]\n"
                        f"state_dir = {self.dir}/var{i}\n[metrics]\nbase_port = 0\n")
            fifo = os.path.join(self.dir, f"role{i}")
            env = dict(os.environ, TRC_REPLICA_FIFO=fifo, TRC_REPLICA_ROLE="follower 1")
            log = open(os.path.join(self.dir, f"replica{i}.log"), "ab")
            p = subprocess.Popen([REPLICAD, "--config", conf + str(i)], env=env, stderr=log,
                                 stdout=log)
            log.close()
            self.procs[f"replica{i}"] = p
            self.fifos.append(fifo)
            self.pids.append(p.pid)

    def say(self, i, line):
        fd = os.open(self.fifos[i], os.O_WRONLY | os.O_NONBLOCK)
        os.write(fd, (line + "\n").encode())
        os.close(fd)


@pytest.fixture(scope="module")
def replicas():
    if not os.path.exists(REPLICAD):
        pytest.skip("trc-replicad is not built")
    s = Replicas()
    try:
        s.start()
        yield s
    finally:
        s.stop()


def roles(c):
    """[(role, term)] of note's instances, as the broker heard them."""
    st = c.broker.status()
    return sorted((i.replica_role, i.term) for s in st.services if s.name == "note"
                  for i in s.instances)


def ping(c, **kw):
    return c.call("note", "ping", common_pb2.Empty(), bus_pb2.PingReply, **kw)


def test_election_retried_through_the_same_broker(replicas):
    with traction.Client(replicas.endpoint, timeout=5) as c:
        eventually(lambda: roles(c) == [(bus_pb2.REPLICA_FOLLOWER, 1)] * 2)
        # no leader: UNAVAILABLE, reason no_leader, once the timeout is spent
        t0 = time.monotonic()
        with pytest.raises(traction.Unavailable) as e:
            ping(c, timeout=0.3)
        assert time.monotonic() - t0 < 1.5
        assert [d.reason for d in e.value.details] == ["no_leader"]
        assert "election" in str(e.value)
        # STALE reads: the followers answer, each in turn
        assert {ping(c, stale=True).pid for _ in range(4)} == set(replicas.pids)
        # a call made now succeeds once a leader appears within its timeout
        threading.Timer(0.4, replicas.say, (1, "leader 2")).start()
        t0 = time.monotonic()
        assert ping(c).pid == replicas.pids[1]
        assert 0.35 <= time.monotonic() - t0 < 3
        assert {ping(c).pid for _ in range(4)} == {replicas.pids[1]}


def test_leadership_changed_retried(replicas):
    with traction.Client(replicas.endpoint, timeout=5) as c:
        replicas.say(0, "leader 3")  # the higher term wins
        eventually(lambda: (bus_pb2.REPLICA_LEADER, 3) in roles(c))
        assert ping(c).pid == replicas.pids[0]
        replicas.say(0, "flap 3")
        time.sleep(0.2)
        kv = common_pb2.KeyValue
        assert c.call("replica", "flap", kv(), kv).value == str(replicas.pids[0])
        replicas.say(0, "flap 1000")

        def refused():  # once the replica has read its line (it has 1000 to give)
            try:
                c.call("replica", "flap", kv(), kv, timeout=0.3)
            except traction.Unavailable as e:
                return [d.reason for d in e.details]
            return None
        assert eventually(lambda: refused() == ["leadership_changed"])
        replicas.say(0, "flap 0")
