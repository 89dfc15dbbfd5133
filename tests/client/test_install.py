"""`pip install ./clients/python` in a fresh virtual environment brings grpcio and protobuf and
nothing of the server (no torch, transformers, peft, boto3, numpy), and the installed client,
outside this repository, drives a running hub with both its clients.

pip builds the client from a copy of clients/python (its build backend and its two dependencies
come from the package index; pip's cache makes later runs fast). Skipped, saying so, when the
index cannot be reached.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from adapter_hub_client import HubClient

from tests.client.conftest import SEQ, SEQ_LABELS, LiveHub

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SERVER_ONLY = {"torch", "transformers", "peft", "boto3", "botocore", "numpy", "safetensors", "adapter-hub"}

SCRIPT = """
import asyncio, sys
from adapter_hub_client import AsyncHubClient, HubClient, NotFound

target, key = sys.argv[1], sys.argv[2]
with HubClient(target, api_key=key) as hub:
    [p] = hub.predict("solo", ["a fine day"])
    try:
        hub.predict("nobody", ["x"])
    except NotFound as e:
        missing = e.status

async def main():
    async with AsyncHubClient(target, api_key=key) as hub:
        return [q.served_by for q in await hub.predict("solo@1", ["x", "y"])]

print(p.served_by, p.predicted[0] in ("negative", "positive"), missing, asyncio.run(main()))
assert "torch" not in sys.modules and "hub" not in sys.modules
"""


def run(*args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_FIND_LINKS")}
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env, timeout=600, **kwargs)  # type: ignore[call-overload]


def test_the_installed_client_brings_no_server_dependencies(live_hub: LiveHub, tmp_path: Path) -> None:
    source = tmp_path / "client-source"  # a copy: pip builds beside the sources
    shutil.copytree(
        ROOT / "clients/python", source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", venv).returncode == 0
    python = venv / "bin/python"
    installed = run(python, "-m", "pip", "install", "-q", "--timeout", "30", source)
    if installed.returncode != 0:
        reach = run(python, "-m", "pip", "download", "-q", "--no-deps", "--timeout", "15", "-d", tmp_path / "probe",
                    "protobuf")  # fmt: skip
        if reach.returncode != 0:
            pytest.skip(f"the package index is unreachable, cannot install grpcio/protobuf: {reach.stderr[-300:]}")
    assert installed.returncode == 0, installed.stderr

    listing = run(python, "-m", "pip", "list", "--format=json")
    names = {p["name"].lower().replace("_", "-") for p in json.loads(listing.stdout)}
    assert {"adapter-hub-client", "grpcio", "protobuf"} <= names
    assert names & SERVER_ONLY == set(), f"server dependencies installed: {names & SERVER_ONLY}"

    with HubClient(live_hub.target, api_key=live_hub.tenant_key) as hub:
        hub.push(live_hub.plain, "solo", task=SEQ, labels=SEQ_LABELS)
    script = tmp_path / "drive.py"
    script.write_text(textwrap.dedent(SCRIPT))
    drove = run(python, script, live_hub.target, live_hub.tenant_key, cwd=tmp_path)  # outside the repository
    assert drove.returncode == 0, drove.stderr
    assert drove.stdout.split() == ["solo@1", "True", "NOT_FOUND", "['solo@1',", "'solo@1']"]
