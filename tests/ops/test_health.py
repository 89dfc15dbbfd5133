"""grpc.health.v1 as probes see it: NOT_SERVING while the backbone loads and once draining starts."""

from __future__ import annotations

import threading
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from hub.config.settings import Settings
from hub.serving.app import build_authenticator, build_service
from hub.transport.server import HubServer

pytestmark = pytest.mark.integration
SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING


def watch(target: str, service: str = ""):  # type: ignore[no-untyped-def]
    channel = grpc.insecure_channel(target)
    stream = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=service), timeout=120)
    return channel, stream


def test_not_serving_while_the_backbone_loads(tmp_path: Path, tiny_backbone_dir: Path) -> None:
    settings = Settings.from_env(
        environ={}, port=0, store=str(tmp_path / "store"), backbone=str(tiny_backbone_dir), device="cpu"
    )
    service = build_service(settings)
    server = HubServer(service, build_authenticator(settings, service))
    server.start(load_backbone=False)
    try:
        channel, stream = watch(f"127.0.0.1:{server.port}")
        assert next(stream).status == NOT_SERVING  # listening, backbone not loaded
        server.load_in_background()
        assert next(stream).status == SERVING
        channel.close()
    finally:
        server.stop(grace=1)


def test_health_goes_not_serving_when_draining_starts(start_hub, tiny_runtime) -> None:  # type: ignore[no-untyped-def]
    server, client = start_hub(tiny_runtime)
    target = f"127.0.0.1:{server.port}"
    channels, streams = zip(*(watch(target, name) for name in ("", "hub.api.v1.InferenceService")), strict=True)
    assert [next(s).status for s in streams] == [SERVING, SERVING]
    stopping = threading.Thread(target=server.stop, kwargs={"grace": 2})
    stopping.start()
    assert [next(s).status for s in streams] == [NOT_SERVING, NOT_SERVING]  # before the calls are cut
    stopping.join(30)
    for channel in channels:
        channel.close()
