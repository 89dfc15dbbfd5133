"""The scheduler between request handlers and the engine (torch-free): one worker thread turns
the fair queue (hub/scheduling/fair.py) into engine batches.

- Callers on any thread ``run`` one request's rows with their tenant, per-row costs (input
  tokens) and CallScope (deadline, cancellation) and block until its results come back, in
  the caller's row order; admission refusals are raised at once, before anything is queued.
- A batch closes when it holds ``max_batch_size`` rows, or when its oldest row has waited
  ``max_wait_s`` (while the engine is busy the queue fills, so batches grow with load).
- Before each batch, requests whose deadline would pass before the batch could finish leave
  the queue (DEADLINE_EXCEEDED); a cancelled call's request leaves at once (CANCELLED); a
  caller whose deadline passes while it waits takes its request out itself. Their rows never
  reach the engine.
- When a batch raises, each request in it is retried alone: only the request at fault fails.
- ``drain`` stops intake (new requests: UNAVAILABLE) and waits for the admitted work;
  ``close`` drains (or fails what is queued) and stops the worker.

``FifoScheduler`` (hub/scheduling/fifo.py) puts the first-in first-out batcher behind the same
interface: ADAPTER_HUB_SCHEDULER=fifo, and the before/after baseline of the benchmark.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from hub.errors import Cancelled, DeadlineExceeded, Draining
from hub.scheduling.admission import CANCELLED, DRAINING, QueueLimits, TenantPolicy
from hub.scheduling.batching import BatchStats
from hub.scheduling.fair import EXPIRED, FairQueue, TenantStats, Ticket
from hub.scheduling.scope import CallScope
from hub.scheduling.tickets import Headroom

log = logging.getLogger("hub.scheduling.scheduler")

DEFAULT_TENANT = "local"


class Scheduler(Protocol):
    stats: BatchStats

    def submit(
        self,
        rows: Sequence[Any],
        costs: Sequence[int] | None = None,
        tenant: str = DEFAULT_TENANT,
        scope: CallScope | None = None,
        count: bool = True,
    ) -> Ticket: ...

    def wait(self, ticket: Ticket, scope: CallScope | None = None) -> list[Any]: ...

    def expire(self, ticket: Ticket) -> None: ...

    def run(
        self,
        rows: Sequence[Any],
        costs: Sequence[int] | None = None,
        tenant: str = DEFAULT_TENANT,
        scope: CallScope | None = None,
    ) -> list[Any]: ...

    def set_policy(self, tenant: str, policy: TenantPolicy) -> None: ...

    def precheck(self, tenant: str, tokens: int, scope: CallScope | None = None, count: bool = True) -> None: ...

    room_listeners: list[Callable[[], None]]  # called (scheduler thread) when work leaves the queue

    def tenant_stats(self) -> list[TenantStats]: ...

    def headroom(self, tenant: str) -> Headroom | None: ...  # None: no limits to report

    @property
    def queued(self) -> int: ...  # rows waiting (the metrics' adapter_hub_queued_rows)

    def drain(self, timeout: float | None = None) -> bool: ...

    def close(self, drain: bool = True, timeout: float | None = None) -> None: ...


class FairBatcher:
    """Fair, deadline-aware, bounded batching (see the module docstring)."""

    def __init__(
        self,
        run: Callable[[list[Any]], list[Any]],
        max_batch_size: int = 32,
        max_wait_s: float = 0.002,
        limits: QueueLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        name: str = "fair-batcher",
    ) -> None:
        self._run = run
        self.max_batch_size = max_batch_size
        self.max_wait_s = max(0.0, max_wait_s)
        self.queue = FairQueue(max_batch_size, limits)
        self.clock = clock
        self._name = name
        self._cond = threading.Condition()
        self._in_flight = 0  # batches being run
        self._stopped = False
        self._thread: threading.Thread | None = None
        self.stats = BatchStats()
        self.room_listeners: list[Callable[[], None]] = []

    # ---- callers ------------------------------------------------------------------------
    def submit(
        self,
        rows: Sequence[Any],
        costs: Sequence[int] | None = None,
        tenant: str = DEFAULT_TENANT,
        scope: CallScope | None = None,
        count: bool = True,
    ) -> Ticket:
        """Admit one request (or raise why not); its ticket's future gets the results.
        ``count`` False: a refusal for lack of room is not counted (the caller waits it out)."""
        ticket = Ticket(tenant, rows, list(costs) if costs is not None else [1] * len(rows))
        if not rows:
            ticket.future.set_result([])
            return ticket
        if scope is not None:
            if scope.cancelled:
                self._refuse_cancelled(tenant)
            ticket.deadline = scope.deadline
        with self._cond:
            self.queue.admit(ticket, self.clock(), count)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify_all()
        if scope is not None:
            scope.on_cancel_until_done(ticket.future, functools.partial(self._withdraw, ticket, CANCELLED))
        return ticket

    def run(
        self,
        rows: Sequence[Any],
        costs: Sequence[int] | None = None,
        tenant: str = DEFAULT_TENANT,
        scope: CallScope | None = None,
    ) -> list[Any]:
        """Submit and wait: the results for ``rows`` in order, or the request's error."""
        return self.wait(self.submit(rows, costs, tenant, scope), scope)

    def wait(self, ticket: Ticket, scope: CallScope | None = None) -> list[Any]:
        """Block this thread for the ticket's results (the asyncio front end awaits
        ``ticket.future`` instead, and calls ``expire`` at the scope's deadline)."""
        left = scope.remaining() if scope is not None else None
        try:
            return ticket.future.result(timeout=None if left is None else max(0.0, left))
        except TimeoutError:
            self.expire(ticket)
            return ticket.future.result()

    def expire(self, ticket: Ticket) -> None:
        """The ticket's deadline passed: still queued, it leaves (DEADLINE_EXCEEDED); in flight,
        its results still come."""
        if not ticket.future.done():
            self._withdraw(ticket, EXPIRED)

    def precheck(self, tenant: str, tokens: int, scope: CallScope | None = None, count: bool = True) -> None:
        """Raise now if a request of at least ``tokens`` would be refused (before tokenizing it)."""
        if scope is not None and scope.cancelled:
            self._refuse_cancelled(tenant)
        with self._cond:
            self.queue.precheck(tenant, tokens, scope.deadline if scope is not None else None, self.clock(), count)

    def _refuse_cancelled(self, tenant: str) -> None:
        with self._cond:  # counted like the queue's own refusals (adapter_hub_rejected_total)
            self.queue.count_refusal(tenant, CANCELLED, self.clock())
        raise Cancelled("the call was cancelled before its request was queued")

    def _withdraw(self, ticket: Ticket, reason: str) -> None:
        with self._cond:
            removed = self.queue.withdraw(ticket, reason)
            self._cond.notify_all()
        if removed:
            _fail(ticket, _withdrawn_error(reason))
            self._room_freed()

    def _room_freed(self) -> None:
        for listener in self.room_listeners:
            listener()

    def set_policy(self, tenant: str, policy: TenantPolicy) -> None:
        with self._cond:
            self.queue.set_policy(tenant, policy, self.clock())

    def tenant_stats(self) -> list[TenantStats]:
        with self._cond:
            return self.queue.stats()

    def headroom(self, tenant: str) -> Headroom | None:
        with self._cond:
            return self.queue.headroom(tenant, self.clock())

    def totals(self) -> dict[str, Any]:
        """Queued work in total, the bounds in force and the measured engine speed."""
        with self._cond:
            queue, speed = self.queue, self.queue.throughput
            bounds = queue.limits.bounds(speed.tokens_per_s)
            return {
                "queued_requests": queue.queued_requests,
                "queued_tokens": queue.queued_tokens,
                "max_requests": bounds[0],
                "max_tokens": bounds[1],
                "tenant_max_requests": bounds[2],
                "tenant_max_tokens": bounds[3],
                "tokens_per_s": speed.tokens_per_s or 0.0,
                "batch_ms": 1000 * (speed.batch_s or 0.0),
            }

    @property
    def queued(self) -> int:
        with self._cond:
            return self.queue.queued_rows

    # ---- shutdown -----------------------------------------------------------------------
    def drain(self, timeout: float | None = None) -> bool:
        """Stop admitting (new requests get UNAVAILABLE) and wait until everything admitted
        has been answered; False if ``timeout`` passed first."""
        end = None if timeout is None else self.clock() + timeout
        with self._cond:
            self.queue.closed = True
            self._cond.notify_all()
        self._room_freed()  # calls waiting for room learn at once that none will come (UNAVAILABLE)
        with self._cond:
            while self.queue.queued_rows or self._in_flight:
                left = None if end is None else end - self.clock()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self, drain: bool = True, timeout: float | None = None) -> None:
        """Stop intake; finish what is queued (``drain``, up to ``timeout``) or fail it with
        UNAVAILABLE; then stop the worker."""
        if drain:
            self.drain(timeout)
        with self._cond:
            self.queue.closed = True
            self._stopped = True
            leftover = [t for t in self.queue.queued_tickets() if self.queue.withdraw(t, DRAINING)]
            self._cond.notify_all()
            thread = self._thread
        for ticket in leftover:
            _fail(ticket, Draining())
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # ---- worker -------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self.queue.queued_rows and not self._stopped:
                    self._cond.wait()
                if self._stopped and not self.queue.queued_rows:
                    return
                self._gather()
                now = self.clock()
                expired = self.queue.expire(now)
                batch = self.queue.take(now, late=expired)
                tokens = sum(ticket.costs[i] for ticket, i in batch)
                self.queue.throughput.started(tokens, now)
                self._in_flight += 1
            for ticket in expired:
                _fail(ticket, _withdrawn_error(EXPIRED))
            if batch or expired:
                self._room_freed()  # waiting calls may fit now (hub/transport/rooms.py)
            started = time.perf_counter()
            try:
                self._execute(batch)
            finally:
                elapsed = time.perf_counter() - started
                with self._cond:
                    self._in_flight -= 1
                    if batch:
                        self.queue.throughput.observe(len(batch), tokens, elapsed)
                    self._cond.notify_all()
            del batch, expired  # an idle worker keeping its last batch kept its adapters "draining"

    def _gather(self) -> None:
        """Wait (lock held) until a full batch is queued or the oldest row has waited enough."""
        oldest = self.queue.oldest()
        if oldest is None:
            return
        until = oldest + self.max_wait_s
        while self.queue.queued_rows < self.max_batch_size and not self.queue.closed:
            left = until - self.clock()
            if left <= 0 or not self.queue.queued_rows:
                return
            self._cond.wait(left)

    def _execute(self, batch: list[tuple[Ticket, int]]) -> None:
        if not batch:
            return
        self.stats.batches += 1
        self.stats.rows += len(batch)
        self.stats.max_rows = max(self.stats.max_rows, len(batch))
        try:
            results = self._call([ticket.rows[i] for ticket, i in batch])
        except Exception as exc:  # noqa: BLE001 - isolate the request at fault, below
            self._isolate(batch, exc)
            return
        _deliver(batch, results)

    def _call(self, rows: list[Any]) -> list[Any]:
        results = self._run(rows)
        if len(results) != len(rows):
            raise RuntimeError(f"batch of {len(rows)} rows returned {len(results)} results")
        return results

    def _isolate(self, batch: list[tuple[Ticket, int]], error: Exception) -> None:
        """Retry each request of a failed batch alone: only the failing ones get an error."""
        by_ticket: dict[int, list[tuple[Ticket, int]]] = {}
        for item in batch:
            by_ticket.setdefault(id(item[0]), []).append(item)
        if len(by_ticket) == 1:
            _fail(batch[0][0], error)
            return
        self.stats.isolated += 1
        log.warning("a batch of %d requests failed (%s); retrying them one by one", len(by_ticket), error)
        for items in by_ticket.values():
            try:
                _deliver(items, self._call([ticket.rows[i] for ticket, i in items]))
            except Exception as exc:  # noqa: BLE001 - this request's own error
                _fail(items[0][0], exc)


def _deliver(items: list[tuple[Ticket, int]], results: Sequence[Any]) -> None:
    for (ticket, index), result in zip(items, results, strict=True):
        if ticket.future.done():
            continue
        ticket.results[index] = result
        ticket.unanswered -= 1
        if ticket.unanswered == 0:
            ticket.future.set_result(ticket.results)


def _fail(ticket: Ticket, error: BaseException) -> None:
    if not ticket.future.done():
        ticket.future.set_exception(error)


def _withdrawn_error(reason: str) -> Exception:
    if reason == CANCELLED:
        return Cancelled("the call was cancelled; its queued request was dropped")
    if reason == EXPIRED:
        return DeadlineExceeded("the deadline passed (or would have before an answer) while the request was queued")
    return Draining()
