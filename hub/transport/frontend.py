"""The asyncio side of the hub's calls: what the servicers await.

The event loop runs only cheap steps: authentication (a cached key look-up), the open-call
bounds (hub/transport/limits.py), request checks and admission at the least possible size
(``HubService.admit_*``), the scheduler's submit, and the wait for its future. Everything that
blocks or runs tenant text through plugin code (resolving the adapter, preprocessors,
tokenization, loading an adapter from the store, postprocessors, uploads' spills and store
writes, listings, residency and tenant admin) runs on a bounded worker pool, each tenant at most
half of it, so one tenant's slow work cannot take every worker. A queued call is a coroutine
awaiting a ``concurrent.futures.Future`` that the scheduler's worker thread completes
(``asyncio.wrap_future``): queue bounds are limited by memory, not threads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from hub.observe.collectors import CallsCollector
from hub.scheduling.scheduler import FairBatcher
from hub.scheduling.scope import CallScope
from hub.serving.auth import Authenticator, Caller
from hub.serving.service import HubService, Plan, Served, Target
from hub.transport.limits import CallLimits
from hub.transport.rooms import WaitingRooms

T = TypeVar("T")
log = logging.getLogger("hub.transport")

# Revocations made through another server (a cluster's other replica, a second hub on the same
# store) end this server's open calls of the tenant within about this long; its own at once.
REVOCATION_CHECK_S = 1.0
WATCH_SLOT = "(revocations)"  # the watcher's share of the worker pool


class FrontEnd:
    """One per server (or cluster replica): the service, the authenticator, the worker pool and
    the open-call bounds, shared by every servicer."""

    def __init__(self, service: HubService, auth: Authenticator) -> None:
        self.service = service
        self.auth = auth
        s = service.settings
        self.workers = s.max_workers
        self.pool = ThreadPoolExecutor(max_workers=s.max_workers, thread_name_prefix="hub-work")
        self.limits = CallLimits(
            s.max_open_calls, s.max_open_streams, s.tenant_max_open_calls, s.tenant_max_open_streams, self.weight
        )
        self._tenant_slots: dict[str, asyncio.Semaphore] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._watch: concurrent.futures.Future[None] | None = None
        self.rooms = WaitingRooms(s.queue_wait_s, s.queue_wait_max_mb << 20)
        service.batcher.room_listeners.append(self.rooms.room_freed)
        with contextlib.suppress(ValueError):  # a second front end on one service: the first's gauges
            service.telemetry.add_collector(CallsCollector(self._counts))
        service.revocation_listeners.append(self._revoked)

    def _counts(self) -> tuple[int, int, int]:
        return self.limits.open_calls, self.limits.open_streams, self.rooms.waiting

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop the calls run on (revocation and room arrive from other threads)."""
        self.loop = self.rooms.loop = loop
        if self.auth.enabled and self._watch is None:
            self._watch = asyncio.run_coroutine_threadsafe(self._watch_revocations(), loop)

    async def _watch_revocations(self) -> None:
        """Every REVOCATION_CHECK_S, the tenants with calls open here are read from the store
        (on the pool); those whose keys were all revoked elsewhere have their calls ended."""
        while True:
            await asyncio.sleep(REVOCATION_CHECK_S)
            tenants = self.limits.tenants()
            if not tenants:
                continue
            try:
                revoked = await self.blocking(WATCH_SLOT, self.service.revoked_elsewhere, tenants)
            except Exception:
                log.warning("checking open calls' tenants for revocation failed", exc_info=True)
                continue
            for tenant in revoked:
                self.limits.revoke(tenant)

    def weight(self, tenant: str) -> float:
        batcher = self.service.batcher
        return batcher.queue.policy(tenant).weight if isinstance(batcher, FairBatcher) else 1.0

    def _revoked(self, tenant: str) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.limits.revoke, tenant)

    # ---- blocking steps -------------------------------------------------------------------
    async def blocking(self, tenant: str, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the worker pool, in a copy of this call's context (its record and
        span), at most half the pool per tenant."""
        slots = self._tenant_slots.get(tenant)
        if slots is None:
            slots = self._tenant_slots[tenant] = asyncio.Semaphore(max(1, self.workers // 2))
        async with slots:
            ctx = contextvars.copy_context()
            return await asyncio.get_running_loop().run_in_executor(self.pool, functools.partial(ctx.run, fn, *args))

    # ---- inference ------------------------------------------------------------------------
    async def predict(
        self, caller: Caller, target: Target, texts: Sequence[str], scope: CallScope, flow: Flow | None = None
    ) -> Served:
        """A call over its tenant's share waits for room (hub/transport/rooms.py); ``flow``: a
        stream's request, which waits up to its deadline (and says when it was admitted, so the
        stream reads its next request only then)."""
        service, since = self.service, time.monotonic()  # one wait budget for the call's two checks
        size = sum(map(len, texts))
        await self.room(
            caller, lambda count: service.admit_predict(caller, texts, scope, count), scope, flow, since, size
        )
        plan = await self.blocking(caller.namespace(), service.plan_predict, caller, target, texts)
        scores = await self.scheduled(caller, plan, scope, flow, since, size)
        if plan.light:  # decoding scores only (no tenant-text processing): a hop to the pool costs more
            return plan.finish(scores)
        return await self.blocking(caller.namespace(), plan.finish, scores)

    async def fan_out(self, caller: Caller, text: str, targets: Sequence[Target], scope: CallScope) -> list[Served]:
        service, since = self.service, time.monotonic()
        admit = functools.partial(service.admit_fan_out, caller, text, targets, scope)
        await self.room(caller, admit, scope, None, since, len(text))
        plan = await self.blocking(caller.namespace(), service.plan_fan_out, caller, text, targets)
        scores = await self.scheduled(caller, plan, scope, None, since, len(text))
        return await self.blocking(caller.namespace(), plan.finish, scores)

    async def scheduled(
        self,
        caller: Caller,
        plan: Plan,
        scope: CallScope,
        flow: Flow | None,
        since: float | None = None,
        size: int = 0,
    ) -> list[Any]:
        """The plan's scores: submitted to the scheduler, awaited on the loop (at the scope's
        deadline a still-queued request leaves the queue)."""
        if not plan.rows:
            if flow is not None:
                flow.admitted.set()
            return []
        service = self.service
        with service.telemetry.waiting(plan.rows):
            ticket = await self.room(
                caller, lambda count: service.submit(caller, plan, scope, count), scope, flow, since, size
            )
            if flow is not None:
                flow.admitted.set()
            future = asyncio.wrap_future(ticket.future)
            future.add_done_callback(_retrieved)  # a call that went away never awaits its failure
            left = scope.remaining()
            if left is None:
                return await future
            try:
                return await asyncio.wait_for(asyncio.shield(future), max(0.0, left))
            except TimeoutError:
                service.batcher.expire(ticket)  # still queued: it leaves; in flight: its answer comes
                return await future

    async def room(
        self,
        caller: Caller,
        attempt: Callable[[bool], T],
        scope: CallScope,
        flow: Flow | None,
        since: float | None,
        size: int = 0,
    ) -> T:
        """``attempt`` now or after waiting for room; ``since``: when the call's wait budget
        began; ``size``: its request's text, held while it waits (bounded: rooms.py)."""
        return await self.rooms.enter(caller.namespace(), attempt, scope, flow is not None, since, size)

    def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        self.pool.shutdown(wait=False, cancel_futures=True)


def _retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class Flow:
    """A stream request's flow control: ``admitted`` is set once it is queued (or failed)."""

    def __init__(self) -> None:
        self.admitted = asyncio.Event()
