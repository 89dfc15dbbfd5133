"""A Ray Serve call seen through the part of ``grpc.ServicerContext`` the hub's servicers use.

Behind Serve's gRPC proxy a replica method gets the request and a ``RayServegRPCContext``: the
caller's metadata, and a code, details and trailing metadata that the proxy copies onto the
real call when the method returns. The hub's servicers (hub/transport) expect a
``grpc.ServicerContext``; this adapter gives them one, so every RPC runs the same servicer code
in a replica as in the single-process server:

- ``abort`` sets the code and details and raises ``CallAborted`` (the aio context's abort is a
  coroutine; hub/transport/status.py awaits it only when it is one); the replica turns that into a
  plain return of an empty message, which is how Serve sends a status it did not choose.
- ``time_remaining`` is the client's deadline as the client library sends it in the
  ``hub-deadline-ms`` metadata (the proxy does not pass the gRPC deadline on); None without it.
- ``add_callback`` (and aio's ``add_done_callback``) callbacks run when the call ends: returned,
  failed, or cancelled because the client went away (the proxy cancels the replica's request).
- ``send_initial_metadata``: Serve's proxy sends trailing metadata only, so what the hub puts in
  the initial metadata (the ``x-request-id``) goes into the trailing metadata, beside whatever
  the servicer sets there (the client library reads the request id from either).
- ``trailers_per_message``: for a streamed answer Serve's proxy sends the trailing metadata as it
  was when the replica yielded each message; what is set after the last message never leaves.
  Servicers that end a stream with trailers (PredictStream's headroom) set them with each answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import grpc

DEADLINE_KEY = "hub-deadline-ms"


class CallAborted(Exception):
    """Raised by ``ServeCallContext.abort``: the status is set on the context already."""


class ServeCallContext:
    """The servicer-facing view of one call through Serve's proxy (see the module docstring)."""

    def __init__(self, serve_context: Any, started: float | None = None) -> None:
        self.serve_context = serve_context
        self._metadata: Sequence[tuple[str, str]] = tuple(serve_context.invocation_metadata())
        self._deadline = _deadline(self._metadata, time.monotonic() if started is None else started)
        self._callbacks: list[Callable[[], None]] = []
        self._ended = threading.Event()
        self._lock = threading.Lock()
        self._initial: list[tuple[str, str]] = []  # sent with the trailing metadata (see above)
        self._trailing: list[tuple[str, str]] = []
        self.aborted = False  # the servicer ended the call with a status
        self.trailers_per_message = True  # see the module docstring

    # ---- what the servicers call ------------------------------------------------------
    def invocation_metadata(self) -> Sequence[tuple[str, str]]:
        return self._metadata

    def time_remaining(self) -> float | None:
        return None if self._deadline is None else max(0.0, self._deadline - time.monotonic())

    def add_callback(self, callback: Callable[[], None]) -> bool:
        with self._lock:
            if self._ended.is_set():
                return False
            self._callbacks.append(callback)
            return True

    def add_done_callback(self, callback: Callable[[ServeCallContext], None]) -> None:
        """As ``grpc.aio.ServicerContext``'s: ``callback(context)`` when the call ends (at once if
        it has)."""
        if not self.add_callback(lambda: callback(self)):
            callback(self)

    def is_active(self) -> bool:
        return not self._ended.is_set()

    def cancelled(self) -> bool:
        return self._ended.is_set() and not self.aborted

    async def send_initial_metadata(self, metadata: Sequence[tuple[str, str]]) -> None:
        self._initial = list(metadata)
        self.serve_context.set_trailing_metadata(self._initial + self._trailing)

    def set_trailing_metadata(self, metadata: Sequence[tuple[str, str]]) -> None:
        self._trailing = list(metadata)
        self.serve_context.set_trailing_metadata(self._initial + self._trailing)

    def abort(self, code: grpc.StatusCode, details: str, trailing_metadata: Sequence[tuple[str, str]] = ()) -> None:
        if trailing_metadata:
            self.set_trailing_metadata(trailing_metadata)
        self.aborted = True
        self.serve_context.set_code(code)
        self.serve_context.set_details(details)
        raise CallAborted(details)

    def code(self) -> grpc.StatusCode | None:
        return self.serve_context.code()

    # ---- what the replica calls ----------------------------------------------------------
    def end(self) -> None:
        """The call is over (answered, failed or cancelled): run the callbacks once."""
        with self._lock:
            if self._ended.is_set():
                return
            self._ended.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()


def _deadline(metadata: Sequence[tuple[str, str]], started: float) -> float | None:
    for key, value in metadata:
        if key == DEADLINE_KEY:
            try:
                return started + max(0, int(value)) / 1000
            except ValueError:
                return None
    return None
