"""WaitingRooms (hub/transport/rooms.py) against a small stand-in for the queue: a tenant's
calls over its share wait in arrival order, are admitted as room appears, and are refused
once (counted) when their wait or deadline ends; cancelled waiters leave no trace."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from hub.errors import DeadlineExceeded, InvalidArgument, Overloaded
from hub.scheduling.admission import TENANT_REQUESTS
from hub.scheduling.scope import CallScope
from hub.transport.rooms import WaitingRooms


class Queue:
    """``slots`` places; each attempt takes one or raises the queue's refusal."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.admitted: list[str] = []
        self.counted: list[str] = []

    def attempt(self, name: str) -> Any:
        def attempt(count: bool) -> str:
            if self.slots <= 0:
                if count:
                    self.counted.append(name)
                raise Overloaded("the tenant's share is full", TENANT_REQUESTS, 50)
            self.slots -= 1
            self.admitted.append(name)
            return name

        return attempt


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_waiting_calls_are_admitted_in_arrival_order_as_room_appears() -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        rooms, queue = WaitingRooms(wait_s=10), Queue(slots=1)
        rooms.loop = asyncio.get_running_loop()
        calls = [asyncio.create_task(rooms.enter("t", queue.attempt(f"c{i}"), CallScope())) for i in range(4)]
        await asyncio.sleep(0.05)
        assert queue.admitted == ["c0"] and rooms.waiting == 3
        queue.slots += 2  # a batch left the queue: room for two
        rooms.room_freed()
        await asyncio.sleep(0.05)
        assert queue.admitted == ["c0", "c1", "c2"] and rooms.waiting == 1
        queue.slots += 1
        rooms.room_freed()
        return await asyncio.gather(*calls), queue.counted

    answered, counted = run(scenario())
    assert answered == ["c0", "c1", "c2", "c3"] and counted == []


def test_a_wait_that_ends_is_one_counted_refusal_and_others_keep_their_place() -> None:
    async def scenario() -> None:
        rooms, queue = WaitingRooms(wait_s=0.2), Queue(slots=0)
        rooms.loop = asyncio.get_running_loop()
        started = time.monotonic()
        with pytest.raises(Overloaded):
            await rooms.enter("t", queue.attempt("gives-up"), CallScope())
        assert time.monotonic() - started >= 0.2
        assert queue.counted == ["gives-up"] and rooms.waiting == 0

    run(scenario())


def test_the_deadline_ends_the_wait_and_a_cancelled_waiter_leaves_the_room() -> None:
    async def scenario() -> None:
        rooms, queue = WaitingRooms(wait_s=10), Queue(slots=0)
        rooms.loop = asyncio.get_running_loop()
        with pytest.raises(Overloaded):  # the queue's own refusal, at the deadline
            await rooms.enter("t", queue.attempt("short"), CallScope(deadline=time.monotonic() + 0.1))
        gone = asyncio.create_task(rooms.enter("t", queue.attempt("gone"), CallScope()))
        await asyncio.sleep(0.05)
        assert rooms.waiting == 1
        gone.cancel()
        await asyncio.gather(gone, return_exceptions=True)
        assert rooms.waiting == 0 and queue.counted == ["short"]

    run(scenario())


def test_zero_wait_refuses_at_once_and_other_errors_are_never_waited_out() -> None:
    async def scenario() -> None:
        rooms = WaitingRooms(wait_s=0)
        with pytest.raises(Overloaded):
            await rooms.enter("t", Queue(slots=0).attempt("at-once"), CallScope())

        def invalid(count: bool) -> None:
            raise InvalidArgument("bad request")

        def passed(count: bool) -> None:
            raise DeadlineExceeded("the call's deadline passed")  # no hint: nothing to wait for

        waiting = WaitingRooms(wait_s=10)
        for attempt in (invalid, passed):
            started = time.monotonic()
            with pytest.raises((InvalidArgument, DeadlineExceeded)):
                await waiting.enter("t", attempt, CallScope())
            assert time.monotonic() - started < 5  # refused on arrival, not after the 10 s wait
        assert waiting.waiting == 0

    run(scenario())


def test_a_streams_request_waits_beyond_the_unary_wait() -> None:
    async def scenario() -> str:
        rooms, queue = WaitingRooms(wait_s=0.05), Queue(slots=0)
        rooms.loop = asyncio.get_running_loop()
        call = asyncio.create_task(rooms.enter("t", queue.attempt("streamed"), CallScope(), stream=True))
        await asyncio.sleep(0.3)  # past the unary wait: still waiting
        assert not call.done()
        queue.slots = 1
        rooms.room_freed()
        return await call

    assert run(scenario()) == "streamed"


def test_a_call_that_waits_twice_has_one_wait_budget() -> None:
    async def scenario() -> None:
        rooms, queue = WaitingRooms(wait_s=0.3), Queue(slots=0)
        rooms.loop = asyncio.get_running_loop()
        since = time.monotonic() - 0.25  # the call already waited 0.25 s before tokenizing
        started = time.monotonic()
        with pytest.raises(Overloaded):
            await rooms.enter("t", queue.attempt("second-check"), CallScope(), since=since)
        assert time.monotonic() - started < 0.25  # what was left of the 0.3 s, not 0.3 s more

    run(scenario())


def test_waiting_calls_hold_bounded_memory_a_tenant_at_most_half() -> None:
    """A waiting call keeps its request (up to a message's MiBs): past the rooms' bytes, or a
    tenant's half of them, a call is refused at once instead of waiting."""

    async def scenario() -> None:
        rooms, queue = WaitingRooms(wait_s=10, max_bytes=1000), Queue(slots=0)
        rooms.loop = asyncio.get_running_loop()
        big = asyncio.create_task(rooms.enter("hog", queue.attempt("big"), CallScope(), size=450))
        await asyncio.sleep(0.05)
        assert rooms.waiting == 1 and rooms.held == 450
        started = time.monotonic()
        with pytest.raises(Overloaded):  # 450 + 100 > the hog's half (500): refused at once
            await rooms.enter("hog", queue.attempt("more"), CallScope(), size=100)
        assert time.monotonic() - started < 5 and queue.counted == ["more"]
        other = asyncio.create_task(rooms.enter("other", queue.attempt("other"), CallScope(), size=400))
        await asyncio.sleep(0.05)
        assert rooms.waiting == 2 and rooms.held == 850  # the other tenant still waits
        with pytest.raises(Overloaded):  # 850 + 200 > 1000 in all
            await rooms.enter("third", queue.attempt("third"), CallScope(), size=200)
        queue.slots = 2
        rooms.room_freed()
        assert await asyncio.gather(big, other) == ["big", "other"]
        assert rooms.held == 0 and rooms.waiting == 0

    run(scenario())


def test_a_call_waiting_again_after_tokenizing_keeps_its_turn() -> None:
    async def scenario() -> list[str]:
        rooms, queue = WaitingRooms(wait_s=10), Queue(slots=0)
        rooms.loop = asyncio.get_running_loop()
        now = time.monotonic()
        late = asyncio.create_task(rooms.enter("t", queue.attempt("late"), CallScope(), since=now))
        await asyncio.sleep(0.02)
        early = asyncio.create_task(rooms.enter("t", queue.attempt("early"), CallScope(), since=now - 1))
        await asyncio.sleep(0.02)
        queue.slots = 1
        rooms.room_freed()
        await asyncio.sleep(0.05)
        queue.slots = 1
        rooms.room_freed()
        await asyncio.gather(late, early)
        return queue.admitted

    assert run(scenario()) == ["early", "late"]  # it arrived first, so it goes before
