# SPDX-License-Identifier: Apache-2.0
"""One exception class per code, carrying the v1.1 details."""
import pytest

import traction
from traction.v1 import common_pb2


def test_a_class_per_code():
    for name, num in common_pb2.Code.items():
        if num == 0:
            continue
        e = traction.from_status(num, "why")
        assert isinstance(e, traction.Error) and e.code == num and e.name == name
        cls = "".join(w.capitalize() for w in name.split("_"))
        assert type(e).__name__ == cls and getattr(traction, cls) is type(e)
    assert issubclass(traction.QueueFull, traction.ResourceExhausted)


def test_errors_from_the_bus(client):
    with pytest.raises(traction.NotFound) as e:
        client.supply.get(id="no-such-supply")
    assert "no-such-supply" in e.value.message
    with pytest.raises(traction.InvalidArgument) as e:
        client.supply.provider_register(provider={"id": "Not A Slug!", "name": "x",
                                                  "kind": "PROVIDER_AI_COMPANY"})
    assert "id" in e.value.message
    client.supply.provider_register(provider={"id": "errs", "name": "x",
                                              "kind": "PROVIDER_AI_COMPANY"})
    with pytest.raises(traction.AlreadyExists):
        client.supply.provider_register(provider={"id": "errs", "name": "x",
                                                  "kind": "PROVIDER_AI_COMPANY"})
    with pytest.raises(traction.Unimplemented):
        client.call("supply", "no.such.method", common_pb2.Empty(), common_pb2.Empty)
    # a position never reached: supplyd answers at the timeout less its
    # margin (500 ms of 2 s), before the client gives up
    with pytest.raises(traction.Unavailable) as e:
        client.supply.get(id="errs", after={"supply": 10 ** 9}, timeout=2.0)
    assert e.value.details and e.value.details[0].reason == "not_applied"


def test_wrong_arguments_are_type_errors(client):
    with pytest.raises(TypeError):
        client.supply.get(no_such_field=1)
    with pytest.raises(TypeError):
        client.supply.get(common_pb2.Empty())


def test_a_deadline(bus):
    c = traction.Client("tcp://127.0.0.1:9", timeout=0.3)  # nobody there
    with pytest.raises(traction.DeadlineExceeded):
        c.broker.ping()
    c.close()
