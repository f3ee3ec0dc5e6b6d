# SPDX-License-Identifier: Apache-2.0
"""The background publisher: batches, bounded queue, flush, duplicates, and
a broker killed with SIGKILL mid-stream, then feedbackd frozen past the
requests' timeout (they are stored after the publisher gave up on them):
nothing lost, nothing twice."""
import threading
import time

import pytest

import traction

from conftest import eventually


def _count(client, supply):
    st = client.feedback.stats(supply_id=supply)
    return sum(m.stats.count for m in st.metrics)


@pytest.fixture(scope="module")
def scene(client):
    client.supply.provider_register(provider={"id": "pubp", "name": "p",
                                              "kind": "PROVIDER_AI_COMPANY"})
    for s in ("pub-a", "pub-b", "pub-c"):
        client.supply.register(supply={"id": s, "provider_id": "pubp", "name": s,
                                       "kind": "SUPPLY_DATASET", "capabilities": ["x"],
                                       "initial_version": "1"})
    client.scenario.submit(scenario={"id": "pub-line", "enterprise": "E", "name": "p",
                                     "domain": "DOMAIN_PRODUCTION",
                                     "demands": [{"capabilities": ["x"]}]})
    eventually(lambda: client.feedback.publish(records=[
        traction.metric("pub-line", "pub-a", "1", "probe", 1.0, key="probe")]).results[0]
        .status.code == 0)
    return "pub-line"


def test_publish_flush_and_duplicates(bus, client, scene):
    acks = []
    # a timeout no fsync stall of a loaded CI disk reaches: retries 0 means
    # nothing had to go again, not that nothing was slow
    with traction.Publisher(bus.endpoint, batch=100, timeout=30,
                            on_ack=lambda r, a: acks.append(a)) as pub:
        for i in range(2000):
            pub.publish(traction.metric(scene, "pub-a", "1", "m", float(i), key=f"a-{i}"))
    assert pub.stats == {"accepted": 2000, "duplicates": 0, "refused": 0, "retries": 0}
    assert len(acks) == 2000 and len({a.record_id for a in acks}) == 2000
    assert eventually(lambda: _count(client, "pub-a") == 2001)  # and the probe
    with traction.Publisher(bus.endpoint) as pub:  # the same keys again: stored once
        for i in range(2000):
            pub.publish(traction.metric(scene, "pub-a", "1", "m", float(i), key=f"a-{i}"))
    assert pub.stats["duplicates"] == 2000 and pub.stats["accepted"] == 0
    assert _count(client, "pub-a") == 2001


def test_refused_records_are_reported(bus, scene):
    with traction.Publisher(bus.endpoint) as pub:
        pub.publish(traction.metric("no-such-line", "pub-a", "1", "m", 1.0))
        pub.publish(traction.metric(scene, "pub-a", "1", "m", 1.0))
    assert pub.stats["accepted"] == 1 and pub.stats["refused"] == 1
    rec, ack = pub.refused[0]
    assert rec.scenario_id == "no-such-line" and ack.code == traction.NotFound.code


def test_a_full_queue_is_a_clear_error(bus, scene):
    pub = traction.Publisher("tcp://127.0.0.1:9", max_queued=10, timeout=0.2)  # nobody there
    for i in range(10):
        pub.publish(traction.metric(scene, "pub-a", "1", "m", 1.0))
    with pytest.raises(traction.QueueFull):
        pub.publish(traction.metric(scene, "pub-a", "1", "m", 1.0))
    with pytest.raises(traction.QueueFull):
        pub.publish(traction.metric(scene, "pub-a", "1", "m", 1.0), block=True, timeout=0.2)
    with pytest.raises(traction.DeadlineExceeded):
        pub.flush(timeout=0.3)
    pub.close(flush=False)


def test_a_broker_killed_mid_stream(bus, client, scene):
    n = 30000
    pub = traction.Publisher(bus.endpoint, batch=200, max_in_flight=8, timeout=1.0)
    done, frozen = threading.Event(), threading.Event()

    def produce():  # the last third only once feedbackd is frozen: mid-stream on any machine
        for i in range(n):
            if i == 2 * n // 3:
                frozen.wait(60)
            pub.publish(traction.metric(scene, "pub-b", "1", "m", float(i), key=f"b-{i}"),
                        block=True)
        done.set()
    t = threading.Thread(target=produce)
    t.start()
    eventually(lambda: pub.stats["accepted"] > 2000, timeout=20)
    endpoints = bus.endpoints
    bus.kill_broker()                  # SIGKILL: requests in flight are lost
    time.sleep(0.5)
    bus.start_broker(endpoints)        # the same ports: everyone reconnects
    eventually(lambda: pub.stats["accepted"] > 10000, timeout=30)
    with bus.frozen("feedbackd"):
        frozen.set()
        time.sleep(2.5)                # past the 1 s timeout: stored late, unanswered
        paused_with = pub.pending
    t.join(60)
    assert done.is_set()
    pub.flush(timeout=60)
    pub.close()
    s = pub.stats
    assert paused_with > 0  # the freeze came mid-stream
    assert s["refused"] == 0, pub.refused[:3]
    assert s["accepted"] + s["duplicates"] == n and s["retries"] > 0, s
    # exactly n stored: the retried requests were deduplicated by their keys
    assert eventually(lambda: _count(client, "pub-b") == n, timeout=20), _count(client, "pub-b")
