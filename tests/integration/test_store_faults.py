"""A full and a read-only local store, through the real gRPC server: RESOURCE_EXHAUSTED and
UNAVAILABLE (with a retry hint), messages that name no path, nothing left behind, and service
back as soon as the fault is gone. The store lives on a small tmpfs mounted for the test (needs
root; skipped with the reason otherwise)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from adapter_hub_client import ResourceExhausted, Unavailable

from tests.residency.conftest import write_adapter_dir

pytestmark = pytest.mark.integration


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs at tmp_path/fs, unmounted afterwards."""
    where = tmp_path / "fs"
    where.mkdir()
    done = _mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where))
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs (needs root): {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30, check=False)


def fill(directory: Path) -> Path:
    """Write until the file system is full; the filler file."""
    filler = directory / "filler"
    with contextlib.suppress(OSError), filler.open("wb") as handle:
        while True:
            handle.write(b"\0" * 65536)
            handle.flush()
    return filler


def test_a_full_store_is_resource_exhausted_and_leaves_nothing(
    start_hub: Any, tiny_runtime: Any, small_fs: Path, tmp_path: Path
) -> None:
    store = small_fs / "store"
    server, client = start_hub(tiny_runtime, store=str(store))
    spec = tiny_runtime.spec
    client.push(write_adapter_dir(tmp_path / "a", spec, seed=1), "a")
    filler = fill(small_fs)
    with pytest.raises(ResourceExhausted) as refused:
        client.push(write_adapter_dir(tmp_path / "b", spec, seed=2), "b")
    assert "full" in refused.value.message and str(small_fs) not in refused.value.message
    assert list((store / ".tmp").iterdir()) == []  # the failed write removed its temp file
    assert server.service.registry.store.fault_counts()[("put", "full")] >= 1
    assert client.predict("a", ["still served"])[0].served_by == "a@1"
    filler.unlink()
    assert client.push(write_adapter_dir(tmp_path / "b", spec, seed=2), "b").version == "1"


def test_a_read_only_store_is_unavailable_with_a_hint_and_recovers_at_once(
    start_hub: Any, tiny_runtime: Any, small_fs: Path, tmp_path: Path
) -> None:
    store = small_fs / "store"
    server, client = start_hub(tiny_runtime, store=str(store))
    spec = tiny_runtime.spec
    client.push(write_adapter_dir(tmp_path / "a", spec, seed=1), "a")
    assert _mount("-o", "remount,ro", str(small_fs)).returncode == 0
    try:
        for _ in range(4):  # more than the breaker's failures: reads must keep working
            with pytest.raises(Unavailable) as refused:
                client.push(write_adapter_dir(tmp_path / "b", spec, seed=2), "b")
            assert refused.value.retry_after_s is not None and str(small_fs) not in refused.value.message
        assert "read-only" in refused.value.message
        with pytest.raises(Unavailable):
            client.delete_adapter("a@1")
        assert client.predict("a", ["reads work"])[0].served_by == "a@1"
        assert [a.name for a in client.list_adapters()] == ["a"]
    finally:
        assert _mount("-o", "remount,rw", str(small_fs)).returncode == 0
    assert client.push(write_adapter_dir(tmp_path / "b", spec, seed=2), "b").version == "1"
    assert server.service.registry.store.fault_counts()[("put", "read_only")] >= 4
