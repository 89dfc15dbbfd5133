"""The first-in first-out batcher (hub/scheduling/batching.py) behind the scheduler's interface
(hub/scheduling/scheduler.py ``Scheduler``): ADAPTER_HUB_SCHEDULER=fifo, and the baseline the
fairness benchmark compares with. No tenants, deadlines or bounds: nothing is ever refused."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hub.scheduling.admission import TenantPolicy
from hub.scheduling.batching import DynamicBatcher
from hub.scheduling.fair import TenantStats, Ticket
from hub.scheduling.scheduler import DEFAULT_TENANT
from hub.scheduling.scope import CallScope
from hub.scheduling.tickets import Headroom


class FifoScheduler:
    """Today's FIFO batcher behind the Scheduler interface: no tenants, deadlines or bounds."""

    def __init__(self, run: Callable[[list[Any]], list[Any]], max_batch_size: int = 32, max_wait_s: float = 0.002):
        self.batcher: DynamicBatcher[Any, Any] = DynamicBatcher(run, max_batch_size, max_wait_s)
        self.stats = self.batcher.stats
        self.room_listeners: list[Callable[[], None]] = []  # never called: nothing is refused

    def run(
        self,
        rows: Sequence[Any],
        costs: Sequence[int] | None = None,
        tenant: str = DEFAULT_TENANT,
        scope: CallScope | None = None,
    ) -> list[Any]:
        return self.batcher.run(rows)

    def submit(
        self,
        rows: Sequence[Any],
        costs: Sequence[int] | None = None,
        tenant: str = DEFAULT_TENANT,
        scope: CallScope | None = None,
        count: bool = True,
    ) -> Ticket:
        costs = list(costs) if costs is not None else [1] * len(rows)
        return Ticket(tenant, rows, costs, future=self.batcher.submit(rows))

    def wait(self, ticket: Ticket, scope: CallScope | None = None) -> list[Any]:
        return ticket.future.result()

    def expire(self, ticket: Ticket) -> None:
        return None  # no deadlines in the FIFO batcher

    def set_policy(self, tenant: str, policy: TenantPolicy) -> None:
        return None

    def precheck(self, tenant: str, tokens: int, scope: CallScope | None = None, count: bool = True) -> None:
        return None

    @property
    def queued(self) -> int:
        return self.batcher.queued

    def tenant_stats(self) -> list[TenantStats]:
        return []

    def headroom(self, tenant: str) -> Headroom | None:
        return None

    def drain(self, timeout: float | None = None) -> bool:
        self.batcher.close(drain=True, timeout=timeout)
        return True

    def close(self, drain: bool = True, timeout: float | None = None) -> None:
        self.batcher.close(drain=drain, timeout=timeout)
