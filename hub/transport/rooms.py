"""Waiting rooms: a call over its tenant's queue share waits for room instead of being refused.

Why. Refusing at once is polite to clients that honour the retry hint and ruinous with clients
that resend the moment they are refused: on 2 cores, 256 such clients sent about 1,500 calls a
second, all refused, and the refusals took the CPU the engine needed (the flood got 0.14 of its
polite rate, the quiet tenant beside it waited 9 B; with 1 s deadlines refused "at once", 0.01 of
the rate without deadlines was answered; BENCHMARKS.md, "Waiting rooms"). A waiting call is a
coroutine: it costs memory, no thread and no CPU, and a client whose call waits sends nothing
else. So a call refused for room (its tenant's share of the queue, the queue's total, the
tenant's rates, or a deadline the queue cannot meet now) waits here, first in first out per
tenant, and is admitted when room appears; it is refused only when its wait ends: after
``queue_wait_s`` (RESOURCE_EXHAUSTED, with the hint of that moment) or at its deadline
(DEADLINE_EXCEEDED). The tenant's open-call limit (hub/transport/limits.py) bounds how many wait.

How. The scheduler calls ``room_freed`` (from its thread) whenever work leaves the queue; the
head of each tenant's room then tries again, and each admitted call wakes the next, so one batch
admits as many waiting calls as fit and no more tries than that. Only a room's head also retries
on a short timer (``BACKSTOP_S``: a rate limit's bucket refills with time, not with batches); the
others sleep until woken or until their wait ends. Fairness between tenants stays the fair
queue's: a room only holds a tenant's own calls until its share has room.

Attempts while waiting are not counted as refusals; a call's one refusal, when it gives up, is
(``attempt(True)``: the queue's own check, counted, or admitted if room appeared at that moment).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import TypeVar

from hub.errors import DeadlineExceeded, Overloaded
from hub.scheduling.admission import waits_for_room
from hub.scheduling.scope import CallScope

T = TypeVar("T")

BACKSTOP_S = 0.25  # a room's head retries at least this often (rates refill with time)


class _Waiter:
    __slots__ = ("arrived", "size", "woken")

    def __init__(self, size: int, arrived: float) -> None:
        self.size = size
        self.arrived = arrived
        self.woken = asyncio.Event()


class WaitingRooms:
    """One FIFO room per tenant, on one event loop. ``wait_s``: the longest a unary call waits
    (0: refused at once, the behaviour before rooms); streams wait up to their deadline."""

    def __init__(self, wait_s: float, max_bytes: int = 256 << 20) -> None:
        self.wait_s = wait_s
        self.max_bytes = max_bytes  # request text the waiting calls may hold; a tenant, half of it
        self.held = 0
        self._held: dict[str, int] = {}
        self._rooms: dict[str, deque[_Waiter]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._wake_pending = False

    @property
    def waiting(self) -> int:
        return sum(len(room) for room in self._rooms.values())

    async def enter(
        self,
        tenant: str,
        attempt: Callable[[bool], T],
        scope: CallScope,
        stream: bool = False,
        since: float | None = None,
        size: int = 0,
    ) -> T:
        """``attempt(count)`` now, or after waiting for room. ``attempt`` raises the queue's
        refusal; ``count``: whether a refusal is counted (only the last attempt's is).
        ``since``: when the call's wait budget began (a call that waits twice, before and after
        tokenizing, waits ``wait_s`` in all). ``size``: the request's text (characters), held in
        memory while it waits: beyond ``max_bytes`` in all (a tenant: half) it is refused at once,
        so a tenant's waiting calls cannot hold more memory than that (their messages may be MiBs)."""
        budget = float("inf") if stream else self.wait_s
        if budget <= 0:
            return attempt(True)
        try:
            return attempt(False)
        except (Overloaded, DeadlineExceeded) as error:
            if not waits_for_room(error) or scope.cancelled or not self._fits(tenant, size):
                return attempt(True)  # counted; refused again (or admitted, if room just appeared)
        give_up_at = (time.monotonic() if since is None else since) + budget
        left = scope.remaining()
        if left is not None:
            give_up_at = min(give_up_at, time.monotonic() + left)
        arrived = time.monotonic() if since is None else since
        return await self._wait(tenant, attempt, scope, give_up_at, _Waiter(size, arrived))

    def _fits(self, tenant: str, size: int) -> bool:
        own = self._held.get(tenant, 0)
        return self.held + size <= self.max_bytes and own + size <= self.max_bytes // 2

    async def _wait(
        self, tenant: str, attempt: Callable[[bool], T], scope: CallScope, give_up_at: float, waiter: _Waiter
    ) -> T:
        room = self._rooms.setdefault(tenant, deque())
        place = len(room)  # in arrival order: a call waiting again after tokenizing keeps its turn
        while place and room[place - 1].arrived > waiter.arrived:
            place -= 1
        room.insert(place, waiter)
        size = waiter.size
        self.held += size
        self._held[tenant] = self._held.get(tenant, 0) + size
        try:
            while True:
                if not await self._turn(room, waiter, give_up_at) or scope.cancelled:
                    return attempt(True)
                try:
                    admitted = attempt(False)
                except (Overloaded, DeadlineExceeded) as error:
                    if not waits_for_room(error):
                        return attempt(True)
                    continue  # still no room: keep the place
                self._leave(tenant, room, waiter, admitted=True)
                return admitted
        finally:
            self._leave(tenant, room, waiter, admitted=False)

    async def _turn(self, room: deque[_Waiter], waiter: _Waiter, give_up_at: float) -> bool:
        """Until woken, or (the head only) the backstop; False when the wait is over."""
        while True:
            left = give_up_at - time.monotonic()
            if left <= 0:
                return False
            head = bool(room) and room[0] is waiter
            try:
                await asyncio.wait_for(waiter.woken.wait(), min(left, BACKSTOP_S) if head else left)
            except TimeoutError:
                if head:
                    return True
                continue  # may have become the head meanwhile
            waiter.woken.clear()
            return True

    def _leave(self, tenant: str, room: deque[_Waiter], waiter: _Waiter, admitted: bool) -> None:
        if waiter not in room:
            return
        was_head = room[0] is waiter
        room.remove(waiter)
        self.held -= waiter.size
        left = self._held.pop(tenant, 0) - waiter.size
        if left > 0:
            self._held[tenant] = left
        if room and (admitted or was_head):
            room[0].woken.set()  # admitted: there may be room for the next; or the head passes on
        if not room:
            self._rooms.pop(tenant, None)

    # ---- from the scheduler's thread ----------------------------------------------------
    def room_freed(self) -> None:
        """Work left the queue (thread-safe, coalesced: at most one wake-up pending)."""
        if self.loop is None or self._wake_pending or not self._rooms:
            return
        self._wake_pending = True
        try:
            self.loop.call_soon_threadsafe(self._wake_heads)
        except RuntimeError:  # the loop has closed (shutdown)
            self._wake_pending = False

    def _wake_heads(self) -> None:
        self._wake_pending = False
        for room in self._rooms.values():
            if room:
                room[0].woken.set()
