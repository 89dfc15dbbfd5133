"""Per-tenant bounds on open calls and streams, and the book of open calls that revocation and
shutdown act on. Runs on the event loop only (no locks).

A tenant may hold its weighted share of the total: ``total * weight / (sum of the weights of
the tenants holding calls, itself included)``, at least a floor (so a tenant arriving beside a
flood always gets in), and at most the ``tenant_max`` setting when it is set. Beyond that the
call is refused on arrival, before any work, with RESOURCE_EXHAUSTED and a retry hint. The
total itself is a bound only for tenants above their floor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from hub.errors import Draining, Overloaded, PermissionDenied

MIN_CALLS = 8  # a tenant's floor of open calls, whatever the others hold
MIN_STREAMS = 4
RETRY_MS = 200  # open calls end within a batch or two: about when a retry may fit
OPEN_CALLS = "tenant_open_calls"
OPEN_STREAMS = "tenant_open_streams"


@dataclass(eq=False)
class OpenCall:
    """One open call: its task (cancelled to end it) and why the server ended it, if it did."""

    tenant: str
    stream: bool
    task: asyncio.Task | None
    ended_by: Exception | None = None

    def end(self, error: Exception) -> None:
        """End the call from outside its task: its behaviour sees CancelledError, and the call
        gets ``error``'s status (``closing`` in hub/transport/base.py)."""
        if self.ended_by is None and self.task is not None and not self.task.done():
            self.ended_by = error
            self.task.cancel()


@dataclass
class _Count:
    calls: set[OpenCall] = field(default_factory=set)
    streams: int = 0


class CallLimits:
    def __init__(
        self,
        max_calls: int,
        max_streams: int,
        tenant_max_calls: int = 0,
        tenant_max_streams: int = 0,
        weight: Callable[[str], float] = lambda _: 1.0,
    ) -> None:
        self.max_calls, self.max_streams = max_calls, max_streams
        self.tenant_max_calls, self.tenant_max_streams = tenant_max_calls, tenant_max_streams
        self.weight = weight
        self.draining = False
        self._open: dict[str, _Count] = {}
        self._calls = 0
        self._streams = 0

    @property
    def open_calls(self) -> int:
        return self._calls

    @property
    def open_streams(self) -> int:
        return self._streams

    def held(self, tenant: str) -> tuple[int, int]:
        count = self._open.get(tenant)
        return (len(count.calls), count.streams) if count is not None else (0, 0)

    def share(self, tenant: str, total: int, floor: int, cap: int) -> int:
        """How many open calls (or streams, with their total) ``tenant`` may hold now."""
        own = self.weight(tenant)
        others = sum(self.weight(t) for t in self._open if t != tenant)
        share = max(floor, int(total * own / (own + others)))
        return min(share, cap) if cap else share

    def _check(self, tenant: str, stream: bool) -> None:
        if self.draining:
            raise Draining()
        calls, streams = self.held(tenant)
        limit = self.share(tenant, self.max_calls, MIN_CALLS, self.tenant_max_calls)
        if calls >= limit or (calls >= MIN_CALLS and self._calls >= self.max_calls):
            raise Overloaded(
                f"too many open calls: this tenant holds {calls} (its share is {limit}, "
                f"max-open-calls {self.max_calls} in total); wait for some to finish",
                OPEN_CALLS,
                RETRY_MS,
            )
        if not stream:
            return
        limit = self.share(tenant, self.max_streams, MIN_STREAMS, self.tenant_max_streams)
        if streams >= limit or (streams >= MIN_STREAMS and self._streams >= self.max_streams):
            raise Overloaded(
                f"too many open streams: this tenant holds {streams} (its share is {limit}, "
                f"max-open-streams {self.max_streams} in total); close idle streams or wait",
                OPEN_STREAMS,
                RETRY_MS,
            )

    @contextmanager
    def opened(self, tenant: str, stream: bool) -> Iterator[OpenCall]:
        """Count one call of ``tenant`` while the block runs, or raise the refusal."""
        self._check(tenant, stream)
        call = OpenCall(tenant, stream, asyncio.current_task())
        count = self._open.setdefault(tenant, _Count())
        count.calls.add(call)
        count.streams += stream
        self._calls += 1
        self._streams += stream
        try:
            yield call
        finally:
            count.calls.discard(call)
            count.streams -= stream
            self._calls -= 1
            self._streams -= stream
            if not count.calls:
                self._open.pop(tenant, None)

    def revoke(self, tenant: str) -> int:
        """End every open call of ``tenant`` (its keys were revoked); how many were open."""
        calls = list(self._open.get(tenant, _Count()).calls)
        for call in calls:
            call.end(PermissionDenied("this tenant's API keys were revoked; the call was ended"))
        return len(calls)

    def tenants(self) -> list[str]:
        """The tenants holding open calls now (not the operator's, which has none)."""
        return [tenant for tenant in self._open if tenant]

    def streams_of_all(self) -> list[OpenCall]:
        return [call for count in self._open.values() for call in count.calls if call.stream]
