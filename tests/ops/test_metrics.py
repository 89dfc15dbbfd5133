"""Prometheus metrics of a real server: scraped over HTTP before and after traffic, a refusal by
reason, tier counters and load latency, bounded tenant labels, every family documented."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from adapter_hub_client import HubClient
from prometheus_client.parser import text_string_to_metric_families

from hub.observe.collectors import OTHER, TenantLabels, TenantTotals
from hub.observe.telemetry import MetricsServer, Telemetry, row_buckets
from hub.transport.server import HubServer
from tests.ops.conftest import ADMIN

README = Path(__file__).resolve().parents[2] / "README.md"
Sample = tuple[str, tuple[tuple[str, str], ...]]


def scrape(port: int) -> dict[Sample, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: dict[Sample, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def keyed_hub(start_hub, tiny_runtime) -> Iterator[tuple[HubServer, MetricsServer]]:  # type: ignore[no-untyped-def]
    server, _ = start_hub(tiny_runtime, auth="on", admin_key=ADMIN)
    endpoint = server.service.telemetry.serve_http("127.0.0.1", 0)
    yield server, endpoint
    endpoint.stop()


@pytest.mark.integration
def test_metrics_move_with_traffic_and_refusals(keyed_hub, adapter_dir: Path) -> None:  # type: ignore[no-untyped-def]
    server, endpoint = keyed_hub
    target = f"127.0.0.1:{server.port}"
    with HubClient(target, api_key=ADMIN, retries=0) as admin:
        key = admin.create_tenant("acme", max_adapters=1).api_key
    client = HubClient(target, api_key=key, retries=0)
    client.push(adapter_dir, "sent")
    before = scrape(endpoint.port)
    assert value(before, "adapter_hub_ready") == 1
    assert value(before, "adapter_hub_tier_adapters", tier="device") == 0

    client.predict("sent", ["good", "bad", "fine"])
    with HubClient(target, api_key="ahk_0123456789abcdef_wrong", retries=0) as stranger, pytest.raises(grpc.RpcError):
        stranger.list_adapters()
    with pytest.raises(grpc.RpcError) as caught:
        client.push(adapter_dir, "second")  # over the tenant's adapter count
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    after = scrape(endpoint.port)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("adapter_hub_requests_total", method="Predict", code="OK") == 1
    assert moved("adapter_hub_requests_total", method="ListAdapters", code="UNAUTHENTICATED") == 1
    assert moved("adapter_hub_requests_total", method="UploadAdapter", code="RESOURCE_EXHAUSTED") == 1
    assert moved("adapter_hub_request_seconds_count", method="Predict") == 1
    assert moved("adapter_hub_request_seconds_sum", method="Predict") > 0
    assert moved("adapter_hub_rejected_total", reason="auth") == 1
    assert moved("adapter_hub_rejected_total", reason="quota") == 1
    assert moved("adapter_hub_rejected_total", reason="rate") == 0
    assert moved("adapter_hub_queue_seconds_count") == 1
    assert moved("adapter_hub_batch_rows_sum") == 3  # three one-piece texts, whichever batches took them
    assert moved("adapter_hub_batch_rows_count") == moved("adapter_hub_forward_seconds_count") >= 1
    assert moved("adapter_hub_batch_adapters_sum") == moved("adapter_hub_batch_rows_count")  # one adapter
    assert moved("adapter_hub_batch_rows_bucket", le="+Inf") == moved("adapter_hub_batch_rows_count")
    # the first use loaded the adapter into the device tier (from the store, through host and disk)
    assert moved("adapter_hub_adapter_loads_total", tier="device") == 1
    assert moved("adapter_hub_adapter_loads_total", tier="store") == 1
    assert moved("adapter_hub_adapter_load_seconds_count", tier="device") == 1
    assert moved("adapter_hub_tier_misses_total", tier="device") == 1
    assert value(after, "adapter_hub_tier_adapters", tier="device") == 1
    assert value(after, "adapter_hub_tier_bytes", tier="device") > 0
    assert value(after, "adapter_hub_tier_budget_bytes", tier="device") == 2 << 30
    assert value(after, "adapter_hub_store_breaker_open") == 0

    client.predict("sent", ["again"])
    again = scrape(endpoint.port)
    assert (
        value(again, "adapter_hub_tier_hits_total", tier="device")
        - value(after, "adapter_hub_tier_hits_total", tier="device")
        == 1
    )
    assert value(again, "adapter_hub_adapter_loads_total", tier="device") == value(
        after, "adapter_hub_adapter_loads_total", tier="device"
    )
    client.close()


def test_tenant_labels_stay_bounded_and_counters_monotonic() -> None:
    labels = TenantLabels(limit=5)
    totals = TenantTotals(labels)
    served = {f"tenant-{i}": float(i + 1) for i in range(1000)}
    first = totals.update(served)
    assert len(first) == 6 and OTHER in first  # five named tenants and "other"
    assert sum(first.values()) == sum(served.values())
    grown = {tenant: count + 10 for tenant, count in served.items()}
    second = totals.update(grown)
    assert set(second) == set(first)  # a tenant keeps its label
    assert all(second[label] >= first[label] for label in first)
    assert sum(second.values()) == sum(grown.values())
    assert labels.label("tenant-0") == "tenant-0" and labels.label("tenant-999") == OTHER
    assert labels.label(OTHER) == OTHER


def test_row_buckets_end_with_a_full_batch() -> None:
    assert row_buckets(32) == (1, 2, 4, 8, 16, 32)
    assert row_buckets(48) == (1, 2, 4, 8, 16, 32, 48)
    assert row_buckets(1) == (1,)


def documented_metrics() -> set[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Metrics\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)(?:\{[^`]*\})?` \|", section, flags=re.M))


def exposed_families(telemetry: Telemetry) -> set[str]:
    names = set()
    for family in telemetry.registry.collect():
        if family.name.startswith("process_"):
            continue
        names.add(family.name + "_total" if family.type == "counter" else family.name)
    return names


@pytest.mark.integration
def test_every_metric_is_documented_in_the_readme(start_hub, tiny_runtime) -> None:  # type: ignore[no-untyped-def]
    server, _ = start_hub(tiny_runtime)
    exposed = exposed_families(server.service.telemetry)
    assert {"adapter_hub_requests_total", "adapter_hub_queue_seconds", "adapter_hub_rejected_total"} <= exposed
    documented = documented_metrics()
    assert exposed - documented == set(), "README.md's Metrics section lacks these"
    assert documented - exposed == set(), "README.md documents metrics that do not exist"


DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "adapter-hub.json"


def test_the_grafana_dashboard_uses_only_documented_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {re.sub(r"_(bucket|sum|count)$", "", m) for e in exprs for m in re.findall(r"adapter_hub_[a-z_]+", e)}
    assert used <= documented_metrics(), used - documented_metrics()
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ("throughput", "latency", "queue", "batch fill", "hit rate", "refusals", "tenant share"):
        assert topic in titles
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_the_dashboard_works_unchanged_against_a_cluster() -> None:
    """A cluster's replicas are separate Prometheus targets (instances), labelled by ``replica``
    (README, Scaling out): every hub panel aggregates over instances (sum, min, max, or a quantile
    of summed buckets), so one hub and N replicas draw the same panels; none groups by or filters
    on a label a cluster's series lack or a single hub's lack."""
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"] if "adapter_hub_" in t["expr"]]
    assert exprs
    for expr in exprs:
        assert re.match(r"(sum|min|max)( by \([a-z_, ]+\))? ?\(|histogram_quantile\([0-9.]+, sum by \(le", expr), expr
        grouped = {g.strip() for groups in re.findall(r"by \(([a-z_, ]+)\)", expr) for g in groups.split(",")}
        assert grouped <= {"le", "method", "code", "tier", "reason", "tenant"}, expr  # never instance or replica
        assert "replica" not in expr


@pytest.mark.integration
def test_per_tenant_metrics_from_the_scheduler_stay_bounded(start_hub, tiny_runtime, adapter_dir: Path) -> None:  # type: ignore[no-untyped-def]
    server, _ = start_hub(tiny_runtime, auth="on", admin_key=ADMIN, metrics_max_tenants=2)
    endpoint = server.service.telemetry.serve_http("127.0.0.1", 0)
    target = f"127.0.0.1:{server.port}"
    try:
        with HubClient(target, api_key=ADMIN, retries=0) as admin:
            keys = [admin.create_tenant(f"t{i}").api_key for i in range(4)]
            admin.set_tenant_limits("t3", rps=0.001)  # one request, then refused for a long while
        clients = [HubClient(target, api_key=key, retries=0) for key in keys]
        for client in clients:
            client.push(adapter_dir, "sent")
        for client in clients[:2]:
            client.predict("sent", ["good words"])
        first = scrape(endpoint.port)  # t0 and t1 take the two tenant labels
        for client in clients[2:]:
            client.predict("sent", ["good words"])
        with pytest.raises(grpc.RpcError) as caught:
            clients[3].predict("sent", ["good words"])
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        after = scrape(endpoint.port)
        for client in clients:
            client.close()
    finally:
        endpoint.stop()
    rows = {r.tenant: r for r in server.service.batcher.tenant_stats()}
    tokens = {labels: v for (name, labels), v in after.items() if name == "adapter_hub_tenant_tokens_total"}
    assert {dict(labels)["tenant"] for labels in tokens} == {"t0", "t1", OTHER}
    assert value(after, "adapter_hub_tenant_tokens_total", tenant="t0") == rows["t0"].served_tokens > 0
    assert value(first, "adapter_hub_tenant_tokens_total", tenant="t0") == rows["t0"].served_tokens
    assert (
        value(after, "adapter_hub_tenant_tokens_total", tenant=OTHER)
        == rows["t2"].served_tokens + rows["t3"].served_tokens
    )
    assert value(after, "adapter_hub_tenant_requests_total", tenant=OTHER) == 2  # t3's second was refused
    assert value(after, "adapter_hub_rejected_total", reason="rate") == 1
    assert value(after, "adapter_hub_tenant_queued_tokens", tenant=OTHER) == 0
