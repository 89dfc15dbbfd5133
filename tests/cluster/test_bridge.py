"""The bridge from a replica's asyncio methods to the hub's asyncio servicer methods."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from hub.cluster.bridge import run_stream_out, run_unary
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


def test_run_unary_returns_the_answer_of_the_coroutine() -> None:
    context = new_context()

    async def method(request: int, ctx: ServeCallContext) -> int:
        assert ctx is context
        await asyncio.sleep(0)
        return request * 2

    assert asyncio.run(run_unary(method, 21, context, EMPTY)) == 42
    assert not context.is_active()


def test_run_unary_returns_the_empty_message_when_the_method_aborted() -> None:
    caller_context = new_context()
    ended: list[bool] = []
    caller_context.add_done_callback(lambda ctx: ended.append(ctx is caller_context))

    async def method(request: int, ctx: ServeCallContext) -> int:
        ctx.abort(grpc.StatusCode.PERMISSION_DENIED, "not yours")
        return 1  # never reached

    assert asyncio.run(run_unary(method, 0, caller_context, EMPTY)) is EMPTY
    assert caller_context.code() == grpc.StatusCode.PERMISSION_DENIED
    assert caller_context.serve_context.details() == "not yours"
    assert ended == [True]


def test_run_unary_raises_what_the_method_raised_and_ends_the_call() -> None:
    context = new_context()

    async def method(request: int, ctx: ServeCallContext) -> int:
        raise LookupError("broken servicer")

    with pytest.raises(LookupError, match="broken servicer"):
        asyncio.run(run_unary(method, 0, context, EMPTY))
    assert not context.is_active()


def test_a_cancelled_unary_call_ends_its_context() -> None:
    context = new_context()
    started = asyncio.Event()
    ran: list[str] = []

    async def method(request: int, ctx: ServeCallContext) -> str:
        ctx.add_done_callback(lambda _: ran.append("cancelled scope"))
        started.set()
        await asyncio.sleep(WAIT_S)
        return "too late"

    async def call() -> None:
        task = asyncio.ensure_future(run_unary(method, 0, context, EMPTY))
        await asyncio.wait_for(started.wait(), WAIT_S)
        task.cancel()  # the client went away: Serve cancels the replica's request
        with pytest.raises(asyncio.CancelledError):
            await task
        assert ran == ["cancelled scope"] and not context.is_active() and context.cancelled()

    asyncio.run(call())


def test_a_client_stream_reaches_the_method_as_the_async_iterator_it_is() -> None:
    context = new_context()
    seen: list[Any] = []

    async def method(stream: AsyncIterator[int], ctx: ServeCallContext) -> int:
        seen.extend([n async for n in stream])
        return len(seen)

    assert asyncio.run(run_unary(method, numbers(6), context, EMPTY)) == 6
    assert seen == [0, 1, 2, 3, 4, 5] and not context.is_active()


def test_a_client_stream_aborted_midway_returns_the_empty_message() -> None:
    context = new_context()

    async def method(stream: AsyncIterator[int], ctx: ServeCallContext) -> int:
        async for n in stream:
            if n == 2:
                ctx.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "quota")
        return 0

    assert asyncio.run(run_unary(method, numbers(5), context, EMPTY)) is EMPTY
    assert context.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def collect(stream: AsyncIterator[Any]) -> list[Any]:
    return [answer async for answer in stream]


def test_run_stream_out_yields_each_answer_as_the_method_produces_it() -> None:
    context = new_context()
    received_first = asyncio.Event()
    gate_opened: list[bool] = []

    async def method(request: int, ctx: ServeCallContext) -> AsyncIterator[int]:
        yield request
        await asyncio.wait_for(received_first.wait(), WAIT_S)  # only the consumer opens it
        gate_opened.append(True)
        yield request + 1
        yield request + 2

    async def call() -> list[int]:
        answers = []
        async for answer in run_stream_out(method, 10, context):
            answers.append(answer)
            received_first.set()
        return answers

    assert asyncio.run(call()) == [10, 11, 12]
    assert gate_opened == [True]  # the first answer reached the caller before the method went on
    assert not context.is_active()


def test_run_stream_out_raises_what_the_method_raised_after_its_answers() -> None:
    context = new_context()
    answers: list[int] = []

    async def method(request: int, ctx: ServeCallContext) -> AsyncIterator[int]:
        yield 1
        yield 2
        raise ValueError("the third answer failed")

    async def call() -> None:
        async for answer in run_stream_out(method, 0, context):
            answers.append(answer)

    with pytest.raises(ValueError, match="the third answer failed"):
        asyncio.run(call())
    assert answers == [1, 2] and not context.is_active()


def test_run_stream_out_stops_cleanly_when_the_method_aborts() -> None:
    context = new_context()

    async def method(request: int, ctx: ServeCallContext) -> AsyncIterator[int]:
        yield 1
        ctx.abort(grpc.StatusCode.UNAUTHENTICATED, "key revoked")
        yield 2  # never reached

    assert asyncio.run(collect(run_stream_out(method, 0, context))) == [1]
    assert context.code() == grpc.StatusCode.UNAUTHENTICATED and context.aborted and not context.is_active()


def test_a_stream_closed_by_the_caller_ends_the_context() -> None:
    context = new_context()
    ended: list[bool] = []

    async def method(request: int, ctx: ServeCallContext) -> AsyncIterator[int]:
        ctx.add_done_callback(lambda _: ended.append(True))
        n = 0
        while True:
            yield n
            n += 1

    async def call() -> None:
        stream = run_stream_out(method, 0, context)
        assert await stream.__anext__() == 0
        await stream.aclose()  # type: ignore[attr-defined]
        assert not context.is_active() and ended == [True]

    asyncio.run(call())


def test_a_bidi_stream_reads_the_client_stream_and_answers_in_order() -> None:
    context = new_context()

    async def echo(stream: AsyncIterator[int], ctx: ServeCallContext) -> AsyncIterator[str]:
        async for n in stream:
            yield f"answer {n}"

    answers = asyncio.run(collect(run_stream_out(echo, numbers(4), context)))
    assert answers == ["answer 0", "answer 1", "answer 2", "answer 3"]
