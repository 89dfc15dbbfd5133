"""Residency end to end in-process: real stores, the real packer of a tiny backbone."""

from __future__ import annotations

import gc
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters_registry.registry import AdapterRegistry
from adapters_registry.storage.local import LocalStore
from adapters_registry.storage.memory import MemoryStore
from hub.errors import NotFound, ResourceExhausted, Unavailable
from hub.residency import Residency, ResidencyConfig
from hub.residency.disk import DiskCache
from hub.residency.resolver import CachedResolver
from tests.residency.conftest import publish
from tests.residency.stores import CountingStore, ManualClock, SwitchableStore


def counting_packer(runtime: Any) -> tuple[Callable[..., Any], list[str]]:
    """The runtime's real packer, with a record of what it packed."""
    packed: list[str] = []

    def pack(key: str, files: dict[str, bytes], manifest: Any) -> Any:
        packed.append(key)
        return runtime.pack(key, files, manifest)

    return pack, packed


@pytest.fixture
def store(tmp_path: Path) -> CountingStore:
    return CountingStore(LocalStore(tmp_path / "store"))


def test_concurrent_cold_requests_cause_one_fetch_and_one_pack(store, tiny_runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    registry = AdapterRegistry(store)
    record = publish(registry, tiny_runtime.spec, "acme", "sent", seed=1)
    residency = Residency(registry, ResidencyConfig(), DiskCache(tmp_path / "disk", 1 << 20))
    threads_n = 16
    real_pack, packed = counting_packer(tiny_runtime)

    def slow_pack(key: str, files: dict[str, bytes], manifest: Any) -> Any:
        deadline = time.monotonic() + 30  # hold the load until every caller has missed the cache
        while residency.device.stats().misses < threads_n and time.monotonic() < deadline:
            time.sleep(0.005)
        return real_pack(key, files, manifest)

    store.reset()
    results: list[Any] = []
    barrier = threading.Barrier(threads_n)

    def request() -> None:
        barrier.wait()
        results.append(residency.get(record, slow_pack))

    threads = [threading.Thread(target=request) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == threads_n and all(r is results[0] for r in results)
    assert residency.device.stats().misses == threads_n  # all of them were cold at once
    assert packed == ["acme/sent@1"]  # one pack
    assert dict(store.blob_gets()) == {f"tenants/acme/blobs/{f.sha256}": 1 for f in record.manifest.files.values()}
    assert residency.get(record, slow_pack) is results[0] and residency.device.stats().hits == 1


def test_an_adapter_that_cannot_fit_is_refused_not_kept(store, tiny_runtime) -> None:  # type: ignore[no-untyped-def]
    registry = AdapterRegistry(store)
    a = publish(registry, tiny_runtime.spec, "acme", "a", seed=1)
    b = publish(registry, tiny_runtime.spec, "acme", "b", seed=2)
    size = tiny_runtime.pack("probe", registry.read_files(a), a.manifest).nbytes
    residency = Residency(registry, ResidencyConfig(device_bytes=size + size // 2))
    pack, _ = counting_packer(tiny_runtime)
    residency.pin(a, pack)
    with pytest.raises(ResourceExhausted, match=r"adapter b@1 needs .* device tier.*1 pinned adapter\(s\)"):
        residency.get(b, pack)
    assert residency.device.keys() == ["acme/a@1"]
    residency.unpin(a)
    residency.get(b, pack)  # unpinned "a" may go now
    assert residency.device.keys() == ["acme/b@1"]

    big = publish(registry, tiny_runtime.spec, "acme", "big", seed=3, rank=16)
    store.reset()
    with pytest.raises(ResourceExhausted, match="big@1 needs at least"):
        residency.get(big, pack)  # larger than the whole budget: refused before any fetch
    assert store.blob_gets() == {}


def test_the_disk_tier_serves_after_a_restart_and_refetches_damaged_blobs(store, tiny_runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    registry = AdapterRegistry(store)
    record = publish(registry, tiny_runtime.spec, "acme", "sent", seed=1)
    pack, _ = counting_packer(tiny_runtime)
    first = Residency(registry, disk=DiskCache(tmp_path / "disk", 1 << 20))
    first.get(record, pack)

    store.reset()
    restarted = Residency(registry, disk=DiskCache(tmp_path / "disk", 1 << 20))
    restarted.get(record, pack)
    assert store.blob_gets() == {}  # every byte came from disk
    assert restarted.status().tiers[2].hits == 1

    weights = record.manifest.files["adapter_model.safetensors"].sha256
    (tmp_path / "disk" / "blobs" / weights[:2] / weights).write_bytes(b"damaged")
    again = Residency(registry, disk=DiskCache(tmp_path / "disk", 1 << 20))
    again.get(record, pack)
    assert store.blob_gets()[f"tenants/acme/blobs/{weights}"] == 1  # fetched again, verified
    assert again.disk is not None and again.disk.corrupt == 1


def test_a_server_restarted_during_an_outage_serves_the_adapters_its_disk_holds(tiny_runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = SwitchableStore(MemoryStore())
    registry = AdapterRegistry(store)
    publish(registry, tiny_runtime.spec, "acme", "sent", seed=1)
    publish(registry, tiny_runtime.spec, "acme", "other", seed=2)
    pack, _ = counting_packer(tiny_runtime)
    first = Residency(registry, disk=DiskCache(tmp_path / "disk", 1 << 20))
    for ref in ("latest", "1"):
        first.get(first.resolve("acme", "sent", ref), pack)

    store.down = True  # the store goes away, and the server restarts
    restarted = Residency(registry, disk=DiskCache(tmp_path / "disk", 1 << 20))
    for ref in ("latest", "1"):
        record = restarted.resolve("acme", "sent", ref)
        assert (record.tenant, record.name, record.version) == ("acme", "sent", 1)
        assert restarted.get(record, pack).key == first.get(record, pack).key
    assert restarted.resolver.stale_served == 2
    with pytest.raises(Unavailable, match="cannot resolve other@latest"):
        restarted.resolve("acme", "other", "latest")  # never resolved on this server
    with pytest.raises(Unavailable):
        restarted.resolve("rival", "sent", "latest")  # another tenant's name is not acme's

    store.down = False
    registry.delete("acme", "sent")  # through another server; this one learns it at its next look
    for ref in ("latest", "1"):
        with pytest.raises(NotFound):
            restarted.resolve("acme", "sent", ref)
    store.down = True
    once_more = Residency(registry, disk=DiskCache(tmp_path / "disk", 1 << 20))
    with pytest.raises(Unavailable):
        once_more.resolve("acme", "sent", "latest")  # a deleted adapter is not served from disk


def test_alias_moves_and_deletions_reach_another_server_within_the_ttl(tiny_runtime) -> None:  # type: ignore[no-untyped-def]
    shared = MemoryStore()
    writer = AdapterRegistry(shared)
    for seed in (1, 2):
        publish(writer, tiny_runtime.spec, "acme", "sent", seed=seed)
    writer.set_alias("acme", "sent", "prod", "1")
    clock, retired = ManualClock(), []
    reader = CachedResolver(AdapterRegistry(shared), ttl_s=5, on_retired=lambda *a: retired.append(a), clock=clock)
    assert reader.resolve("acme", "sent", "prod").version == 1
    assert reader.resolve("acme", "sent", "1").version == 1

    writer.set_alias("acme", "sent", "prod", "2")
    clock.advance(4.9)
    assert reader.resolve("acme", "sent", "prod").version == 1  # trusted for the ttl
    clock.advance(0.1)
    assert reader.resolve("acme", "sent", "prod").version == 2
    assert retired == [("acme", "sent", 1, "superseded")]

    assert reader.resolve("acme", "sent", "1").version == 1  # re-read now (its check was due)
    writer.delete("acme", "sent", "1")
    clock.advance(4.9)
    assert reader.resolve("acme", "sent", "1").version == 1
    clock.advance(0.1)
    with pytest.raises(NotFound):
        reader.resolve("acme", "sent", "1")
    assert retired[-1] == ("acme", "sent", 1, "deleted")


def test_resolutions_serve_stale_while_the_store_is_down(tiny_runtime) -> None:  # type: ignore[no-untyped-def]
    store = SwitchableStore(MemoryStore())
    registry = AdapterRegistry(store)
    publish(registry, tiny_runtime.spec, "acme", "sent", seed=1)
    clock = ManualClock()
    resolver = CachedResolver(registry, ttl_s=1, clock=clock)
    assert resolver.resolve("acme", "sent", "latest").version == 1
    store.down = True
    clock.advance(60)
    assert resolver.resolve("acme", "sent", "latest").version == 1  # stale-if-error
    assert resolver.stale_served == 1
    with pytest.raises(Unavailable, match=r"cannot resolve other@latest: .*unreachable"):
        resolver.resolve("acme", "other", "latest")
    store.down = False
    publish(registry, tiny_runtime.spec, "acme", "sent", seed=2)
    assert resolver.resolve("acme", "sent", "latest").version == 2  # back: refreshed at once


def test_the_old_version_is_released_once_no_request_holds_it(store, tiny_runtime) -> None:  # type: ignore[no-untyped-def]
    registry = AdapterRegistry(store)
    for seed in (1, 2):
        publish(registry, tiny_runtime.spec, "acme", "sent", seed=seed)
    registry.set_alias("acme", "sent", "prod", "1")
    residency = Residency(registry, ResidencyConfig(alias_ttl_s=0))  # re-read the alias on every request
    pack, packed = counting_packer(tiny_runtime)
    in_flight = residency.get(residency.resolve("acme", "sent", "prod"), pack)  # a request still running on v1

    registry.set_alias("acme", "sent", "prod", "2")
    assert residency.get(residency.resolve("acme", "sent", "prod"), pack) is not in_flight
    assert residency.device.keys() == ["acme/sent@2"]  # v1 left the tiers at once
    assert residency.status().draining == 1  # ... but its memory stays while the request holds it
    held = weakref.ref(in_flight)
    del in_flight
    gc.collect()
    assert held() is None and residency.status().draining == 0
    assert packed == ["acme/sent@1", "acme/sent@2"]
