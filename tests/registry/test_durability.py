"""Crash at every write of a push, a delete and an alias move (in process), then recovery; the
idempotency key; garbage collection (grace, dry run, stacked bases); quota counting; verify and
repair. The same invariants are checked after real kill -9 in tests/ops/test_crash_recovery.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from adapters_registry.artifact import Artifact, ArtifactLimits, UploadInfo, build_artifact, sha256_hex
from adapters_registry.gc import collect
from adapters_registry.registry import AdapterRegistry
from adapters_registry.storage.base import ObjectStore, StoredObject
from adapters_registry.storage.local import LocalStore
from adapters_registry.storage.memory import MemoryStore
from adapters_registry.verify import verify
from hub.errors import IntegrityError
from hub.tasks.specs import default_task_registry
from tests.registry.invariants import check_store, tombstones
from tests.residency.conftest import adapter_files

T = "acme"


class Crash(BaseException):
    """The process died here (raised instead of the write, so nothing of it happens)."""


class CrashBeforeWrite(ObjectStore):
    """A real store whose ``writes``-th write (put or delete, counting from 0) never happens:
    the process "dies" just before it. Reads pass through. Every state a crash can leave on a
    store that writes one object atomically is reached by some ``writes``."""

    def __init__(self, inner: ObjectStore, writes: int) -> None:
        self.inner, self.left, self.uri = inner, writes, inner.uri

    def _write(self) -> None:
        if self.left <= 0:
            raise Crash
        self.left -= 1

    def get(self, key: str) -> StoredObject:
        return self.inner.get(key)

    def put(self, key: str, data: bytes, *, if_none_match: bool = False, if_match: str | None = None) -> str:
        self._write()
        return self.inner.put(key, data, if_none_match=if_none_match, if_match=if_match)

    def delete(self, key: str) -> None:
        self._write()
        self.inner.delete(key)

    def list(self, prefix: str) -> list[str]:
        return self.inner.list(prefix)

    def scan(self, prefix: str) -> Any:
        return self.inner.scan(prefix)


@pytest.fixture(scope="module")
def artifacts(tiny_runtime: Any) -> list[Artifact]:
    contract = default_task_registry().contract
    spec = tiny_runtime.spec
    return [
        build_artifact(adapter_files(spec, seed), UploadInfo(), spec, contract, ArtifactLimits()) for seed in range(4)
    ]


@pytest.fixture(params=["memory", "local"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(kind: str, tmp_path: Path) -> ObjectStore:
    return open_kind(kind, tmp_path / "store")


def open_kind(kind: str, path: Path) -> ObjectStore:
    return MemoryStore() if kind == "memory" else LocalStore(path)


def seeded(store: ObjectStore, artifacts: list[Artifact]) -> dict[tuple[str, int], dict[str, bytes]]:
    """Versions 1-3 of `a` (latest 3, prod 2, canary 3) and 1 of `b`; what was acknowledged."""
    registry, acked = AdapterRegistry(store), {}
    for name, artifact in (("a", artifacts[0]), ("a", artifacts[1]), ("a", artifacts[2]), ("b", artifacts[3])):
        acked[(name, registry.publish(T, name, artifact).version)] = artifact.files
    registry.set_alias(T, "a", "prod", "2")
    registry.set_alias(T, "a", "canary", "3")
    return acked


def crash_sweep(store: ObjectStore, operation: Any) -> list[bool]:
    """Run ``operation(registry)`` crashing before its 0th, 1st, ... write until it completes;
    recover after each crash on a fresh registry. Returns, per crash, whether it completed."""
    done, writes = [], 0
    while True:
        try:
            operation(AdapterRegistry(CrashBeforeWrite(store, writes)))
        except Crash:
            AdapterRegistry(store).recover()
            done.append(False)
            writes += 1
            continue
        done.append(True)
        return done


@pytest.mark.parametrize("ref", ["3", "2", ""])
def test_a_delete_killed_at_any_write_is_finished_or_not_begun(
    store: ObjectStore, artifacts: list[Artifact], ref: str
) -> None:
    steps = 0
    while True:  # a fresh store per crash point: each run starts from the same state
        fresh = MemoryStore() if isinstance(store, MemoryStore) else LocalStore(Path(str(store.root)) / str(steps))  # type: ignore[attr-defined]
        acked = seeded(fresh, artifacts)
        try:
            AdapterRegistry(CrashBeforeWrite(fresh, steps)).delete(T, "a", ref)
            finished = True
        except Crash:
            finished = False
        registry = AdapterRegistry(fresh)
        registry.recover()
        gone = set(registry.versions(T, "a")) ^ {1, 2, 3}
        assert gone in (set(), {int(ref)} if ref else {1, 2, 3}), f"crash before write {steps}: {gone}"
        deleted = {("a", v) for v in gone}
        check_store(registry, T, acked, deleted)
        if gone and ref == "3":
            assert registry.aliases(T, "a") == {"latest": 2, "prod": 2}  # canary named 3: removed
        if gone and ref == "2":
            assert registry.aliases(T, "a") == {"latest": 3, "canary": 3}
        if finished:
            assert steps >= 4  # intent, tombstone, record, alias(es), intent: every point was crashed at
            return
        steps += 1


def test_a_push_killed_at_any_write_is_committed_whole_or_not_at_all(
    store: ObjectStore, artifacts: list[Artifact]
) -> None:
    acked = seeded(store, artifacts)
    new = artifacts[0]  # same content as a@1: its blobs are rewritten, never lost
    outcomes = crash_sweep(store, lambda registry: registry.publish(T, "a", new))
    registry = AdapterRegistry(store)
    versions = registry.versions(T, "a")
    claimed = [v for v in versions if v > 3]
    # each crash after the claim left a committed version; recovery moved `latest` to the newest
    assert registry.resolve(T, "a").version == max(versions)
    assert len(outcomes) >= 6 and outcomes[-1]
    for version in claimed:
        acked[("a", version)] = new.files
    check_store(registry, T, acked, set())


def test_an_alias_move_killed_is_all_or_nothing(store: ObjectStore, artifacts: list[Artifact]) -> None:
    acked = seeded(store, artifacts)
    crash_sweep(store, lambda registry: registry.set_alias(T, "a", "prod", "1"))
    registry = AdapterRegistry(store)
    assert registry.aliases(T, "a")["prod"] == 1
    check_store(registry, T, acked, set())


def test_latest_naming_a_deleted_version_reads_as_the_newest_live_one(artifacts: list[Artifact]) -> None:
    store = MemoryStore()
    seeded(store, artifacts)
    store.delete(f"tenants/{T}/adapters/a/versions/00000003.json")  # a delete killed before its alias move
    registry = AdapterRegistry(store)
    assert registry.resolve(T, "a").version == 2


def test_a_retried_push_with_its_key_returns_the_first_version(artifacts: list[Artifact]) -> None:
    registry = AdapterRegistry(MemoryStore())
    first = registry.publish(T, "a", artifacts[0], idempotency_key="k1")
    again = registry.publish(T, "a", artifacts[0], idempotency_key="k1")
    other = registry.publish(T, "a", artifacts[0], idempotency_key="k2")
    assert again.version == first.version == 1 and other.version == 2
    assert registry.publish(T, "b", artifacts[0], idempotency_key="k1").version == 1  # keys are per adapter


def test_a_push_killed_after_its_claim_is_found_by_its_retry(artifacts: list[Artifact]) -> None:
    store = MemoryStore()
    with pytest.raises(Crash):  # writes: 3 blobs, the intent, the version record; then the crash
        AdapterRegistry(CrashBeforeWrite(store, 5)).publish(T, "a", artifacts[0], idempotency_key="k")
    registry = AdapterRegistry(store)
    assert registry.versions(T, "a") == [1]
    assert registry.publish(T, "a", artifacts[0], idempotency_key="k").version == 1
    assert registry.versions(T, "a") == [1]


def test_gc_reclaims_deleted_versions_after_the_grace_only(store: ObjectStore, artifacts: list[Artifact]) -> None:
    registry = AdapterRegistry(store)
    for artifact in artifacts:
        registry.publish(T, "a", artifact)
    stored = {k for k in store.list("tenants/") if "/blobs/" in k}
    used_before, _ = registry.usage(T)
    registry.delete(T, "a", "1")
    registry.delete(T, "a")
    assert registry.usage(T)[0] == used_before  # deleted, not reclaimed: still counted
    kept = collect(store, grace_s=3600)
    assert kept.blobs == 0 and {k for k in store.list("tenants/") if "/blobs/" in k} == stored
    dry = collect(store, grace_s=0, dry_run=True)
    assert dry.blobs == len(stored) and {k for k in store.list("tenants/") if "/blobs/" in k} == stored
    done = collect(store, grace_s=0)
    assert done.blobs == len(stored) and done.blob_bytes == used_before
    assert [k for k in store.list("tenants/") if "/blobs/" in k] == []
    assert registry.usage(T)[0] == 0
    assert registry.publish(T, "a", artifacts[0]).version == 5  # numbers are never reused


def test_gc_keeps_a_base_named_by_a_live_stacked_version(artifacts: list[Artifact]) -> None:
    """A tenant's version whose manifest names a domain adapter as its ``base`` keeps that
    version's blobs (live or deleted) for as long as the tenant's version lives."""
    store = MemoryStore()
    registry = AdapterRegistry(store)
    base = registry.publish("domain:medical", "ncbi-disease", artifacts[0])  # a domain's catalog
    stacked = registry.publish(T, "mine", artifacts[1])
    key = f"tenants/{T}/adapters/mine/versions/{stacked.version:08d}.json"
    raw = json.loads(store.get(key).data)  # the manifest's base field, built by hand
    raw["manifest"]["base"] = {"domain": "medical", "name": "ncbi-disease", "version": base.version, "digest": "0" * 64}
    store.put(key, json.dumps(raw).encode())
    base_blobs = {f"domains/medical/blobs/{f.sha256}" for f in base.manifest.files.values()}
    registry.delete("domain:medical", "ncbi-disease")
    collect(store, grace_s=0)
    assert base_blobs <= set(store.list("domains/medical/blobs/"))  # kept: the stacked version needs them
    tombstone = json.loads(store.get("domains/medical/adapters/ncbi-disease/tombstones/00000001").data)
    assert tombstone["record"]["version"] == base.version  # and the base's record
    registry.delete(T, "mine")
    collect(store, grace_s=0)
    assert store.list("domains/medical/blobs/") == []  # no live version names it any more


def test_gc_keeps_blobs_an_upload_just_wrote(artifacts: list[Artifact]) -> None:
    store = MemoryStore()
    data = artifacts[0].files["adapter_model.safetensors"]
    store.put(f"tenants/{T}/blobs/{sha256_hex(data)}", data)  # an upload in flight: not claimed yet
    assert collect(store, grace_s=60).kept_blobs == 1 and store.list("tenants/")


def test_a_damaged_blob_is_rewritten_by_the_next_upload_of_it(store: ObjectStore, artifacts: list[Artifact]) -> None:
    registry = AdapterRegistry(store)
    record = registry.publish(T, "victim", artifacts[0])
    digest = record.manifest.files["adapter_model.safetensors"].sha256
    key = f"tenants/{T}/blobs/{digest}"
    data = bytearray(store.get(key).data)
    data[100] ^= 0xFF
    store.put(key, bytes(data))
    with pytest.raises(IntegrityError):
        registry.read_files(record)
    report = verify(store)
    assert [(d.kind, d.what) for d in report.damaged] == [("blob", digest)]
    again = registry.publish(T, "victim", artifacts[0])
    assert registry.read_files(record) == registry.read_files(again)  # both whole again
    assert verify(store).damaged == []


def test_verify_quarantines_and_listing_skips_a_damaged_record(artifacts: list[Artifact]) -> None:
    store = MemoryStore()
    registry = AdapterRegistry(store)
    for artifact in artifacts[:2]:
        registry.publish(T, "a", artifact)
    key = f"tenants/{T}/adapters/a/versions/00000001.json"
    store.put(key, store.get(key).data[:40])  # truncated
    [listing] = registry.listings(T)
    assert [r.version for r in listing.versions] == [2] and listing.damaged == [1]
    report = verify(store, quarantine=True)
    assert [(d.kind, d.what, d.quarantined) for d in report.damaged] == [("record", "a@1", True)]
    assert registry.listings(T)[0].damaged == []
    assert [k for k in store.list("quarantine/") if k.startswith(f"quarantine/{key}.")]
    assert tombstones(registry, T, "a") == set()


def test_concurrent_pushes_and_deletes_on_the_local_store(tmp_path: Path, artifacts: list[Artifact]) -> None:
    """Intents come and go under one directory: a delete pruning it must not fail a put."""
    import threading

    registry = AdapterRegistry(LocalStore(tmp_path / "store"))
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for n in range(6):
                record = registry.publish(T, f"c{i}", artifacts[(i + n) % len(artifacts)])
                if n % 2:
                    registry.delete(T, f"c{i}", str(record.version))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert registry.store.list("intents/") == []
    assert all(len(registry.versions(T, f"c{i}")) == 3 for i in range(6))
