# SPDX-License-Identifier: Apache-2.0
"""The reader feed as an iterator, resumable from its position."""
import traction


def test_events_follow_and_resume(client):
    for i in range(3):
        client.supply.provider_register(provider={"id": f"ev-{i}", "name": "e",
                                                  "kind": "PROVIDER_SOLUTION_SERVICE"})
    it = client.events(["supply"], topics=["provider.registered"], until_idle=True)
    mine = [e for e in it if e.provider.id.startswith("ev-")]
    assert [e.provider.id for e in mine] == ["ev-0", "ev-1", "ev-2"]
    assert all(e.type == "provider.registered" and e.source == "supply" for e in mine)
    pos = dict(it.position)
    assert pos["supply"] >= mine[-1].seq
    # nothing new: a resumed stream is empty; one more event: only that one
    assert list(client.events(["supply"], positions=pos, until_idle=True)) == []
    client.supply.provider_register(provider={"id": "ev-3", "name": "e",
                                              "kind": "PROVIDER_SOLUTION_SERVICE"})
    new = list(client.events(["supply"], positions=pos, until_idle=True))
    assert [e.provider.id for e in new] == ["ev-3"]


def test_a_stream_resumed_mid_batch_misses_nothing(client):
    it = client.events(["supply"], until_idle=True)
    first = next(it)
    rest = list(client.events(["supply"], positions=it.position, until_idle=True))
    every = list(client.events(["supply"], until_idle=True))
    assert [first.seq] + [e.seq for e in rest] == [e.seq for e in every]


def test_following_waits_for_the_next(client):
    import threading
    it = client.events(["supply"], positions=client.heads(["supply"]), wait=0.5)

    def later():
        with traction.Client(client.endpoints[0]) as other:
            other.supply.provider_register(provider={"id": "ev-late", "name": "e",
                                                     "kind": "PROVIDER_SOLUTION_SERVICE"})
    t = threading.Timer(0.3, later)
    t.start()
    assert next(it).provider.id == "ev-late"
    t.join()
