"""`adapter-hub serve` as a real process, driven by the CLI's client commands."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from adapter_hub_client import HubClient

from tests.integration.conftest import SEQ_LABELS, TOKEN_LABELS

pytestmark = pytest.mark.integration
CLI = [sys.executable, "-m", "hub.cli.main"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_serving(target: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    with HubClient(target, timeout=2) as client:
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                if client.serving():
                    return
            except Exception:  # noqa: BLE001 - not listening yet
                pass
            time.sleep(0.2)
    raise TimeoutError("server did not become SERVING")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    env = {
        **os.environ,
        "ADAPTER_HUB_STORE": str(tmp_path / "store"),
        "ADAPTER_HUB_DEVICE": "cpu",
        "ADAPTER_HUB_SHUTDOWN_GRACE_S": "120",
    }
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    target = f"127.0.0.1:{port}"
    try:
        wait_serving(target, process)
        yield target, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(30)


def cli(target: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ADAPTER_HUB_TARGET": target}
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=120)


def test_push_predict_list_and_errors(served, packaged_adapters) -> None:  # type: ignore[no-untyped-def]
    target, _ = served
    pushed = cli(target, "push", str(packaged_adapters["seq"]), "--name", "sentiment",
                 "--task", "generic.sequence_classification", "--labels", ",".join(SEQ_LABELS))  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.startswith("sentiment@1")
    cli(target, "push", str(packaged_adapters["token"]), "--name", "ner",
        "--task", "generic.token_classification", "--labels", ",".join(TOKEN_LABELS))  # fmt: skip

    out = cli(target, "predict", "--adapter", "sentiment", "--json", "great results", "awful day")
    assert out.returncode == 0, out.stderr
    results = [json.loads(line) for line in out.stdout.splitlines()]  # JSON Lines: one object per text
    assert len(results) == 2 and results[0]["version"] == "1"
    array = cli(target, "predict", "--adapter", "sentiment", "--json-array", "great results", "awful day")
    assert json.loads(array.stdout) == results  # the old shape, on request
    assert {x["label"] for x in results[0]["labels"]} == set(SEQ_LABELS)
    assert abs(sum(x["score"] for x in results[0]["labels"]) - 1) < 1e-4

    text = "Ibuprofen caused renal failure in two patients."
    out = cli(target, "predict", "--adapter", "ner@1", "--json", text)
    entities = json.loads(out.stdout)["entities"]
    assert all(text[e["start"] : e["end"]] == e["text"] for e in entities)

    human = cli(target, "predict", "--adapter", "sentiment", "great results")
    assert "sentiment@1" in human.stdout and "positive" in human.stdout

    listing = json.loads(cli(target, "adapters", "--json").stdout)
    assert [(a["name"], [v["version"] for v in a["versions"]]) for a in listing] == [
        ("ner", ["1"]),
        ("sentiment", ["1"]),
    ]
    assert listing[1]["versions"][0]["size_bytes"] > 0

    missing = cli(target, "predict", "--adapter", "nope", "--json", "x")
    assert missing.returncode != 0 and missing.stdout == ""
    assert "NOT_FOUND" in missing.stderr and "nope" in missing.stderr
    empty = cli(target, "predict", "--adapter", "sentiment", "")
    assert empty.returncode != 0 and "INVALID_ARGUMENT" in empty.stderr


def test_sigterm_drains_in_flight_calls(served, packaged_adapters) -> None:  # type: ignore[no-untyped-def]
    target, process = served
    with HubClient(target, timeout=120) as client:
        client.push(
            packaged_adapters["seq"],
            "s",
            task="generic.sequence_classification",
            labels=list(SEQ_LABELS),
        )
        texts = [" ".join(["long sentence about markets"] * 25)] * 48
        outcome: dict[str, object] = {}

        def call() -> None:
            try:
                outcome["response"] = client.predict("s", texts)
            except Exception as exc:  # noqa: BLE001 - reported, not swallowed
                outcome["error"] = exc

        worker = threading.Thread(target=call)
        worker.start()
        time.sleep(0.5)
        assert worker.is_alive(), "the call ended before SIGTERM: make it longer"
        process.send_signal(signal.SIGTERM)
        worker.join(120)
    assert "error" not in outcome, outcome.get("error")
    assert len(outcome["response"]) == 48  # type: ignore[attr-defined]
    assert process.wait(60) == 0


def test_serve_refuses_non_loopback_without_auth(tmp_path: Path) -> None:
    result = subprocess.run([*CLI, "serve", "--host", "0.0.0.0", "--insecure", "--store", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2 and "loopback" in result.stderr


def test_serve_help_lists_every_option() -> None:
    result = subprocess.run([*CLI, "serve", "--help"], capture_output=True, text=True, timeout=60)
    for option in ("--host", "--port", "--store", "--backbone", "--device", "--dtype"):
        assert option in result.stdout
    for variable in (
        "ADAPTER_HUB_HOST",
        "ADAPTER_HUB_STORE",
        "ADAPTER_HUB_BACKBONE",
        "ADAPTER_HUB_DEVICE",
    ):
        assert variable in result.stdout
