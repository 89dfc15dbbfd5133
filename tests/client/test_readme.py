"""The client documentation runs: every Python block of README.md's "Clients" section and of
clients/python/README.md, in order, against a hub this test starts (target and key through the
environment, as the examples say); the grpcurl example names a real method with a valid request."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from adapter_hub_client.api.v1 import inference_pb2
from google.protobuf import json_format, symbol_database

from tests.client.conftest import LiveHub

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def section(text: str, title: str) -> str:
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def documented() -> list[str]:
    root = section((ROOT / "README.md").read_text(), "Clients")
    return blocks(root, "python") + blocks((ROOT / "clients/python/README.md").read_text(), "python")


def test_there_are_sync_and_asyncio_examples() -> None:
    code = documented()
    assert len(code) >= 5
    assert any("AsyncHubClient" in c and "asyncio.run" in c for c in code)
    assert any("with HubClient" in c for c in code)


def test_the_examples_run_against_a_hub(live_hub: LiveHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(live_hub.plain, tmp_path / "my-adapter")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ADAPTER_HUB_TARGET", live_hub.target)
    monkeypatch.setenv("ADAPTER_HUB_API_KEY", live_hub.tenant_key)
    printed = io.StringIO()
    for number, code in enumerate(documented()):
        with contextlib.redirect_stdout(printed):
            exec(compile(code, f"<client example {number}>", "exec"), {"__name__": "__main__"})
    out = printed.getvalue()
    assert "sentiment@1 [" in out and "not found: " in out and "too slow: DEADLINE_EXCEEDED" in out
    assert "INVALID_ARGUMENT" in out and "1 INVALID_ARGUMENT" in out  # the empty batch's error


def test_the_grpcurl_example_calls_a_real_method_with_a_valid_request() -> None:
    [command] = [b for b in blocks(section((ROOT / "README.md").read_text(), "Clients"), "bash") if "grpcurl" in b]
    words = shlex.split(command.replace("\\\n", " "))
    service, method = words[-1].rsplit("/", 1)
    descriptor = symbol_database.Default().pool.FindServiceByName(service).FindMethodByName(method)
    assert descriptor.input_type.full_name == "hub.api.v1.PredictRequest"
    request = json_format.Parse(words[words.index("-d") + 1], inference_pb2.PredictRequest())
    assert request.adapter.name and list(request.texts)
    assert words[words.index("-H") + 1].startswith("authorization: Bearer ")
    assert json.loads(words[words.index("-d") + 1])["texts"] == ["great product"]
