"""Run the hub's synchronous servicer methods from a Serve replica's asyncio methods.

A Serve replica calls its methods on one event loop; the hub's servicers block (a Predict waits
for its batch). Each call therefore runs on the replica's thread pool, so many calls wait in the
hub's batcher at once and share engine forwards, as in the single-process server. Streams cross
the boundary both ways: the client's messages (a ``gRPCInputStream``, async) are read by the
servicer as a plain iterator, and the servicer's answers are yielded back to the loop as they
come.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Executor
from typing import Any

from hub.cluster.context import CallAborted, ServeCallContext

_DONE = object()


async def run_unary(
    executor: Executor, method: Callable[[Any, Any], Any], request: Any, context: ServeCallContext, empty: Any
) -> Any:
    """One reply; ``empty`` (the response type's default) when the servicer aborted with a status:
    the status set on the context is what the client gets."""
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(executor, method, request, context)
    except CallAborted:
        return empty
    finally:
        context.end()  # also on cancellation: the call's scope is cancelled, its rows dropped


def blocking_iterator(stream: AsyncIterator[Any], loop: asyncio.AbstractEventLoop) -> Iterator[Any]:
    """The client's messages, read from a worker thread: each is awaited on the replica's loop."""

    async def next_item() -> Any:
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return _DONE

    while True:
        item = asyncio.run_coroutine_threadsafe(next_item(), loop).result()
        if item is _DONE:
            return
        yield item


async def run_stream_in(
    executor: Executor,
    method: Callable[[Any, Any], Any],
    stream: AsyncIterator[Any],
    context: ServeCallContext,
    empty: Any,
) -> Any:
    """A client stream, one reply (UploadAdapter)."""
    loop = asyncio.get_running_loop()
    return await run_unary(executor, method, blocking_iterator(stream, loop), context, empty)


async def run_stream_out(
    executor: Executor, method: Callable[[Any, Any], Iterator[Any]], request: Any, context: ServeCallContext
) -> AsyncIterator[Any]:
    """Answers yielded as the servicer produces them (PredictStream: ``request`` is the client's
    stream, read through ``blocking_iterator``)."""
    loop = asyncio.get_running_loop()
    answers: asyncio.Queue[Any] = asyncio.Queue()
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            for answer in method(request, context):
                loop.call_soon_threadsafe(answers.put_nowait, answer)
        except CallAborted:
            pass  # the status is on the context
        except BaseException as exc:  # noqa: BLE001 - re-raised on the loop below
            failure.append(exc)
        finally:
            loop.call_soon_threadsafe(answers.put_nowait, _DONE)

    producer = loop.run_in_executor(executor, produce)
    try:
        while (answer := await answers.get()) is not _DONE:
            yield answer
        await producer
        if failure:
            raise failure[0]
    finally:
        context.end()
