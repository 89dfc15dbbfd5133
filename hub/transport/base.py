"""What every servicer shares: the front end, reading the caller, and the wrappers that open a
call (authenticate, count it against the tenant's open-call bounds, end it when the server
must) and turn raised errors into statuses through the one table (hub/transport/status.py).

A servicer method is ``async def method(self, request, context, caller)``; ``@unary`` (one
answer) or ``@streaming`` (an async generator of answers) wraps it into gRPC's behaviour
``(request, context)``. Servicer methods raise; they never call ``context.abort`` themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeVar

from hub.observe.request_log import note_caller
from hub.observe.tracing import span
from hub.serving.auth import Caller
from hub.transport.frontend import FrontEnd
from hub.transport.status import abort

S = TypeVar("S", bound="ServicerBase")
UNKNOWN_CALLERS = "(authenticating)"  # the worker-pool share of callers whose key needs a store read


def bearer_token(metadata: Iterable[tuple[str, str | bytes]]) -> str | None:
    """The credential of the last ``authorization: Bearer KEY`` header, or None."""
    token = None
    for key, value in metadata:
        if key == "authorization" and isinstance(value, str):
            scheme, _, credential = value.partition(" ")
            token = credential.strip() if scheme.lower() == "bearer" else None
    return token


class ServicerBase:
    def __init__(self, front: FrontEnd) -> None:
        self.front = front
        self.service = front.service
        self.auth = front.auth

    async def caller(self, context: Any) -> Caller:
        """Who calls: from memory on the loop, or (an unknown key, a stale record) from the
        store on the worker pool, where callers not yet known share half of it: a flood of
        made-up keys cannot block the loop or take every worker."""
        token = bearer_token(context.invocation_metadata() or ())
        with span("authenticate"):
            caller = self.auth.authenticate_cached(token)
            if caller is None:
                caller = await self.front.blocking(UNKNOWN_CALLERS, self.auth.authenticate, token)
        note_caller(caller.tenant, caller.admin)
        return caller

    @contextlib.asynccontextmanager
    async def open_call(self, context: Any, stream: bool) -> AsyncIterator[Caller]:
        """Authenticate and count the call while it runs (refused on arrival beyond the
        tenant's share); a call the server ends from outside (revocation, shutdown) raises
        the reason it was given instead of CancelledError."""
        caller = await self.caller(context)
        with self.front.limits.opened(caller.tenant, stream) as call:
            try:
                yield caller
            except asyncio.CancelledError:
                if call.ended_by is None:
                    raise  # the client went away
                task = asyncio.current_task()
                if task is not None:
                    task.uncancel()
                raise call.ended_by from None


Unary = Callable[[S, Any, Any, Caller], Awaitable[Any]]
Streaming = Callable[[S, Any, Any, Caller], AsyncIterator[Any]]


def unary(stream_in: bool = False) -> Callable[[Unary[S]], Callable[[S, Any, Any], Awaitable[Any]]]:
    """A method with one answer; ``stream_in``: its request is a client stream (an upload)."""

    def wrap(method: Unary[S]) -> Callable[[S, Any, Any], Awaitable[Any]]:
        @functools.wraps(method)
        async def behaviour(self: S, request: Any, context: Any) -> Any:
            try:
                async with self.open_call(context, stream=stream_in) as caller:
                    return await method(self, request, context, caller)
            except Exception as exc:  # noqa: BLE001 - reported as the call's status
                await abort(context, exc)

        return behaviour

    return wrap


def streaming(method: Streaming[S]) -> Callable[[S, Any, Any], AsyncIterator[Any]]:
    """A method that yields its answers (PredictStream)."""

    @functools.wraps(method)
    async def behaviour(self: S, request: Any, context: Any) -> AsyncIterator[Any]:
        try:
            async with self.open_call(context, stream=True) as caller:
                async for answer in method(self, request, context, caller):
                    yield answer
        except Exception as exc:  # noqa: BLE001 - reported as the call's status
            await abort(context, exc)

    return behaviour
