"""The bridge from a replica's asyncio methods to the hub's blocking servicer methods."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest

from hub.cluster.bridge import blocking_iterator, run_stream_in, run_stream_out, run_unary
from hub.cluster.context import ServeCallContext
from tests.cluster.calls import serve_call

EMPTY = object()  # stands for the RPC's empty response message
WAIT_S = 30.0  # only a bound for a broken bridge: every wait below ends on an event


def new_context() -> ServeCallContext:
    return ServeCallContext(serve_call()[1])


async def numbers(count: int) -> AsyncIterator[int]:
    """A client stream: each message arrives after the loop has run other work."""
    for n in range(count):
        await asyncio.sleep(0)
        yield n


def test_run_unary_returns_the_answer_computed_on_the_pool() -> None:
    context = new_context()
    threads: list[str] = []

    def method(request: int, ctx: ServeCallContext) -> int:
        assert ctx is context
        threads.append(threading.current_thread().name)
        return request * 2

    async def call() -> Any:
        with ThreadPoolExecutor(2, thread_name_prefix="rpc") as pool:
            return await run_unary(pool, method, 21, context, EMPTY)

    assert asyncio.run(call()) == 42
    assert threads[0].startswith("rpc") and not context.is_active()


def test_run_unary_returns_the_empty_message_when_the_method_aborted() -> None:
    caller_context = new_context()
    ended: list[bool] = []
    caller_context.add_callback(lambda: ended.append(True))

    def method(request: int, ctx: ServeCallContext) -> int:
        ctx.abort(grpc.StatusCode.PERMISSION_DENIED, "not yours")
        return 1  # never reached

    async def call() -> Any:
        with ThreadPoolExecutor(1) as pool:
            return await run_unary(pool, method, 0, caller_context, EMPTY)

    assert asyncio.run(call()) is EMPTY
    assert caller_context.code() == grpc.StatusCode.PERMISSION_DENIED
    assert caller_context.serve_context.details() == "not yours"
    assert ended == [True]


def test_run_unary_raises_what_the_method_raised_and_ends_the_call() -> None:
    context = new_context()

    def method(request: int, ctx: ServeCallContext) -> int:
        raise LookupError("broken servicer")

    async def call() -> Any:
        with ThreadPoolExecutor(1) as pool:
            return await run_unary(pool, method, 0, context, EMPTY)

    with pytest.raises(LookupError, match="broken servicer"):
        asyncio.run(call())
    assert not context.is_active()


def test_a_cancelled_unary_call_ends_its_context_while_the_method_still_runs() -> None:
    context = new_context()
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def method(request: int, ctx: ServeCallContext) -> str:
        ctx.add_callback(lambda: ran.append("cancelled scope"))
        started.set()
        release.wait(WAIT_S)
        return "too late"

    async def call() -> None:
        with ThreadPoolExecutor(1) as pool:
            task = asyncio.ensure_future(run_unary(pool, method, 0, context, EMPTY))
            assert await asyncio.to_thread(started.wait, WAIT_S)
            task.cancel()  # the client went away: Serve cancels the replica's request
            with pytest.raises(asyncio.CancelledError):
                await task
            assert ran == ["cancelled scope"] and not context.is_active()
            assert not release.is_set()  # the callbacks ran before the method returned
            release.set()

    asyncio.run(call())


def test_run_stream_in_feeds_the_client_stream_to_the_method_as_a_plain_iterator() -> None:
    context = new_context()
    seen: list[Any] = []

    def method(stream: Iterator[int], ctx: ServeCallContext) -> int:
        seen.append(isinstance(stream, Iterator) and not hasattr(stream, "__anext__"))
        seen.extend(stream)
        return len(seen) - 1

    async def call() -> Any:
        with ThreadPoolExecutor(1) as pool:
            return await run_stream_in(pool, method, numbers(6), context, EMPTY)

    assert asyncio.run(call()) == 6
    assert seen == [True, 0, 1, 2, 3, 4, 5] and not context.is_active()


def test_run_stream_in_returns_the_empty_message_when_the_method_aborted() -> None:
    context = new_context()

    def method(stream: Iterator[int], ctx: ServeCallContext) -> int:
        for n in stream:
            if n == 2:
                ctx.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "quota")
        return 0

    async def call() -> Any:
        with ThreadPoolExecutor(1) as pool:
            return await run_stream_in(pool, method, numbers(5), context, EMPTY)

    assert asyncio.run(call()) is EMPTY and context.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def collect(stream: AsyncIterator[Any]) -> list[Any]:
    return [answer async for answer in stream]


def test_run_stream_out_yields_each_answer_as_the_method_produces_it() -> None:
    context = new_context()
    received_first = threading.Event()
    gate_opened: list[bool] = []

    def method(request: int, ctx: ServeCallContext) -> Iterator[int]:
        yield request
        gate_opened.append(received_first.wait(WAIT_S))  # only the consumer opens it
        yield request + 1
        yield request + 2

    async def call() -> list[int]:
        answers = []
        with ThreadPoolExecutor(1) as pool:
            async for answer in run_stream_out(pool, method, 10, context):
                answers.append(answer)
                received_first.set()
        return answers

    assert asyncio.run(call()) == [10, 11, 12]
    assert gate_opened == [True]  # the first answer reached the loop before the method went on
    assert not context.is_active()


def test_run_stream_out_raises_what_the_method_raised_after_its_answers() -> None:
    context = new_context()

    def method(request: int, ctx: ServeCallContext) -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("the third answer failed")

    answers: list[int] = []

    async def call() -> None:
        with ThreadPoolExecutor(1) as pool:
            async for answer in run_stream_out(pool, method, 0, context):
                answers.append(answer)

    with pytest.raises(ValueError, match="the third answer failed"):
        asyncio.run(call())
    assert answers == [1, 2] and not context.is_active()


def test_run_stream_out_stops_cleanly_when_the_method_aborts() -> None:
    context = new_context()

    def method(request: int, ctx: ServeCallContext) -> Iterator[int]:
        yield 1
        ctx.abort(grpc.StatusCode.UNAUTHENTICATED, "key revoked")
        yield 2  # never reached

    async def call() -> list[int]:
        with ThreadPoolExecutor(1) as pool:
            return await collect(run_stream_out(pool, method, 0, context))

    assert asyncio.run(call()) == [1]
    assert context.code() == grpc.StatusCode.UNAUTHENTICATED and context.aborted and not context.is_active()


def test_a_stream_closed_by_the_caller_ends_the_context_so_the_method_can_stop() -> None:
    context = new_context()
    stopped, finished = threading.Event(), threading.Event()

    def method(request: int, ctx: ServeCallContext) -> Iterator[int]:
        ctx.add_callback(stopped.set)
        try:
            n = 0
            while not stopped.is_set():
                yield n
                n += 1
                stopped.wait(WAIT_S)  # one answer per turn until the call ends
        finally:
            finished.set()

    async def call() -> None:
        with ThreadPoolExecutor(1) as pool:
            stream = run_stream_out(pool, method, 0, context)
            assert await stream.__anext__() == 0
            await stream.aclose()  # type: ignore[attr-defined]
            assert not context.is_active() and stopped.is_set()
            assert await asyncio.to_thread(finished.wait, WAIT_S)

    asyncio.run(call())


def test_a_bidi_stream_reads_the_client_stream_and_answers_in_order() -> None:
    context = new_context()

    def echo(stream: Iterator[int], ctx: ServeCallContext) -> Iterator[str]:
        for n in stream:
            yield f"answer {n}"

    async def call() -> list[str]:
        with ThreadPoolExecutor(2) as pool:
            inbound = blocking_iterator(numbers(4), asyncio.get_running_loop())
            return await collect(run_stream_out(pool, echo, inbound, context))

    assert asyncio.run(call()) == ["answer 0", "answer 1", "answer 2", "answer 3"]
