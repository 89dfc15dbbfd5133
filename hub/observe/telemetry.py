"""One server's Prometheus metrics (``adapter_hub_*``), built per service: no global registry.

Events the hub does not otherwise count are observed where they happen: each call's method,
status and duration (the transport's observer), each request's wait in the queue, each engine
forward's duration, rows and distinct adapters (around the batcher's call of the runtime), and
refusals the scheduler never sees (auth, storage quota, tier capacity). Everything the hub
keeps anyway (tier counters, load latencies, breaker, queue) is read at scrape time by the
collectors in hub/observe/collectors.py. ``serve_http`` exposes /metrics, /livez and /readyz
(``--metrics-port``, hub/observe/probes.py).

Per tenant (under the bounded labels of TenantLabels, ``--metrics-max-tenants``): each call's
or stream request's latency, and its errors by status code, so an operator sees one tenant's
slow or failing calls without a series per tenant beyond the bound.

Every family is documented in README.md's Metrics section (tests/unit/test_telemetry.py).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from hub.observe import request_log as rl
from hub.observe import tracing
from hub.observe.collectors import ResidencyCollector, SchedulerCollector, ServingCollector, TenantLabels, counter
from hub.observe.health import HealthState
from hub.observe.probes import ProbeServer

if TYPE_CHECKING:
    from hub.config.settings import Settings
    from hub.residency import Residency
    from hub.scheduling.scheduler import Scheduler

log = logging.getLogger("hub.observe.telemetry")

LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
QUEUE_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
FORWARD_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
ADAPTER_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64)
REASONS = (rl.RATE, rl.QUEUE, rl.DEADLINE, rl.QUOTA, rl.AUTH, rl.CAPACITY, rl.DRAINING, rl.CANCELLED)
# The fair scheduler counts its own refusals per tenant (read at scrape time); these it never sees.
COUNTED_HERE = frozenset({rl.QUOTA, rl.AUTH, rl.CAPACITY})
UNAUTHENTICATED = "-"  # the tenant label of calls refused before a caller was known
OPERATOR = "admin"  # the tenant label of the operator's calls (the admin key)
_MAX_PENDING = 1 << 16  # dispatch records kept for requests still waiting (a safety bound)


def row_buckets(max_batch_size: int) -> tuple[int, ...]:
    """Powers of two up to the batch size, and the batch size: a full batch is its own bucket."""
    bounds, size = [], 1
    while size < max_batch_size:
        bounds.append(size)
        size *= 2
    return (*bounds, max_batch_size)


@dataclass(frozen=True)
class _Dispatch:
    start_ns: int
    end_ns: int
    rows: int
    adapters: int


MetricsServer = ProbeServer  # the metrics port: /metrics, /livez, /readyz


class Telemetry:
    def __init__(self, max_batch_size: int = 32, max_tenants: int = 50) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "adapter_hub_requests", "calls answered, by method and status code", ["method", "code"], registry=r
        )
        self.request_seconds = Histogram(
            "adapter_hub_request_seconds", "call duration, by method", ["method"], buckets=LATENCY_BUCKETS_S, registry=r
        )
        self.queue_seconds = Histogram(
            "adapter_hub_queue_seconds",
            "a request's wait from its submission to its first engine forward",
            buckets=QUEUE_BUCKETS_S,
            registry=r,
        )
        self.forward_seconds = Histogram(
            "adapter_hub_forward_seconds", "duration of one engine forward", buckets=FORWARD_BUCKETS_S, registry=r
        )
        self.batch_rows = Histogram(
            "adapter_hub_batch_rows", "rows per engine forward", buckets=row_buckets(max_batch_size), registry=r
        )
        self.batch_adapters = Histogram(
            "adapter_hub_batch_adapters", "distinct adapters per engine forward", buckets=ADAPTER_BUCKETS, registry=r
        )
        ProcessCollector(registry=r)
        self.tenants = TenantLabels(max_tenants)
        self.tenant_seconds = Histogram(
            "adapter_hub_tenant_request_seconds",
            "duration of each call (each PredictStream request), by tenant",
            ["tenant"],
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.tenant_errors = Counter(
            "adapter_hub_tenant_errors",
            "calls (PredictStream requests) that ended in an error, by tenant and status code",
            ["tenant", "code"],
            registry=r,
        )
        self.health: HealthState | None = None
        self._refused = dict.fromkeys(REASONS, 0)
        self._scheduler_refusals: Callable[[], dict[str, float]] = dict
        self._scheduler_counts = False  # the fair scheduler counts rate, queue, deadline... itself
        # rows that went through a forward, by id, until their request collects them; the row is
        # kept with its entry, so its id cannot be reused by another row meanwhile
        self._pending: dict[int, tuple[Any, _Dispatch]] = {}
        self._lock = threading.Lock()
        r.register(_RejectedCollector(self))

    @classmethod
    def from_settings(cls, settings: Settings) -> Telemetry:
        return cls(settings.max_batch_size, settings.metrics_max_tenants)

    def watch(self, cache: Residency, health: HealthState, batcher: Scheduler, scheduler_counts: bool) -> None:
        """Read the service's own numbers at scrape time: residency, readiness (``health``, also
        the probes') and queue, and the scheduler's per-tenant rows (served work, queued work,
        refusals; ``scheduler_counts``: it counts its own refusals, as the fair one does)."""
        self.registry.register(ResidencyCollector(cache))
        self.health = health
        self.registry.register(ServingCollector(lambda: health.ready, lambda: batcher.queued))
        scheduler = SchedulerCollector(batcher.tenant_stats, self.tenants)  # none with fifo
        self.registry.register(scheduler)
        self._scheduler_refusals = scheduler.refusals
        self._scheduler_counts = scheduler_counts

    def add_collector(self, collector: Collector) -> None:
        self.registry.register(collector)

    def refusal_counts(self) -> dict[str, float]:
        """Refusals by reason: those counted here and those the scheduler counted."""
        with self._lock:
            values: dict[str, float] = dict(self._refused)
        for reason, count in self._scheduler_refusals().items():
            values[reason] = values.get(reason, 0) + count
        return values

    # ---- events ------------------------------------------------------------------------
    def call_done(self, record: rl.RequestRecord) -> None:
        """A call ended: its count and duration by method (and status), its refusal if any, and
        its tenant's latency and error (a PredictStream call's requests count one by one)."""
        self.requests.labels(record.method, record.status).inc()
        self.request_seconds.labels(record.method).observe(record.total_s)
        self.request_refused(record)
        if not record.requests:
            self._tenant_done(record)

    def stream_request_done(self, record: rl.RequestRecord) -> None:
        """One PredictStream request ended: its refusal, its tenant's latency and error."""
        self.request_refused(record)
        self._tenant_done(record)

    def _tenant_done(self, record: rl.RequestRecord) -> None:
        if record.operator or not record.tenant:  # labels of their own, never taking a tenant's
            tenant = OPERATOR if record.operator else UNAUTHENTICATED
        else:
            tenant = self.tenants.label(record.tenant)
        self.tenant_seconds.labels(tenant).observe(record.total_s)
        if record.status != "OK":
            self.tenant_errors.labels(tenant, record.status).inc()

    def request_refused(self, record: rl.RequestRecord) -> None:
        """Count the request's refusal, when it is one the scheduler does not count itself
        (with the fifo scheduler, which counts none, every reason is counted here)."""
        if record.refusal and (record.refusal in COUNTED_HERE or not self._scheduler_counts):
            with self._lock:
                self._refused[record.refusal] = self._refused.get(record.refusal, 0) + 1

    def timed_forward(self, run: Callable[[list[Any]], list[Any]]) -> Callable[[list[Any]], list[Any]]:
        """``run`` (the engine's forward over one batch), measured: duration, rows, adapters,
        and when each row went through it (for its request's queue wait)."""

        def forward(rows: list[Any]) -> list[Any]:
            start_ns, started = time.time_ns(), time.perf_counter()
            try:
                return run(rows)
            finally:
                self.forward_seconds.observe(time.perf_counter() - started)
                adapters = len({id(getattr(row, "adapter", None)) for row in rows})
                self.batch_rows.observe(len(rows))
                self.batch_adapters.observe(adapters)
                done = _Dispatch(start_ns, time.time_ns(), len(rows), adapters)
                with self._lock:
                    if len(self._pending) > _MAX_PENDING:
                        self._pending.clear()
                    for row in rows:
                        self._pending.setdefault(id(row), (row, done))

        return forward

    @contextlib.contextmanager
    def waiting(self, rows: Sequence[Any]) -> Iterator[None]:
        """One request's rows in the batcher: its queue wait (submission to its first forward)
        is observed and noted, and its queue and forward spans recorded."""
        submitted_ns = time.time_ns()
        try:
            yield
        finally:
            with self._lock:
                found = [entry[1] for entry in (self._pending.pop(id(row), None) for row in rows) if entry is not None]
            if found:  # none: refused or withdrawn before any forward
                first = min(d.start_ns for d in found)
                wait = max(0, first - submitted_ns) / 1e9
                self.queue_seconds.observe(wait)
                rl.note_queue(wait)
                tracing.add_span("queue", submitted_ns, first)
                for d in {(d.start_ns, d.end_ns): d for d in found}.values():
                    tracing.add_span("forward", d.start_ns, d.end_ns, batch_rows=d.rows, batch_adapters=d.adapters)

    # ---- exposition ----------------------------------------------------------------------
    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def serve_http(self, host: str, port: int) -> ProbeServer:
        """/metrics, /livez and /readyz (the service's HealthState) on ``host:port``."""
        server = ProbeServer(host, port, self.exposition, CONTENT_TYPE_LATEST, self.health)
        log.info("metrics on http://%s:%d/metrics (probes /livez, /readyz)", host, server.port)
        return server


class _RejectedCollector(Collector):
    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry

    def collect(self) -> Iterator[Metric]:
        values = self.telemetry.refusal_counts()
        yield counter("adapter_hub_rejected", "requests refused, by reason", "reason", values)
