"""A failed call as one exception per status code, each carrying the server's message.

Every exception is a ``HubError``; catch the specific ones you act on (``NotFound``,
``ResourceExhausted``...). ``HubError`` is also a ``grpc.RpcError`` with ``code()`` and
``details()``, so code written against the raw stubs keeps working. A refusal that may succeed
later says when: ``retry_after_s`` (the server's ``retry-after-ms`` trailer; a full queue or a
rate limit, never a storage quota). ``request_id``: the server's id of the call (its
``x-request-id``, in its log line), to quote when asking the operator; ``ratelimit``: the
tenant's ``x-ratelimit-*`` / ``x-queue-*`` headroom the server sent with a refusal.
"""

from __future__ import annotations

from typing import Any, ClassVar

import grpc

RETRY_AFTER_KEY = "retry-after-ms"
REQUEST_ID_KEY = "x-request-id"
HEADROOM_PREFIXES = ("x-ratelimit-", "x-queue-")


class HubError(grpc.RpcError):
    """A call the hub (or the connection to it) refused or failed."""

    status_code: ClassVar[grpc.StatusCode] = grpc.StatusCode.UNKNOWN

    def __init__(self, message: str, *, code: grpc.StatusCode | None = None, retry_after_s: float | None = None):
        super().__init__(message)
        self.message = message
        self._code = code or self.status_code
        self.retry_after_s = retry_after_s
        self.request_id: str | None = None  # the server's x-request-id for the call, when it sent one
        self.ratelimit: dict[str, str] = {}

    @property
    def status(self) -> str:
        """The status code's name, e.g. ``NOT_FOUND``."""
        return str(self._code.name)

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self.message

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"


class NotFound(HubError):
    status_code = grpc.StatusCode.NOT_FOUND


class InvalidArgument(HubError):
    status_code = grpc.StatusCode.INVALID_ARGUMENT


class AlreadyExists(HubError):
    status_code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(HubError):
    """The request is well formed but cannot apply here (e.g. an adapter for another backbone)."""

    status_code = grpc.StatusCode.FAILED_PRECONDITION


class Unauthenticated(HubError):
    status_code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(HubError):
    status_code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(HubError):
    """A limit: with ``retry_after_s`` a busy queue or a rate limit (try again then), without
    one a final refusal (a storage quota, a message too large)."""

    status_code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(HubError):
    """The hub cannot answer now: not started, loading, draining, or unreachable."""

    status_code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(HubError):
    status_code = grpc.StatusCode.DEADLINE_EXCEEDED


class Cancelled(HubError):
    status_code = grpc.StatusCode.CANCELLED


class Unimplemented(HubError):
    """The hub does not offer this call (an older server)."""

    status_code = grpc.StatusCode.UNIMPLEMENTED


class Internal(HubError):
    """The server failed; its message holds an incident id for its logs, never the details."""

    status_code = grpc.StatusCode.INTERNAL


_BY_CODE: dict[grpc.StatusCode, type[HubError]] = {
    cls.status_code: cls
    for cls in (
        NotFound,
        InvalidArgument,
        AlreadyExists,
        FailedPrecondition,
        Unauthenticated,
        PermissionDenied,
        ResourceExhausted,
        Unavailable,
        DeadlineExceeded,
        Cancelled,
        Unimplemented,
        Internal,
    )
}
_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}


def status_name(number: int) -> str:
    """A status code number by its name, e.g. 5 -> NOT_FOUND."""
    code = _BY_NUMBER.get(number)
    return code.name if code is not None else str(number)


def error_for(code: grpc.StatusCode, message: str, retry_after_s: float | None = None) -> HubError:
    """The exception for a status code (``HubError`` itself for the codes without a class)."""
    return _BY_CODE.get(code, HubError)(message, code=code, retry_after_s=retry_after_s)


def error_for_number(number: int, message: str, retry_after_ms: int = 0) -> HubError:
    """A PredictStream request's error (a status code number) as the exception ``predict`` raises."""
    code = _BY_NUMBER.get(number, grpc.StatusCode.UNKNOWN)
    return error_for(code, message, retry_after_ms / 1000 if retry_after_ms else None)


def _ask(error: BaseException, name: str) -> Any:
    """``error.name()`` where the error has it (grpc's and grpc.aio's call errors do), else None."""
    method = getattr(error, name, None)
    return method() if callable(method) else None


def retry_after_s(error: BaseException) -> float | None:
    """The server's ``retry-after-ms`` hint on a refused call, in seconds (None: none sent)."""
    for key, value in _ask(error, "trailing_metadata") or ():
        if key == RETRY_AFTER_KEY:
            try:
                return max(0.0, float(value) / 1000)
            except (TypeError, ValueError):
                return None
    return None


def metadata_value(metadata: Any, key: str) -> str | None:
    """The first ``key`` of call metadata (pairs), or None."""
    return next((str(v) for k, v in metadata or () if k == key), None)


def headroom_of(metadata: Any) -> dict[str, str]:
    """The ``x-ratelimit-*`` and ``x-queue-*`` pairs of trailing metadata."""
    return {str(k): str(v) for k, v in metadata or () if str(k).startswith(HEADROOM_PREFIXES)}


def from_rpc_error(error: grpc.RpcError) -> HubError:
    """A failed call's exception (sync or asyncio); a ``HubError`` is returned as it is."""
    if isinstance(error, HubError):
        return error
    code = _ask(error, "code")
    details = _ask(error, "details")
    if not isinstance(code, grpc.StatusCode):
        code, details = grpc.StatusCode.UNKNOWN, details or str(error)
    hub_error = error_for(code, details or "", retry_after_s(error))
    trailing = _ask(error, "trailing_metadata")
    # in the initial metadata from a hub; in the trailers through Ray Serve's proxy (a cluster)
    hub_error.request_id = metadata_value(_ask(error, "initial_metadata"), REQUEST_ID_KEY) or metadata_value(
        trailing, REQUEST_ID_KEY
    )
    hub_error.ratelimit = headroom_of(trailing)
    return hub_error
