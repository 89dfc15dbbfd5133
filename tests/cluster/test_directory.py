"""The cluster directory's bookkeeping, on the actor's own class (no Ray running)."""

from __future__ import annotations

from typing import Any

from hub.cluster.directory import STALE_AFTER_S, ClusterDirectory

Directory: Any = ClusterDirectory.__ray_actor_class__  # type: ignore[attr-defined]  # the class @ray.remote wraps


def report(replica_id: str, **fields: Any) -> dict[str, Any]:
    base = {"id": replica_id, "pid": 1, "node": "n", "resident": [], "loads": 0, "queued": 0, "routes": []}
    return base | {"forwards": 0, "mixed_forwards": 0, "hits": 0, "misses": 0} | fields


def test_the_latest_report_of_each_replica_is_listed_by_id() -> None:
    directory = Directory()
    directory.report(report("r2", loads=1))
    directory.report(report("r1", resident=["sent@1"]))
    directory.report(report("r2", loads=2))  # replaces r2's earlier report
    listed = directory.replicas()
    assert [r["id"] for r in listed] == ["r1", "r2"]
    assert listed[0]["resident"] == ["sent@1"] and listed[1]["loads"] == 2


def test_a_replica_that_stopped_reporting_is_left_out() -> None:
    directory = Directory()
    directory.report(report("gone"))
    directory.report(report("live"))
    seen, last = directory.reports["gone"]
    directory.reports["gone"] = (seen - STALE_AFTER_S - 1, last)  # its last report is that old now
    assert [r["id"] for r in directory.replicas()] == ["live"]
    directory.report(report("gone"))  # it reports again
    assert [r["id"] for r in directory.replicas()] == ["gone", "live"]


def test_a_replica_that_leaves_is_removed_at_once() -> None:
    directory = Directory()
    directory.report(report("r1"))
    directory.report(report("r2"))
    directory.leave("r1")
    directory.leave("never-reported")  # harmless
    assert [r["id"] for r in directory.replicas()] == ["r2"]


def test_the_prometheus_target_list_names_every_replicas_metrics_port() -> None:
    from hub.cluster.supervisor import prometheus_targets

    replicas = [
        {"id": "abc", "node": "n1", "metrics": "127.0.0.1:40001"},
        {"id": "def", "node": "n2", "metrics": "10.0.0.2:40002"},
        {"id": "old", "node": "n1"},  # a report from before metrics ports: nothing to scrape
    ]
    assert prometheus_targets(replicas, "adapter-hub") == [
        {"targets": ["127.0.0.1:40001"], "labels": {"replica": "abc", "node": "n1", "cluster": "adapter-hub"}},
        {"targets": ["10.0.0.2:40002"], "labels": {"replica": "def", "node": "n2", "cluster": "adapter-hub"}},
    ]
