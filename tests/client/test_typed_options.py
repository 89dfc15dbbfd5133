"""The clients' options are explicit keywords: mypy refuses a misspelled one (``HubClient(timout=5)``)
where ``**options`` let it through to fail only at run time; the same for the calls' keywords."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

GOOD = """
from adapter_hub_client import AsyncHubClient, HubClient

client = HubClient("127.0.0.1:50051", timeout=5, retries=1, api_key="k", tls_ca="ca.pem")
answer = client.predict("a", ["t"], metadata=[("x-request-id", "r1")], timeout=2)
ids: str | None = answer.request_id
client.set_tenant_limits("acme", rps=2.0, unlimited_tps=True)
aclient = AsyncHubClient(keepalive_s=30, application="adapter-hub")
"""

TYPOS = {
    "HubClient(timout=5)": 'from adapter_hub_client import HubClient\nHubClient("127.0.0.1:50051", timout=5)\n',
    "AsyncHubClient(retires=1)": "from adapter_hub_client import AsyncHubClient\nAsyncHubClient(retires=1)\n",
    "predict(timout=)": 'from adapter_hub_client import HubClient\nHubClient().predict("a", ["t"], timout=2)\n',
    "set_tenant_limits(rsp=)": 'from adapter_hub_client import HubClient\nHubClient().set_tenant_limits("t", rsp=2)\n',
}


def mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(source)
    options = ["--no-incremental", "--follow-imports=silent", "--ignore-missing-imports"]
    command = [sys.executable, "-m", "mypy", *options, str(snippet)]
    env = {"MYPYPATH": str(ROOT / "clients/python"), "PATH": ""}
    return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)


def test_mypy_accepts_the_documented_options(tmp_path: Path) -> None:
    done = mypy(tmp_path, GOOD)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("case", sorted(TYPOS))
def test_mypy_refuses_a_misspelled_option(tmp_path: Path, case: str) -> None:
    done = mypy(tmp_path, TYPOS[case])
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'Unexpected keyword argument "' in done.stdout, done.stdout


def test_a_misspelled_option_fails_at_run_time_too() -> None:
    from adapter_hub_client import HubClient

    with pytest.raises(TypeError, match="timout"):
        HubClient("127.0.0.1:1", timout=5)  # type: ignore[call-arg]
