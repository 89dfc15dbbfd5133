"""One pathological text against a real server: a plugin made for the test masks KEY numbers
with a backtracking regex (the medical rule before its fix: minutes on "KEY" + 19,990 blanks).
While that call runs, another tenant is answered, the health check answers, and the call is
refused within about the budget with INVALID_ARGUMENT naming the plugin and the limit."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from adapter_hub_client import HubClient
from grpc_health.v1 import health_pb2, health_pb2_grpc

from hub.plugin_api import HeadKind
from hub.testing.artifacts import random_adapter_files
from tests.plugins.distributions import SitePackages, site_packages

__all__ = ["site_packages"]
pytestmark = pytest.mark.integration
ADMIN = "operator-secret-key-for-tests"
BUDGET_S = 3.0
PLUGIN = '''
"""A plugin made for the test: its preprocessor backtracks on a long run of blanks."""
import re

from hub.plugin_api import HeadKind, Preprocessor, TaskSpec, hookimpl, replace_patterns

KEY = re.compile(r"\\bKEY\\s*[:#]?\\s*(?P<mask>\\d+)")


def mask_keys(text):
    return replace_patterns(text, [(KEY, "[KEY]")])


@hookimpl
def register_preprocessors(register):
    register(Preprocessor("snail.keys", mask_keys, "KEY numbers -> [KEY], slowly"))


@hookimpl
def register_tasks(register):
    register(TaskSpec("snail.tone", HeadKind.SEQUENCE, "a test task", labels=("a", "b"), preprocessors=("snail.keys",)))
'''


def write(directory: Path, files: dict[str, bytes]) -> Path:
    directory.mkdir()
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return directory


@pytest.fixture
def snail_hub(site_packages: SitePackages, start_hub: Any, tiny_runtime: Any, tmp_path: Path) -> Any:
    site_packages.install("hub-snail", "snail", "hub_snail", PLUGIN)
    server, _ = start_hub(tiny_runtime, auth="on", admin_key=ADMIN, plugin_budget_s=BUDGET_S, plugin_workers=2)
    target = f"127.0.0.1:{server.port}"
    admin = HubClient(target, api_key=ADMIN, timeout=60)
    clients = {
        name: HubClient(target, api_key=admin.create_tenant(name).api_key, timeout=60) for name in ("mal", "quiet")
    }
    adapter = write(
        tmp_path / "tone", random_adapter_files(tiny_runtime.spec, [("snail.tone", HeadKind.SEQUENCE, ["a", "b"])])
    )
    for client in clients.values():
        client.push(adapter, "tone")
    yield target, clients
    for client in [admin, *clients.values()]:
        client.close()


def test_a_pathological_text_costs_only_its_own_call(snail_hub: Any) -> None:
    target, clients = snail_hub
    outcome: dict[str, Any] = {}

    def pathological() -> None:
        started = time.monotonic()
        try:
            # ~2 s of backtracking per text on an idle machine: 8 texts (one hop) are past the budget anywhere
            clients["mal"].predict("tone", ["KEY" + " " * 19_990 + "!"] * 8)
        except grpc.RpcError as exc:
            outcome["error"] = exc
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=pathological)
    thread.start()
    answered = 0
    with grpc.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while thread.is_alive():
            assert len(clients["quiet"].predict("tone", ["KEY: 42 is an ordinary text"])) == 1
            status = health.Check(health_pb2.HealthCheckRequest(), timeout=5).status
            assert status == health_pb2.HealthCheckResponse.SERVING
            answered += thread.is_alive()
    thread.join()
    assert answered > 0  # the quiet tenant and the health check were answered meanwhile
    error = outcome["error"]
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "plugin 'snail'" in error.details() and "'snail.keys'" in error.details()
    assert f"budget of {BUDGET_S:g} s" in error.details()
    assert outcome["seconds"] < BUDGET_S + 5  # refused at the budget, not after the regex's minutes
    # the worker was replaced: the same tenant's next ordinary call is answered
    assert len(clients["mal"].predict("tone", ["KEY 7"])) == 1
