"""Both clients over mutual TLS, configured by arguments or by the ADAPTER_HUB_TLS_* environment,
and a plaintext client told why a TLS hub closed on it (the asyncio client too)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import adapter_hub_client as ahc
import pytest

from tests.fixtures.certs import Authority

pytestmark = pytest.mark.integration


def test_both_clients_over_mutual_tls(start_hub, tiny_runtime, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    pki = Authority(tmp_path / "pki")
    server_cert, client_cert = pki.issue("hub-server", stem="server"), pki.issue("me", client=True, stem="me")
    server, _ = start_hub(tiny_runtime, tls_cert=str(server_cert.cert), tls_key=str(server_cert.key),
                          tls_client_ca=str(pki.ca))  # fmt: skip
    target = f"127.0.0.1:{server.port}"
    files = {"tls_ca": pki.ca, "tls_cert": client_cert.cert, "tls_key": client_cert.key}
    with ahc.HubClient(target, **files) as hub:
        assert hub.serving() and hub.list_adapters() == []

    async def over_tls() -> tuple[bool, list[ahc.Adapter]]:
        async with ahc.AsyncHubClient(target) as hub:  # the files from the environment
            return await hub.serving(), await hub.list_adapters()

    monkeypatch.setenv("ADAPTER_HUB_TLS_CA", str(pki.ca))
    monkeypatch.setenv("ADAPTER_HUB_TLS_CLIENT_CERT", str(client_cert.cert))
    monkeypatch.setenv("ADAPTER_HUB_TLS_CLIENT_KEY", str(client_cert.key))
    assert asyncio.run(over_tls()) == (True, [])
    for name in ("ADAPTER_HUB_TLS_CA", "ADAPTER_HUB_TLS_CLIENT_CERT", "ADAPTER_HUB_TLS_CLIENT_KEY"):
        monkeypatch.delenv(name)

    async def plaintext() -> None:
        async with ahc.AsyncHubClient(target, retries=0, timeout=10) as hub:
            await hub.list_tasks()

    with pytest.raises(ahc.Unavailable, match="serves TLS but this client speaks plaintext"):
        asyncio.run(plaintext())
    with ahc.HubClient(target, retries=0, timeout=10) as hub, pytest.raises(ahc.Unavailable, match="serves TLS"):
        list(hub.predict_stream([("r", "x", ["y"], None)]))  # a stream's failure is explained too
