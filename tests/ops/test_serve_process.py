"""`adapter-hub serve --log-format json --metrics-port P` as a real process: JSON lines only on
stderr (no progress bars or library chatter), one per request, and /metrics on the serve host."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest
from adapter_hub_client import HubClient

from tests.integration.test_cli import CLI, free_port, wait_serving

pytestmark = pytest.mark.integration


def test_json_logs_and_metrics_of_a_served_process(tmp_path: Path, tiny_backbone_dir: Path, adapter_dir: Path) -> None:
    port, metrics_port = free_port(), free_port()
    env = {**os.environ, "ADAPTER_HUB_STORE": str(tmp_path / "store"), "ADAPTER_HUB_DEVICE": "cpu"}
    env["ADAPTER_HUB_LOG_FORMAT"] = "json"
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--metrics-port", str(metrics_port), "--backbone", str(tiny_backbone_dir)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        target = f"127.0.0.1:{port}"
        wait_serving(target, process)
        with HubClient(target, timeout=60) as client:
            client.push(adapter_dir, "sent")
            client.predict("sent", ["secret words"])
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as response:
            metrics = response.read().decode()
        assert 'adapter_hub_requests_total{code="OK",method="Predict"} 1.0' in metrics
        assert "adapter_hub_ready 1.0" in metrics
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "metrics on :" in stdout
    lines = [json.loads(line) for line in stderr.splitlines()]  # every line is JSON: no bars, no chatter
    assert "\r" not in stderr and "Loading weights" not in stderr and "secret words" not in stderr
    requests = [line for line in lines if line["logger"] == "hub.requests"]
    assert [line["method"] for line in requests] == ["UploadAdapter", "Predict"]
    assert requests[1]["adapter"] == "sent@1" and requests[1]["texts"] == 1
