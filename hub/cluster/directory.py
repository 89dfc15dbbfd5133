"""The cluster's directory: each replica reports what it holds; `cluster status` reads it.

One small named Ray actor per cluster. Every replica sends its report each ``REPORT_EVERY_S``
seconds; a replica that stopped reporting (killed, or replaced by Serve) is left out of the
listing after ``STALE_AFTER_S``. A report is a plain dict (see ``ReplicaReport``), so the
directory needs nothing of the hub's code.
"""

from __future__ import annotations

import time
from typing import Any, TypedDict

import ray

DIRECTORY_NAME = "adapter-hub-directory"
REPORT_EVERY_S = 1.0
STALE_AFTER_S = 5.0


class ReplicaReport(TypedDict):
    id: str  # Serve's replica id
    pid: int
    node: str
    metrics: str  # host:port of the replica's /metrics, /livez and /readyz
    ready: bool  # its readiness (false from the start of a drain)
    resident: list[str]  # name@version on the device (serving) tier, sorted
    loads: int  # adapters loaded into the device tier since the replica started
    queued: int  # rows waiting in the replica's batcher
    routes: list[str]  # routing keys Serve's LRU holds here
    forwards: int  # engine forwards run
    mixed_forwards: int  # forwards whose rows came from more than one adapter
    hits: int  # device-tier lookups that found the adapter
    misses: int


@ray.remote(num_cpus=0)
class ClusterDirectory:
    def __init__(self) -> None:
        self.reports: dict[str, tuple[float, dict[str, Any]]] = {}

    def report(self, report: dict[str, Any]) -> None:
        self.reports[report["id"]] = (time.monotonic(), report)

    def leave(self, replica_id: str) -> None:
        self.reports.pop(replica_id, None)

    def replicas(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        live = [r for seen, r in self.reports.values() if now - seen <= STALE_AFTER_S]
        return sorted(live, key=lambda r: r["id"])


def directory(namespace: str) -> Any:
    """The cluster's directory actor, made by the first replica that asks for it."""
    return ClusterDirectory.options(  # type: ignore[attr-defined]
        name=DIRECTORY_NAME, namespace=namespace, get_if_exists=True, lifetime="detached"
    ).remote()
