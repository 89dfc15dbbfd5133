"""Quotas hold when uploads race: every racer passes the first check before any is stored."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from hub.config.settings import Settings
from hub.errors import ResourceExhausted
from hub.serving.app import build_service
from hub.serving.auth import Caller
from hub.serving.service import HubService
from hub.serving.upload import UploadHeader
from tests.residency.conftest import adapter_files

RACERS = 6


def service_for(tiny_runtime: Any, name: str) -> HubService:
    service = build_service(Settings.from_env(environ={}, store=f"memory://{name}"))
    service.attach_runtime(tiny_runtime)
    return service


def stale_first_counts(service: HubService) -> None:
    """Hold every racer's first usage count until all have made it: each then believes the
    quota has room, which is the window two servers' uploads can hit at any time."""
    barrier, counted = threading.Barrier(RACERS, timeout=30), set()
    real: Callable[[str], tuple[int, list[str]]] = service.registry.usage

    def usage(tenant: str) -> tuple[int, list[str]]:
        answer = real(tenant)
        me = threading.current_thread().name
        if me.startswith("racer") and me not in counted:
            counted.add(me)
            barrier.wait()
        return answer

    service.registry.usage = usage  # type: ignore[method-assign]


def race(service: HubService, caller: Caller, files: list[dict[str, bytes]], names: list[str]) -> list[object]:
    outcomes: list[object] = [None] * RACERS

    def upload(i: int) -> None:
        try:
            outcomes[i] = service.upload(caller, UploadHeader(names[i]), files[i])
        except ResourceExhausted as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=upload, args=(i,), name=f"racer-{i}") for i in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


@pytest.mark.parametrize("limit", ["adapters", "bytes"])
def test_racing_uploads_never_exceed_the_quota_and_acknowledged_ones_stay(tiny_runtime: Any, limit: str) -> None:
    service = service_for(tiny_runtime, f"quota-race-{limit}")
    files = [adapter_files(tiny_runtime.spec, seed=i) for i in range(RACERS)]
    size = max(sum(len(d) for p, d in f.items() if p != "hub_adapter.json") for f in files)
    quota = {"max_adapters": 2} if limit == "adapters" else {"max_bytes": 2 * size + size // 2}
    service.create_tenant(Caller("", admin=True), "racer", **quota)
    caller = Caller("racer")
    stale_first_counts(service)

    outcomes = race(service, caller, files, [f"a{i}" for i in range(RACERS)])

    stored = [o for o in outcomes if not isinstance(o, ResourceExhausted)]
    assert all(o is not None for o in outcomes)  # every racer got an answer
    assert len(stored) <= 2, outcomes  # never beyond the quota (all may withdraw: "try again")
    used, names = service.registry.usage("racer")
    max_bytes, max_adapters = service.quota("racer")
    assert used <= max_bytes and len(names) <= max_adapters
    assert sorted(names) == sorted(r.name for r in stored)  # what was acknowledged is what is kept
    for record in stored:
        assert service.registry.resolve("racer", record.name).version == record.version
    for i in range(2 - len(stored)):  # once the race is over, the room that is left can be used
        service.upload(caller, UploadHeader(f"late{i}"), files[i])
    with pytest.raises(ResourceExhausted):
        service.upload(caller, UploadHeader("one-too-many"), files[-1])
