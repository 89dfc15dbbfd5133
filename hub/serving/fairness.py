"""Fair serving as the service sees it: the scheduler built from settings, each tenant's policy
(weight, rate limits) read from its record and kept fresh, operator changes to it, and the
queue status per tenant (for `adapter-hub status` and, later, the metrics)."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapters_registry.tenants import TenantDirectory, TenantRecord
from hub.config.settings import Settings
from hub.errors import DomainError, InvalidArgument
from hub.scheduling.admission import DEFAULT_POLICY, QueueLimits, TenantPolicy
from hub.scheduling.fair import TenantStats
from hub.scheduling.fifo import FifoScheduler
from hub.scheduling.scheduler import FairBatcher, Scheduler
from hub.serving.auth import Caller

log = logging.getLogger("hub.serving.fairness")

POLICY_TTL_S = 5.0  # as the tenant directory's record cache: other servers' changes arrive within it
TYPICAL_ROW_TOKENS = 64  # the derived token bound's floor: one full batch of rows this long
DEFAULT_QUEUE_REQUESTS = 1024  # queued calls wait as coroutines (hub/transport): the token bound is the real one


def queue_limits(settings: Settings) -> QueueLimits:
    return QueueLimits(
        max_requests=settings.queue_max_requests or DEFAULT_QUEUE_REQUESTS,
        max_tokens=settings.queue_max_tokens,
        tenant_max_requests=settings.tenant_queue_max_requests,
        tenant_max_tokens=settings.tenant_queue_max_tokens,
        queue_s=settings.queue_max_s,
        min_tokens=settings.max_batch_size * TYPICAL_ROW_TOKENS,
    )


def build_scheduler(settings: Settings, run: Callable[[list[Any]], list[Any]]) -> Scheduler:
    wait_s = settings.max_batch_wait_ms / 1000
    if settings.scheduler == "fifo":
        return FifoScheduler(run, settings.max_batch_size, wait_s)
    if settings.scheduler != "fair":
        raise InvalidArgument(f"scheduler must be fair or fifo, got {settings.scheduler!r}")
    return FairBatcher(run, settings.max_batch_size, wait_s, limits=queue_limits(settings))


def policy_of(record: TenantRecord | None) -> TenantPolicy:
    """A tenant's policy from its stored record (no record: weight 1, no rate limit)."""
    if record is None:
        return DEFAULT_POLICY
    try:
        return TenantPolicy(record.weight or 1.0, record.rps or None, record.tps or None)
    except InvalidArgument as exc:  # written by hand into the store: serve with the default
        log.warning("tenant %s has an invalid serving policy (%s); using the default", record.name, exc.message)
        return DEFAULT_POLICY


class TenantPolicies:
    """Keeps the scheduler's copy of each tenant's policy fresh: read from the tenant directory
    at most every ``ttl`` seconds per tenant (a dictionary look-up on the request path)."""

    def __init__(
        self,
        tenants: TenantDirectory,
        scheduler: Scheduler,
        ttl: float = POLICY_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tenants = tenants
        self.scheduler = scheduler
        self.ttl = ttl
        self.clock = clock
        self._read: dict[str, float] = {}
        self._lock = threading.Lock()

    def refresh(self, tenant: str) -> None:
        now = self.clock()
        with self._lock:
            last = self._read.get(tenant)
            if last is not None and now - last < self.ttl:
                return
            self._read[tenant] = now
        try:
            record = self.tenants.cached(tenant)
        except DomainError as exc:  # the store is unreachable: keep the policy we have
            log.debug("tenant %s policy not refreshed: %s", tenant, exc.message)
            return
        self.scheduler.set_policy(tenant, policy_of(record))

    def reload(self) -> int:
        """Re-read every known tenant's policy from the store now (SIGHUP), not within the
        TTL; the number of tenants re-read."""
        with self._lock:
            known = list(self._read)
            self._read.clear()
        self.tenants.forget_cached()
        for tenant in known:
            self.refresh(tenant)
        return len(known)

    def changed(self, record: TenantRecord) -> None:
        """The operator changed ``record`` through this server: apply it at once."""
        self.scheduler.set_policy(record.name, policy_of(record))
        with self._lock:
            self._read[record.name] = self.clock()


@dataclass(frozen=True)
class LimitsChange:
    """An operator's change to a tenant's serving policy; None leaves a value as it is."""

    weight: float | None = None
    rps: float | None = None
    tps: float | None = None
    unlimited_rps: bool = False  # remove the requests-per-second limit
    unlimited_tps: bool = False

    def check(self) -> None:
        """INVALID_ARGUMENT for zero, negative, absurd or contradictory values."""
        for name, value, unlimited in (("rps", self.rps, self.unlimited_rps), ("tps", self.tps, self.unlimited_tps)):
            if value is not None and unlimited:
                raise InvalidArgument(f"{name}: give a limit or remove it, not both")
        weight = self.weight
        if weight is not None and (not isinstance(weight, int | float) or math.isnan(weight) or weight <= 0):
            raise InvalidArgument(f"weight must be positive; got {weight!r}")
        TenantPolicy(weight if weight is not None else 1.0, self.rps, self.tps)  # the ranges

    def apply(self, record: TenantRecord) -> None:
        if self.weight is not None:
            record.weight = float(self.weight)
        if self.rps is not None or self.unlimited_rps:
            record.rps = 0.0 if self.unlimited_rps else float(self.rps or 0.0)
        if self.tps is not None or self.unlimited_tps:
            record.tps = 0.0 if self.unlimited_tps else float(self.tps or 0.0)

    @property
    def empty(self) -> bool:
        return self == LimitsChange()


@dataclass(frozen=True)
class QueueStatus:
    """The scheduler's numbers: totals and bounds (operator only), and per-tenant rows."""

    scheduler: str
    tenants: list[TenantStats]
    queued_requests: int = 0
    queued_tokens: int = 0
    max_requests: int = 0
    max_tokens: int = 0
    tenant_max_requests: int = 0
    tenant_max_tokens: int = 0
    tokens_per_s: float = 0.0
    batch_ms: float = 0.0


def queue_status(caller: Caller, scheduler: Scheduler) -> QueueStatus:
    """A tenant sees only its own row (zeros if it has sent nothing); the operator sees all."""
    rows = scheduler.tenant_stats()
    if not isinstance(scheduler, FairBatcher):
        own = [r for r in rows if caller.admin or r.tenant == caller.tenant]
        return QueueStatus("fifo", own)
    if not caller.admin:
        own = [r for r in rows if r.tenant == caller.namespace()]
        policy = scheduler.queue.policy(caller.tenant)
        return QueueStatus("fair", own or [TenantStats(caller.tenant, policy.weight, 0, 0, 0, 0, {})])
    return QueueStatus("fair", rows, **scheduler.totals())
