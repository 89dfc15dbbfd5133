"""Prometheus collectors that read, at scrape time, the numbers the hub keeps anyway: residency
tier counters and load latencies, the store's circuit breaker, the batcher's queue, readiness.
Nothing is counted twice and nothing costs a request anything (hub/observe/telemetry.py).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from hub.residency import Residency
from hub.residency.breaker import CLOSED
from hub.residency.tier import LatencyWindow

OTHER = "other"


class ResidencyCollector(Collector):
    """Per tier: resident adapters, bytes, budget, pinned bytes, hits, misses, evictions, loads
    and the load-latency histogram; the store's failures and its breaker."""

    def __init__(self, cache: Residency) -> None:
        self.cache = cache

    def collect(self) -> Iterator[Metric]:
        tiers = self.cache.tier_stats()
        memory = [t for t in tiers if t.name != "store"]
        gauges = (
            ("adapter_hub_tier_adapters", "adapter versions resident in the tier", "count"),
            ("adapter_hub_tier_bytes", "bytes resident in the tier", "bytes"),
            ("adapter_hub_tier_budget_bytes", "the tier's byte budget", "budget"),
            ("adapter_hub_tier_pinned_bytes", "bytes of pinned adapters in the tier", "pinned_bytes"),
        )
        for name, text, attr in gauges:
            yield gauge(name, text, "tier", {t.name: getattr(t, attr) for t in memory})
        counters = (
            ("adapter_hub_tier_hits", "look-ups the tier answered", "hits"),
            ("adapter_hub_tier_misses", "look-ups the tier could not answer", "misses"),
            ("adapter_hub_tier_evictions", "adapters evicted from the tier to make room", "evictions"),
        )
        for name, text, attr in counters:
            yield counter(name, text, "tier", {t.name: getattr(t, attr) for t in memory})
        loads = CounterMetricFamily("adapter_hub_adapter_loads", "adapter versions loaded into a tier", None, ["tier"])
        for t in tiers:
            loads.add_metric([t.name], t.loads)
        yield loads
        yield self._latency()
        store = next(t for t in tiers if t.name == "store")
        yield CounterMetricFamily(
            "adapter_hub_store_failures", "adapter fetches that failed: the store was unreachable", value=store.misses
        )
        breaker = self.cache.breaker_state()
        is_open = breaker is not None and breaker.state != CLOSED
        yield GaugeMetricFamily(
            "adapter_hub_store_breaker_open", "1 while the store's circuit breaker is open (or probing)", value=is_open
        )

    def _latency(self) -> Metric:
        family = HistogramMetricFamily(
            "adapter_hub_adapter_load_seconds",
            "time to fill the tier with an adapter version (the tiers below included)",
            labels=["tier"],
        )
        windows: dict[str, LatencyWindow] = {"device": self.cache.device.latency, "host": self.cache.host.latency}
        if self.cache.disk is not None:
            windows["disk"] = self.cache.disk.latency
        windows["store"] = self.cache.store_latency
        for tier, window in windows.items():
            h = window.histogram()
            buckets = [(_bound(b), float(n)) for b, n in h.buckets] + [("+Inf", float(h.count))]
            family.add_metric([tier], buckets, sum_value=h.sum_s)
        return family


def _bound(value: float) -> str:
    return repr(float(value))


class StoreCollector(Collector):
    """The store's failures by operation and kind (full, read_only, denied, unreachable, ...),
    and garbage collection's runs and what it reclaimed (hub/serving/maintenance.py)."""

    def __init__(self, faults: Callable[[], Mapping[tuple[str, str], int]], totals: Callable[[], Any]) -> None:
        self.faults, self.totals = faults, totals

    def collect(self) -> Iterator[Metric]:
        errors = CounterMetricFamily(
            "adapter_hub_store_errors", "object-store calls that failed, by operation and kind", labels=["op", "kind"]
        )
        for (op, kind), count in sorted(self.faults().items()):
            errors.add_metric([op, kind], count)
        yield errors
        t = self.totals()
        yield CounterMetricFamily("adapter_hub_gc_runs", "garbage collections completed", value=t.runs)
        yield CounterMetricFamily("adapter_hub_gc_failures", "garbage collections that failed", value=t.failures)
        yield CounterMetricFamily("adapter_hub_gc_reclaimed_bytes", "bytes garbage collection reclaimed", value=t.bytes)
        objects = CounterMetricFamily(
            "adapter_hub_gc_reclaimed_objects", "objects garbage collection reclaimed, by kind", labels=["kind"]
        )
        objects.add_metric(["blob"], t.blobs)
        objects.add_metric(["temp"], t.files)
        yield objects
        yield CounterMetricFamily(
            "adapter_hub_recovered_operations",
            "pushes and deletes a crash interrupted, finished by recovery",
            value=t.recovered,
        )


class ServingCollector(Collector):
    """Readiness and the batcher's backlog."""

    def __init__(self, ready: Callable[[], bool], queued_rows: Callable[[], int]) -> None:
        self.ready, self.queued_rows = ready, queued_rows

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "adapter_hub_ready", "1 while ready for calls (/readyz): loaded, not draining", self.ready()
        )
        yield GaugeMetricFamily("adapter_hub_queued_rows", "rows waiting for an engine forward", self.queued_rows())


class CallsCollector(Collector):
    """The front end's open calls and streams, and the calls waiting for room in the queue."""

    def __init__(self, counts: Callable[[], tuple[int, int, int]]) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        calls, streams, waiting = self.counts()
        yield GaugeMetricFamily("adapter_hub_open_calls", "calls open now (unary and streams)", calls)
        yield GaugeMetricFamily(
            "adapter_hub_open_streams", "streaming calls open now (PredictStream, uploads)", streams
        )
        yield GaugeMetricFamily(
            "adapter_hub_waiting_calls", "calls waiting for room in the queue (their tenant's share or rates)", waiting
        )


class TenantLabels:
    """Bounded label values for tenants: the first ``limit`` tenants seen keep their own label
    for the life of the process, every later one is ``other``. Sticky, so a tenant's series never
    moves and every counter stays monotonic; bounded, so a hub with thousands of tenants does not
    make thousands of series per metric (the cardinality complaint about per-adapter labels)."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._named: set[str] = set()
        self._lock = threading.Lock()

    def label(self, tenant: str) -> str:
        with self._lock:
            if tenant in self._named:
                return tenant
            if len(self._named) < self.limit and tenant != OTHER:
                self._named.add(tenant)
                return tenant
            return OTHER


class Accumulated:
    """Monotonic counters read from a source (the scheduler's, per tenant) folded into bounded
    label values: each scrape adds what every key gained since the last one to its label's
    total, so a total never drops, even when the source forgets or restarts a key."""

    def __init__(self) -> None:
        self._last: dict[Hashable, float] = {}
        self._totals: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()

    def update(self, values: Iterable[tuple[Hashable, str, float]]) -> dict[str, float]:
        """``values``: (key, label, current count); the totals by label."""
        with self._lock:
            for key, label, value in values:
                last = self._last.get(key, 0.0)
                self._last[key] = value
                self._totals[label] += value - last if value >= last else value  # the source restarted
            return dict(self._totals)


class TenantTotals:
    """Per-tenant counts (tenant -> count) under bounded tenant labels."""

    def __init__(self, labels: TenantLabels) -> None:
        self.labels = labels
        self._sums = Accumulated()

    def update(self, values: Mapping[str, float]) -> dict[str, float]:
        return self._sums.update((tenant, self.labels.label(tenant), v) for tenant, v in values.items())


def refusal_label(reason: str) -> str:
    """The scheduler's refusal reasons (which bound, which limit) as the metric's reasons."""
    if reason.startswith("rate"):
        return "rate"
    if "queued" in reason:
        return "queue"
    return "deadline" if reason in ("expired", "deadline") else reason


class SchedulerCollector(Collector):
    """The scheduler's per-tenant rows (tenant, served_requests, served_tokens, queued_requests,
    queued_tokens, refusals by reason), read at scrape time: served work per tenant under bounded
    labels, what is queued, and its refusals for adapter_hub_rejected_total."""

    def __init__(self, rows: Callable[[], Iterable[Any]], labels: TenantLabels) -> None:
        self.rows, self.labels = rows, labels
        self._tokens, self._requests, self._refusals = TenantTotals(labels), TenantTotals(labels), Accumulated()

    def refusals(self) -> dict[str, float]:
        rows = list(self.rows())
        values = (((r.tenant, why), refusal_label(why), n) for r in rows for why, n in r.refusals.items())
        return self._refusals.update(values)

    def collect(self) -> Iterator[Metric]:
        rows = list(self.rows())
        tokens = self._tokens.update({r.tenant: r.served_tokens for r in rows})
        requests = self._requests.update({r.tenant: r.served_requests for r in rows})
        yield counter("adapter_hub_tenant_tokens", "input tokens served, by tenant", "tenant", tokens)
        yield counter("adapter_hub_tenant_requests", "requests served, by tenant", "tenant", requests)
        queued: dict[str, float] = defaultdict(float)
        for r in rows:
            queued[self.labels.label(r.tenant)] += r.queued_tokens
        yield gauge("adapter_hub_tenant_queued_tokens", "input tokens queued, by tenant", "tenant", queued)


def counter(name: str, text: str, label: str, values: Mapping[str, float]) -> Metric:
    family = CounterMetricFamily(name, text, labels=[label])
    for key in sorted(values):
        family.add_metric([key], values[key])
    return family


def gauge(name: str, text: str, label: str, values: Mapping[str, Any]) -> Metric:
    family = GaugeMetricFamily(name, text, labels=[label])
    for key in sorted(values):
        family.add_metric([key], values[key])
    return family
