"""Liveness and readiness apart: the HealthState's transitions, and a real server's /livez,
/readyz, /metrics and 404s on the metrics port, its gRPC health names and the ready gauge, all
in step while loading, ready and draining."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from hub.config.settings import Settings
from hub.observe.health import HealthState, HealthView
from hub.serving.app import build_authenticator, build_service
from hub.transport.health import LIVENESS, READINESS
from hub.transport.server import HubServer

SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING


def test_health_state_transitions_and_listeners() -> None:
    state, seen = HealthState(), []
    state.listen(seen.append)
    assert seen == [HealthView(True, False, "loading")]
    state.loaded()
    state.loaded()  # no change: no second call
    state.draining()
    state.stopped()
    assert [(v.live, v.ready, v.reason) for v in seen[1:]] == [
        (True, True, "ready"),
        (True, False, "draining"),
        (False, False, "stopped"),
    ]
    failed = HealthState()
    failed.failed()
    assert (failed.live, failed.ready) == (False, False)


def get(port: int, path: str, method: str = "GET") -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def grpc_health(port: int) -> dict[str, int]:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        names = ("", LIVENESS, READINESS, "hub.api.v1.InferenceService")
        return {n: stub.Check(health_pb2.HealthCheckRequest(service=n), timeout=10).status for n in names}


def gauge(port: int) -> str:
    return next(line for line in get(port, "/metrics")[1].splitlines() if line.startswith("adapter_hub_ready "))


@pytest.mark.integration
def test_probes_follow_loading_ready_and_draining(tmp_path: Path, tiny_runtime) -> None:  # type: ignore[no-untyped-def]
    settings = Settings.from_env(environ={}, port=0, store=str(tmp_path / "store"), device="cpu")
    service = build_service(settings)
    server = HubServer(service, build_authenticator(settings, service))
    server.start(load_backbone=False)
    probes = service.telemetry.serve_http("127.0.0.1", 0)
    try:
        port = probes.port
        assert get(port, "/livez") == (200, "ok\n")
        assert get(port, "/readyz") == (503, "not ready: loading\n")
        assert gauge(port) == "adapter_hub_ready 0.0"
        assert grpc_health(server.port) == {"": NOT_SERVING, LIVENESS: SERVING, READINESS: NOT_SERVING,
                                            "hub.api.v1.InferenceService": NOT_SERVING}  # fmt: skip
        for wrong in ("/", "/healthz", "/ready", "/metrics/x", "/livez/"):
            status, body = get(port, wrong)
            assert status == 404 and "/readyz" in body, wrong
        assert get(port, "/readyz", method="HEAD")[0] == 503

        service.attach_runtime(tiny_runtime)  # loaded
        assert get(port, "/readyz") == (200, "ok\n")
        assert gauge(port) == "adapter_hub_ready 1.0"
        assert set(grpc_health(server.port).values()) == {SERVING}

        assert service.drain(1.0)  # what SIGTERM does first: from here on not ready, still live
        assert get(port, "/readyz") == (503, "not ready: draining\n")
        assert get(port, "/livez") == (200, "ok\n")
        assert gauge(port) == "adapter_hub_ready 0.0"
        assert grpc_health(server.port) == {"": NOT_SERVING, LIVENESS: SERVING, READINESS: NOT_SERVING,
                                            "hub.api.v1.InferenceService": NOT_SERVING}  # fmt: skip
        status, metrics = get(port, "/metrics")
        assert status == 200 and "adapter_hub_ready 0.0" in metrics
    finally:
        server.stop(grace=1)
        assert get(probes.port, "/livez") == (503, "not live: stopped\n")
        probes.stop()
