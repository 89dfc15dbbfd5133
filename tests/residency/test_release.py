"""Unload frees the packed copy (the next load reads verified bytes again), and an evicted
adapter leaves "draining" once no request holds it, even while the engine sits idle."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

from hub.config.settings import Settings
from hub.errors import IntegrityError
from hub.scheduling.scope import CallScope
from hub.serving.app import build_service
from hub.serving.auth import Caller
from hub.serving.service import HubService, Target
from hub.serving.upload import UploadHeader
from tests.residency.conftest import adapter_files

LOCAL = Caller("local", admin=True)


@pytest.fixture(params=["fair", "fifo"])
def service(request: pytest.FixtureRequest, tiny_runtime: Any, tmp_path: Path) -> HubService:
    settings = Settings.from_env(environ={}, store=str(tmp_path / "store"), scheduler=request.param)
    built = build_service(settings)
    built.attach_runtime(tiny_runtime)
    for i in range(2):
        built.upload(LOCAL, UploadHeader(f"a{i}"), adapter_files(tiny_runtime.spec, i))
    return built


def test_an_evicted_adapter_stops_draining_when_the_engine_is_idle(service: HubService) -> None:
    first = service.predict(LOCAL, Target("a0"), ["one text"])
    assert first.adapter == "a0"
    record = service.cache.resolve("local", "a0", "")
    service.cache.device.budget = service.cache.get(record, service.runtime.pack).nbytes  # room for one
    service.cache.load(service.cache.resolve("local", "a1", ""), service.runtime.pack)  # evicts a0
    assert "local/a0@1" not in service.cache.device
    assert service.cache.status().draining == 0  # no request holds a0: the idle worker does not either
    service.close()


def test_a_call_with_a_scope_leaves_no_cycle_holding_its_adapter(service: HubService) -> None:
    """The transport passes every call's CallScope; the cancel hook must not tie the request's
    ticket (and its adapter) into a reference cycle only the cyclic GC would free."""
    gc.disable()
    try:
        for _ in range(3):
            service.predict(LOCAL, Target("a0"), ["one text"], scope=CallScope.within(30.0))
        record = service.cache.resolve("local", "a0", "")
        service.cache.device.budget = service.cache.get(record, service.runtime.pack).nbytes
        service.cache.load(service.cache.resolve("local", "a1", ""), service.runtime.pack)  # evicts a0
        assert service.cache.status().draining == 0
    finally:
        gc.enable()
        service.close()


def test_unload_frees_the_copy_and_the_next_load_verifies_the_store(service: HubService, tmp_path: Path) -> None:
    service.predict(LOCAL, Target("a0"), ["one text"])
    record = service.cache.resolve("local", "a0", "")
    digest = record.manifest.files["adapter_model.safetensors"].sha256
    blob = tmp_path / "store" / "tenants" / "local" / "blobs" / digest
    data = bytearray(blob.read_bytes())
    data[64] ^= 0xFF
    blob.write_bytes(bytes(data))  # damaged in the store meanwhile
    held = service.cache.get(record, service.runtime.pack)  # a request still holding it
    service.cache.unload(record)
    assert service.cache.status().draining == 0
    with pytest.raises(IntegrityError):
        service.predict(LOCAL, Target("a0"), ["read again from the store"])
    assert held is not None
    service.close()
