# SPDX-License-Identifier: Apache-2.0
"""What every generated service class (traction/_services.py) is made of."""
from google.protobuf import json_format, message as _message


class ServiceBase:
    """A service of the bus, by its wire name; its methods are generated."""

    service = ""

    def __init__(self, client):
        self._client = client

    def _call(self, method, req_cls, rep_cls, request, fields, timeout, after, stale=False):
        if request is None:
            names = req_cls.DESCRIPTOR.fields_by_name
            # list methods: limit= and cursor= are the page's
            if "page" in names:
                page = {k: fields.pop(k) for k in ("limit", "cursor") if k in fields and
                        k not in names}
                if page:
                    fields["page"] = page
            try:  # messages or dicts for message fields, enums by name
                request = req_cls(**fields)
            except (TypeError, ValueError) as e:
                raise TypeError(f"{self.service}.{method}: {e}") from None
        elif isinstance(request, dict):
            request = json_format.ParseDict(request, req_cls())
        elif fields:
            raise TypeError("pass a request message or its fields, not both")
        elif not isinstance(request, _message.Message) or \
                request.DESCRIPTOR.full_name != req_cls.DESCRIPTOR.full_name:
            raise TypeError(f"{self.service}.{method} takes a {req_cls.DESCRIPTOR.name}")
        return self._client.call(self.service, method, request, rep_cls, timeout=timeout,
                                 after=after, stale=stale)
