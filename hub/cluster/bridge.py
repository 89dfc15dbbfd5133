"""Run the hub's asyncio servicer methods from a Serve replica's asyncio methods.

A Serve replica calls its methods on one event loop, and the hub's servicers are coroutines
(hub/transport): a replica awaits them on that loop, as the single-process server does on its
own, so many calls wait in the hub's fair queue at once and share engine forwards. Streams are
passed through as they are: the client's messages (Serve's ``gRPCInputStream``, an async
iterator) are read by the servicer directly, and its answers are yielded back as they come.
A servicer that ends the call with a status raises ``CallAborted`` (the status is on the
context already): the replica returns the RPC's empty message, as Serve expects.

``scope`` observes the call as the server's interceptor does (hub/transport/observe.py: request
id, record, span, metrics, log line); it closes before the context ends, so a call that ended
normally is never counted as cancelled.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from hub.cluster.context import CallAborted, ServeCallContext

Scope = Callable[[ServeCallContext], contextlib.AbstractAsyncContextManager[Any]]


@contextlib.asynccontextmanager
async def unobserved(context: ServeCallContext) -> AsyncIterator[ServeCallContext]:
    yield context


async def run_unary(
    method: Callable[[Any, Any], Awaitable[Any]],
    request: Any,
    context: ServeCallContext,
    empty: Any,
    scope: Scope = unobserved,
) -> Any:
    """One reply; ``empty`` (the response type's default) when the servicer aborted with a status:
    the status set on the context is what the client gets. ``request``: a message, or the
    client's stream of them (UploadAdapter)."""
    try:
        async with scope(context) as observed:
            return await method(request, observed)
    except CallAborted:
        return empty
    finally:
        context.end()  # also on cancellation: the call's scope is cancelled, its rows dropped


async def run_stream_out(
    method: Callable[[Any, Any], AsyncIterator[Any]],
    request: Any,
    context: ServeCallContext,
    scope: Scope = unobserved,
) -> AsyncIterator[Any]:
    """Answers yielded as the servicer produces them (PredictStream: ``request`` is the client's
    stream)."""
    try:
        async with scope(context) as observed:
            async for answer in method(request, observed):
                yield answer
    except CallAborted:
        pass  # the status is on the context
    finally:
        context.end()
