"""The residency building blocks on their own: memory tier, disk tier, circuit breaker."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from adapters_registry.manifest import FileRecord, HeadKind, HeadSpec, Manifest
from adapters_registry.registry import VersionRecord
from adapters_registry.storage.base import ObjectNotFound, StoreUnavailable
from adapters_registry.storage.memory import MemoryStore
from hub.residency.breaker import CircuitBreaker, GuardedStore
from hub.residency.disk import DiskCache
from hub.residency.tier import MemoryTier, TierFull
from tests.residency.stores import ManualClock, SwitchableStore


def test_memory_tier_evicts_least_recently_used_first() -> None:
    tier: MemoryTier[str] = MemoryTier("device", 100)
    assert tier.put("a", "A", 40) == [] and tier.put("b", "B", 40) == []
    assert tier.lookup("a") == "A"  # "a" is now the most recently used
    assert tier.lookup("zzz") is None
    assert tier.put("c", "C", 40) == [("b", "B")]
    assert tier.keys() == ["a", "c"]
    stats = tier.stats()
    assert (stats.count, stats.bytes, stats.budget) == (2, 80, 100)
    assert (stats.hits, stats.misses, stats.evictions) == (1, 1, 1)
    assert tier.put("a", "A2", 10) == [] and tier.stats().bytes == 50  # replacing re-counts its size


def test_pinned_entries_stay_and_a_full_tier_refuses_with_a_clear_message() -> None:
    tier: MemoryTier[str] = MemoryTier("device", 100, "ADAPTER_HUB_DEVICE_CACHE_BYTES")
    tier.pin("a")
    tier.put("a", "A", 60)
    tier.put("b", "B", 30)
    assert tier.put("c", "C", 30) == [("b", "B")]  # the pinned, older "a" stays
    with pytest.raises(TierFull) as caught:
        tier.put("d", "D", 50, what="adapter d@1")
    assert caught.value.message == (
        "adapter d@1 needs 50 B in the device tier, but only 40 B of its 100 B budget can be freed "
        "(1 pinned adapter(s) hold 60 B); unpin or unload adapters or raise ADAPTER_HUB_DEVICE_CACHE_BYTES"
    )
    with pytest.raises(TierFull, match="needs 200 B"):
        tier.put("e", "E", 200)  # larger than the whole budget
    assert tier.keys() == ["a", "c"] and tier.stats().pinned_bytes == 60  # nothing changed
    with pytest.raises(TierFull, match="needs at least 45 B"):
        tier.check_room("f", 45, "f")
    tier.unpin("a")
    assert tier.put("d", "D", 50) == [("a", "A")]


def _record(tenant: str, name: str, version: int, blobs: dict[str, bytes]) -> VersionRecord:
    files = {f"f{i}": FileRecord(hashlib.sha256(d).hexdigest(), len(d)) for i, d in enumerate(blobs.values())}
    manifest = Manifest([HeadSpec("t", HeadKind.SEQUENCE, ["a", "b"])], files=files)
    return VersionRecord(tenant, name, version, "now", manifest)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_disk_tier_writes_atomically_verifies_reads_and_survives_a_restart(tmp_path: Path) -> None:
    data = os.urandom(300)
    digest = _digest(data)
    cache = DiskCache(tmp_path, budget=10_000)
    assert cache.write(digest, data)
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [digest]  # no temporary file left
    assert cache.read(digest, len(data)) == data

    (cache.blobs / "ab").mkdir(exist_ok=True)
    (cache.blobs / "ab" / f".{'ab' * 32}.tmp-1234").write_bytes(b"half a file")  # an interrupted write
    again = DiskCache(tmp_path, budget=10_000)  # a restart
    assert again.contains(digest) and again.read(digest, len(data)) == data
    assert not list(tmp_path.rglob("*.tmp-*"))

    path = again.blobs / digest[:2] / digest
    path.write_bytes(b"x" + data[1:])  # damaged on disk
    assert again.read(digest, len(data)) is None
    assert not path.exists() and not again.contains(digest) and again.corrupt == 1


def test_disk_tier_is_cleaned_to_its_budget_least_recent_first_keeping_pins(tmp_path: Path) -> None:
    blobs = {f"b{i}": os.urandom(100) for i in range(4)}
    cache = DiskCache(tmp_path, budget=1000)
    for i, data in enumerate(blobs.values()):
        cache.write(_digest(data), data)
        os.utime(cache.blobs / _digest(data)[:2] / _digest(data), (1000 + i, 1000 + i))  # b0 oldest
    digests = [_digest(d) for d in blobs.values()]

    restarted = DiskCache(tmp_path, budget=250)  # a smaller budget: cleaned at start-up
    assert [restarted.contains(d) for d in digests] == [False, False, True, True]
    assert restarted.stats().bytes == 200 and restarted.stats().evictions == 2

    record = _record("t", "a", 1, {"b2": blobs["b2"]})
    restarted.pin(record)
    assert restarted.has_version(record)
    restarted.write(digests[0], blobs["b0"])  # over budget: the oldest unpinned blob (b3) goes, not b2
    assert [restarted.contains(d) for d in digests] == [True, False, True, False]
    assert restarted.stats().pinned == 1
    restarted.unpin(record)
    restarted.write(digests[1], blobs["b1"])
    assert not restarted.contains(digests[2])  # unpinned and least recent: cleaned now


def test_disk_tier_reads_whole_versions_or_nothing(tmp_path: Path) -> None:
    blobs = {"x": os.urandom(50), "y": os.urandom(60)}
    record = _record("t", "a", 1, blobs)
    cache = DiskCache(tmp_path, budget=1000)
    assert cache.read_version(record) is None
    cache.write_version(record, {"f0": blobs["x"], "f1": blobs["y"]})
    files = cache.read_version(record)
    assert files is not None and files["f0"] == blobs["x"] and files["f1"] == blobs["y"]
    assert (cache.stats().hits, cache.stats().misses) == (1, 1)


def test_breaker_opens_fails_fast_probes_once_and_recovers() -> None:
    clock = ManualClock()
    inner = SwitchableStore(MemoryStore())
    inner.put("k", b"v")
    breaker = CircuitBreaker(failures=2, open_s=10, clock=clock)
    store = GuardedStore(inner, breaker)
    assert store.get("k").data == b"v" and store.uri == inner.uri
    with pytest.raises(ObjectNotFound):
        store.get("missing")  # an answer, not a failure
    inner.down = True
    for _ in range(2):
        with pytest.raises(StoreUnavailable, match="test switch"):
            store.get("k")
    calls = sum(inner.calls.values())
    with pytest.raises(StoreUnavailable, match=r"2 consecutive failures.*next try in 10\.0 s"):
        store.get("k")
    assert sum(inner.calls.values()) == calls  # open: the store was not called at all
    assert breaker.snapshot().state == "open" and breaker.snapshot().rejected == 1

    clock.advance(10)
    assert breaker.before("s") is True  # half-open: this caller is the one probe
    with pytest.raises(StoreUnavailable, match="a probe is under way"):
        breaker.before("s")  # everyone else still fails fast
    breaker.failure(True, "still down")  # the probe failed: open again at once
    assert breaker.snapshot().state == "open"

    clock.advance(10)
    inner.down = False
    assert store.get("k").data == b"v"  # the probe succeeds: closed
    assert breaker.snapshot().state == "closed" and breaker.snapshot().consecutive_failures == 0
