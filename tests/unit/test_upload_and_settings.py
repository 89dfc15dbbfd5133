from pathlib import Path

import pytest

from hub.config.settings import Settings, SettingsError
from hub.errors import InvalidArgument, ResourceExhausted
from hub.plugins.manager import build_plugins
from hub.serving.app import build_service
from hub.serving.upload import UploadAssembler, UploadHeader


def test_chunks_assemble_into_files() -> None:
    a = UploadAssembler(max_bytes=100)
    a.add_header(UploadHeader("x"))
    a.add_chunk("f1", b"ab")
    a.add_chunk("f1", b"cd")
    a.add_chunk("f2", b"e")
    header, files = a.finish()
    assert header.name == "x" and files == {"f1": b"abcd", "f2": b"e"}


def test_upload_protocol_errors() -> None:
    a = UploadAssembler(max_bytes=4)
    with pytest.raises(InvalidArgument, match="start with a header"):
        a.add_chunk("f", b"x")
    a.add_header(UploadHeader("x"))
    with pytest.raises(InvalidArgument, match="once"):
        a.add_header(UploadHeader("y"))
    a.add_chunk("f1", b"a")
    a.add_chunk("f2", b"b")
    with pytest.raises(InvalidArgument, match="sent twice"):
        a.add_chunk("f1", b"c")
    with pytest.raises(ResourceExhausted):
        a.add_chunk("f2", b"cdef")
    with pytest.raises(InvalidArgument, match="empty upload"):
        UploadAssembler(max_bytes=1).finish()


def test_settings_read_environment_then_overrides() -> None:
    env = {"ADAPTER_HUB_PORT": "6000", "ADAPTER_HUB_DEVICE": "cpu", "ADAPTER_HUB_STORE": "/tmp/s"}
    s = Settings.from_env(env, port=7000)
    assert (s.port, s.device, s.store, s.host) == (7000, "cpu", "/tmp/s", "127.0.0.1")
    with pytest.raises(SettingsError, match="ADAPTER_HUB_PORT"):
        Settings.from_env({"ADAPTER_HUB_PORT": "many"})


def test_one_budget_bounds_the_device_tier_and_the_engines_lora_slots(tiny_backbone_dir: Path) -> None:
    env = {"ADAPTER_HUB_DEVICE_CACHE_BYTES": str(3 << 20), "ADAPTER_HUB_DEVICE": "cpu"}
    settings = Settings.from_env(env, backbone=str(tiny_backbone_dir), store="memory://one-budget")
    service = build_service(settings, build_plugins(settings, entry_points=False))
    service.load_backbone()
    assert service.cache.device.budget == 3 << 20
    assert service.runtime.engine.bank.max_bytes == 3 << 20
