# SPDX-License-Identifier: Apache-2.0
"""traction: the Python client of the traction bus (docs/python.md).

    import traction
    c = traction.Client("tcp://127.0.0.1:7400")
    c.scenario.match(scenario_id="weld-line-3").to_dict()
    with traction.Publisher() as pub:
        pub.publish(traction.metric("weld-line-3", "defect-vision", "1.1", "defect_rate", 0.014))
    c.history("defect-vision")          # a pandas DataFrame

Every method of every service is on the client (c.supply, c.scenario,
c.feedback, c.iteration, c.deployment, c.broker), typed, generated from the
proto descriptors; errors are traction.Error subclasses, one per code.
"""
from .client import Client, EventStream, positions, PROTOCOL_VERSION
from . import errors as _errors
from .errors import *  # noqa: F401,F403  (one class per status code)
from .publisher import Ack, Publisher
from .records import demand, metric, problem, value
from . import v1

__version__ = "0.2.0"
__all__ = ["Client", "EventStream", "Publisher", "Ack", "positions", "metric", "problem", "value",
           "demand", "v1", "PROTOCOL_VERSION"] + _errors.__all__
