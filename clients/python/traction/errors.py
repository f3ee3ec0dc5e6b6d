# SPDX-License-Identifier: Apache-2.0
"""One exception class per status code of the bus (docs/protocol.md).

Every error is a traction.Error with .code (the number), .name
("NOT_FOUND"), .message (what went wrong, naming the field) and .details
(the ErrorDetail list of v1.1: subject, reason, current, required). Catch a
class for a code, e.g. traction.NotFound; FailedPrecondition also has
.criteria, the unmet gate criteria of a refused advance.
"""
from .v1 import common_pb2


class Error(Exception):
    code = common_pb2.UNKNOWN
    name = "UNKNOWN"

    def __init__(self, message="", details=(), code=None):
        if code is not None:
            self.code = code
            self.name = common_pb2.Code.Name(code) if code in common_pb2.Code.values() else str(code)
        self.message = message
        self.details = list(details)
        super().__init__(f"{self.name}: {message}")


def _cls(const, doc):
    name = "".join(w.capitalize() for w in const.split("_"))
    return type(name, (Error,), {"code": getattr(common_pb2, const), "name": const, "__doc__": doc})


Cancelled = _cls("CANCELLED", "The request was cancelled.")
Unknown = _cls("UNKNOWN", "An error of no known kind.")
InvalidArgument = _cls("INVALID_ARGUMENT", "The request is wrong: the message names the field.")
DeadlineExceeded = _cls("DEADLINE_EXCEEDED", "No answer within the request's timeout.")
NotFound = _cls("NOT_FOUND", "What the request names does not exist (or no such method).")
AlreadyExists = _cls("ALREADY_EXISTS", "It exists already.")
PermissionDenied = _cls("PERMISSION_DENIED", "The caller's role or scope does not allow it.")
ResourceExhausted = _cls("RESOURCE_EXHAUSTED", "A budget or the store is full; retry later.")
Aborted = _cls("ABORTED", "Aborted.")
OutOfRange = _cls("OUT_OF_RANGE", "Out of range.")
Unimplemented = _cls("UNIMPLEMENTED", "Not implemented.")
Internal = _cls("INTERNAL", "A fault of the daemon.")
Unavailable = _cls("UNAVAILABLE", "No live instance of the service, or not applied yet; retry.")
DataLoss = _cls("DATA_LOSS", "Data loss.")
Unauthenticated = _cls("UNAUTHENTICATED", "The caller is not known.")


class FailedPrecondition(Error):
    """The state does not allow it (a refused advance: .criteria lists each
    unmet gate criterion with its current and required value)."""
    code = common_pb2.FAILED_PRECONDITION
    name = "FAILED_PRECONDITION"

    @property
    def criteria(self):
        return [d for d in self.details if d.reason in ("below_required", "above_allowed",
                                                         "target_not_met", "no_data")]


class QueueFull(ResourceExhausted):
    """The publisher's queue is full: flush(), or publish with block=True."""


_BY_CODE = {c.code: c for c in (Cancelled, Unknown, InvalidArgument, DeadlineExceeded, NotFound,
                                AlreadyExists, PermissionDenied, ResourceExhausted, Aborted,
                                OutOfRange, Unimplemented, Internal, Unavailable, DataLoss,
                                Unauthenticated, FailedPrecondition)}


def from_status(code, message, details=()):
    """The exception for a status code (an unknown number: Error with it)."""
    cls = _BY_CODE.get(code)
    if cls is None:
        return Error(message, details, code=code)
    return cls(message, details)


__all__ = ["Error", "QueueFull", "from_status"] + [c.__name__ for c in _BY_CODE.values()]
