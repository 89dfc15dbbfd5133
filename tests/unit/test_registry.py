"""Versions, aliases, deletion, integrity and tenant scoping of the registry (local store)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from adapters_registry.registry import AdapterRegistry
from adapters_registry.storage.local import LocalStore
from hub.errors import IntegrityError, InvalidArgument, NotFound
from tests.helpers import artifact_from_dir, make_peft_adapter

SEQ = "generic.sequence_classification"


@pytest.fixture(scope="module")
def artifact(tiny_backbone_dir: Path, tiny_runtime, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    path = make_peft_adapter(
        tiny_backbone_dir,
        tmp_path_factory.mktemp("a"),
        task_type="SEQ_CLS",
        num_labels=2,
        rank=2,
        seed=5,
    )
    return artifact_from_dir(path, tiny_runtime.spec, SEQ, ("neg", "pos"))


@pytest.fixture
def registry(tmp_path: Path) -> AdapterRegistry:
    return AdapterRegistry(LocalStore(tmp_path / "store"))


def test_versions_count_up_and_latest_follows(registry: AdapterRegistry, artifact) -> None:  # type: ignore[no-untyped-def]
    assert [registry.publish("t1", "sent", artifact).version for _ in range(3)] == [1, 2, 3]
    assert registry.resolve("t1", "sent").version == 3
    assert registry.resolve("t1", "sent", "2").version == 2
    assert registry.aliases("t1", "sent") == {"latest": 3}


def test_files_round_trip_with_digests(registry: AdapterRegistry, artifact) -> None:  # type: ignore[no-untyped-def]
    record = registry.publish("t1", "sent", artifact)
    files = registry.read_files(record)
    for name, data in artifact.files.items():
        assert files[name] == data


def test_aliases_move_and_survive_reopening(registry: AdapterRegistry, artifact, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for _ in range(2):
        registry.publish("t1", "sent", artifact)
    assert registry.set_alias("t1", "sent", "prod", "1") == (None, 1)
    assert registry.set_alias("t1", "sent", "prod", "2") == (1, 2)
    reopened = AdapterRegistry(LocalStore(tmp_path / "store"))
    assert reopened.resolve("t1", "sent", "prod").version == 2
    with pytest.raises(InvalidArgument, match="read as a version number"):
        registry.set_alias("t1", "sent", "7", "1")
    with pytest.raises(NotFound):
        registry.set_alias("t1", "sent", "prod", "9")


def test_deleting_the_latest_moves_latest_back_and_numbers_are_not_reused(registry, artifact) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        registry.publish("t1", "sent", artifact)
    registry.set_alias("t1", "sent", "prod", "3")
    assert registry.delete("t1", "sent", "3") == [3]
    assert registry.resolve("t1", "sent").version == 2
    assert "prod" not in registry.aliases("t1", "sent")
    assert registry.publish("t1", "sent", artifact).version == 4
    assert registry.delete("t1", "sent") == [1, 2, 4]
    with pytest.raises(NotFound):
        registry.resolve("t1", "sent")
    assert registry.names("t1") == []


def test_tampered_blob_is_refused(registry: AdapterRegistry, artifact, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    record = registry.publish("t1", "sent", artifact)
    digest = record.manifest.files["adapter_model.safetensors"].sha256
    blob = tmp_path / "store" / "tenants" / "t1" / "blobs" / digest
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0xFF
    blob.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="does not match its sha256"):
        registry.read_files(record)


def test_tenants_do_not_see_each_other(registry: AdapterRegistry, artifact) -> None:  # type: ignore[no-untyped-def]
    registry.publish("alice", "sent", artifact)
    assert registry.names("bob") == []
    with pytest.raises(NotFound):
        registry.resolve("bob", "sent")
    with pytest.raises(InvalidArgument):
        registry.resolve("../alice", "sent")


def test_racing_publishers_each_get_their_own_version(registry: AdapterRegistry, artifact) -> None:  # type: ignore[no-untyped-def]
    versions: list[int] = []
    lock = threading.Lock()

    def publish() -> None:
        version = registry.publish("t1", "race", artifact).version
        with lock:
            versions.append(version)

    threads = [threading.Thread(target=publish) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(versions) == list(range(1, 9))
    assert registry.resolve("t1", "race").version == 8
