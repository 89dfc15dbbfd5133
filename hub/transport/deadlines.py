"""A call's deadline and cancellation, from gRPC to the transport-free CallScope.

The deadline is the call's ``time_remaining()`` turned into an absolute monotonic time; the
scope is cancelled when the call terminates (``add_done_callback`` runs on cancellation, on a
client that disconnects and on normal completion). A stream's request gets a child scope with
its own ``timeout_ms``, cancelled with the call.
"""

from __future__ import annotations

from typing import Any

from hub.api.v1 import inference_pb2
from hub.scheduling.scope import CallScope


def call_scope(context: Any) -> CallScope:
    """``context``: a ``grpc.aio.ServicerContext`` or a cluster replica's ServeCallContext."""
    scope = CallScope.within(context.time_remaining())
    context.add_done_callback(lambda _context: scope.cancel())
    return scope


def request_scope(call: CallScope, item: inference_pb2.PredictStreamRequest) -> CallScope:
    """A stream request's scope: its own timeout, if set, within the call's."""
    return call.child(item.timeout_ms / 1000 if item.HasField("timeout_ms") else None)
