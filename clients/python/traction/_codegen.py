# SPDX-License-Identifier: Apache-2.0
"""Writes traction/_services.py: a class per service block of proto/ with a
typed method per rpc, from the descriptors of the generated modules (run by
setup.py at build time; `python3 -m traction._codegen` prints it).

Names follow the wire's rule (docs/protocol.md, lib/blocks.c): the service
block's name without "Service", lower-cased ("SupplyService" -> supply); the
rpc's CamelCase words dotted ("ProviderRegister" -> provider.register),
which in Python is provider_register.
"""
import importlib
import re

MODULES = ("common", "bus", "cluster", "events", "supply", "scenario", "feedback", "iteration",
           "notify")
# the methods every service of a daemon answers, and the broker's own
DAEMON, BROKER = "DaemonService", "BrokerService"


def wire_method(name):
    return re.sub(r"(?<!^)([A-Z])", r".\1", name).lower()


def wire_service(name):
    return (name[:-len("Service")] if name.endswith("Service") else name).lower()


def _type(desc):
    module = desc.file.name.rsplit("/", 1)[-1].replace(".proto", "_pb2")
    return f"{module}.{desc.name}"


def _fields(desc):
    out = []
    for f in desc.fields:
        if f.message_type is not None:
            t = f.message_type.name
        elif f.enum_type is not None:
            t = f.enum_type.name
        else:
            t = {1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 8: "bool",
                 9: "string", 12: "bytes", 13: "uint32"}.get(f.type, "scalar")
        rep = "repeated " if f.label == f.LABEL_REPEATED else ""
        out.append(f"{f.name} ({rep}{t})")
    return ", ".join(out) or "none"


def _method(svc_wire, m):
    wire = wire_method(m.name)
    py = wire.replace(".", "_")
    req, rep = _type(m.input_type), _type(m.output_type)
    return f'''
    def {py}(self, request: Optional[{req}] = None, /, *, timeout: Optional[float] = None,
            after=None, stale=False, **fields) -> {rep}:
        """{svc_wire}.{wire}: {m.input_type.name} -> {m.output_type.name}.

        Pass a {m.input_type.name}, or its fields as keywords (messages as
        dicts, enums by name). Fields: {_fields(m.input_type)}.
        """
        return self._call("{wire}", {req}, {rep}, request, fields, timeout, after, stale)
'''


def _class(sd, base, wire):
    body = "".join(_method(wire, m) for m in sd.methods)
    doc = (f"Service `{wire}`: the rpcs of {sd.name} in {sd.file.name}"
           + ("; every service answers these." if sd.name == DAEMON else "."))
    return f'''

class {sd.name}({base}):
    """{doc}"""
    service = "{wire if wire != 'SERVICE' else ''}"
{body}'''


def generate():
    mods = [importlib.import_module(f"traction.v1.{m}_pb2") for m in MODULES]
    services = [sd for mod in mods for sd in mod.DESCRIPTOR.services_by_name.values()]
    by_name = {sd.name: sd for sd in services}
    out = ['"""The typed API of every traction service, generated at build time from\n'
           'proto/traction/v1 by traction/_codegen.py: do not edit."""\n'
           "from typing import Optional\n\n"
           "from ._base import ServiceBase\n"
           + "".join(f"from .v1 import {m}_pb2\n" for m in MODULES)]
    out.append(_class(by_name[DAEMON], "ServiceBase", "SERVICE"))
    table = []
    for sd in services:
        if sd.name == DAEMON:
            continue
        wire = wire_service(sd.name)
        # a daemon's service also answers ping and events.*; the broker does not
        out.append(_class(sd, "ServiceBase" if sd.name == BROKER else DAEMON, wire))
        table.append(f'    "{wire}": {sd.name},\n')
    out.append("\n\n# the client's attributes: client.supply, client.feedback, ...\n"
               "SERVICES = {\n" + "".join(table) + "}\n")
    return "".join(out)


if __name__ == "__main__":
    print(generate(), end="")
