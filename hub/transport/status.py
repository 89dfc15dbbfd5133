"""The one table that maps domain errors to gRPC status codes, and the abort that applies it."""

from __future__ import annotations

import inspect
import logging
import uuid
from typing import Any, NoReturn

import grpc

from hub import errors
from hub.observe.request_log import note_error
from hub.transport import headroom

log = logging.getLogger("hub.transport")

# Checked in order: the first class the error is an instance of decides the code.
STATUS_TABLE: tuple[tuple[type[errors.DomainError], grpc.StatusCode], ...] = (
    (errors.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (errors.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.Conflict, grpc.StatusCode.ABORTED),
    (errors.ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
    (errors.IntegrityError, grpc.StatusCode.DATA_LOSS),
    (errors.DeadlineExceeded, grpc.StatusCode.DEADLINE_EXCEEDED),
    (errors.Cancelled, grpc.StatusCode.CANCELLED),
)


def status_for(error: errors.DomainError) -> grpc.StatusCode:
    for cls, code in STATUS_TABLE:
        if isinstance(error, cls):
            return code
    return grpc.StatusCode.INTERNAL


def status_of(error: BaseException) -> tuple[grpc.StatusCode, str]:
    """The status and message a client sees for ``error``: a domain error's own message, or a
    bare INTERNAL with an incident id (the details go to the server log only)."""
    if isinstance(error, errors.DomainError):
        return status_for(error), error.message
    incident = uuid.uuid4().hex[:12]
    log.exception("internal error %s", incident, exc_info=error)
    return grpc.StatusCode.INTERNAL, f"internal error (incident {incident}); see the server log"


RETRY_AFTER_KEY = "retry-after-ms"


async def abort(context: Any, error: BaseException) -> NoReturn:
    """Abort the call with the mapped status; unknown errors become a bare INTERNAL. A refusal
    that may succeed later carries its hint as the `retry-after-ms` trailing metadata, with
    the tenant's rate-limit headroom where the call reported one (hub/transport/headroom.py).
    ``context``: a ``grpc.aio.ServicerContext`` (its abort is awaited) or a cluster replica's
    ServeCallContext (whose abort raises at once)."""
    note_error(error)  # the call's record: a refusal is counted by reason
    hint = error.retry_after_ms if isinstance(error, errors.DomainError) else None
    trailing = headroom.pending() + (((RETRY_AFTER_KEY, str(hint)),) if hint is not None else ())
    if trailing:
        context.set_trailing_metadata(trailing)
    aborted = context.abort(*status_of(error))
    if inspect.isawaitable(aborted):
        await aborted
    raise AssertionError("context.abort returned")  # grpc's abort always raises
