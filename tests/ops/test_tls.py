"""TLS and mutual TLS through the real server: plaintext refused with a clear error, client
certificates required under mTLS, certificates rotated without a restart, the CLI over TLS."""

from __future__ import annotations

import shutil
from pathlib import Path

import grpc
import pytest
from adapter_hub_client import HubClient, Unavailable

from hub.cli.main import main as cli_main
from hub.config.settings import Settings, SettingsError
from tests.fixtures.certs import Authority, Issued

pytestmark = pytest.mark.integration


def tls_hub(start_hub, runtime, cert: Issued, client_ca: Path | None = None):  # type: ignore[no-untyped-def]
    server, _ = start_hub(runtime, tls_cert=str(cert.cert), tls_key=str(cert.key), tls_client_ca=str(client_ca or ""))
    return server, f"127.0.0.1:{server.port}"


def test_tls_server_refuses_a_plaintext_client_with_a_clear_error(  # type: ignore[no-untyped-def]
    start_hub, tiny_runtime, authority: Authority, server_cert: Issued
) -> None:
    server, target = tls_hub(start_hub, tiny_runtime, server_cert)
    with HubClient(target, timeout=10, retries=0) as plain, pytest.raises(Unavailable) as caught:
        plain.list_tasks()
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "serves TLS" in caught.value.details() and "--tls-ca" in caught.value.details()
    with HubClient(target, timeout=10, retries=0, tls_ca=authority.ca) as secure:
        assert secure.serving()
        assert secure.list_tasks()


def test_tls_client_against_a_plaintext_server_says_so(start_hub, tiny_runtime, authority: Authority) -> None:  # type: ignore[no-untyped-def]
    server, _ = start_hub(tiny_runtime)
    client = HubClient(f"127.0.0.1:{server.port}", timeout=10, retries=0, tls_ca=authority.ca)
    with client, pytest.raises(Unavailable, match="does not speak TLS"):
        client.list_tasks()


def test_a_certificate_from_another_ca_is_not_trusted(  # type: ignore[no-untyped-def]
    start_hub, tiny_runtime, tmp_path: Path, server_cert: Issued
) -> None:
    _, target = tls_hub(start_hub, tiny_runtime, server_cert)
    stranger = Authority(tmp_path / "other", name="other CA")
    with HubClient(target, timeout=10, retries=0, tls_ca=stranger.ca) as client, pytest.raises(grpc.RpcError) as caught:
        client.list_tasks()
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "CERTIFICATE_VERIFY_FAILED" in caught.value.details()


def test_mutual_tls_requires_a_client_certificate(  # type: ignore[no-untyped-def]
    start_hub, tiny_runtime, tmp_path: Path, authority: Authority, server_cert: Issued, client_cert: Issued
) -> None:
    _, target = tls_hub(start_hub, tiny_runtime, server_cert, client_ca=authority.ca)
    with (
        HubClient(target, timeout=10, retries=0, tls_ca=authority.ca) as anonymous,
        pytest.raises(grpc.RpcError) as caught,
    ):
        anonymous.list_tasks()
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "client certificate" in caught.value.details()
    forged = Authority(tmp_path / "forger", name="forger CA").issue("tenant-client", client=True)
    impostor = HubClient(target, timeout=10, retries=0, tls_ca=authority.ca, tls_cert=forged.cert, tls_key=forged.key)
    with impostor, pytest.raises(grpc.RpcError):
        impostor.list_tasks()
    with HubClient(
        target, timeout=10, retries=0, tls_ca=authority.ca, tls_cert=client_cert.cert, tls_key=client_cert.key
    ) as client:
        assert client.list_tasks()


def test_a_rotated_certificate_is_served_without_a_restart(  # type: ignore[no-untyped-def]
    start_hub, tiny_runtime, tmp_path: Path, authority: Authority, server_cert: Issued
) -> None:
    server, target = tls_hub(start_hub, tiny_runtime, server_cert)
    with HubClient(target, timeout=10, retries=0, tls_ca=authority.ca) as before:
        assert before.list_tasks()
    successor = Authority(tmp_path / "next", name="next CA")
    renewed = successor.issue("hub-server", stem="renewed")
    for source, live in ((renewed.key, server_cert.key), (renewed.cert, server_cert.cert)):
        shutil.copy(source, live.with_suffix(".new"))
        live.with_suffix(".new").replace(live)  # rotated by rename, as cert-manager and certbot do
    with HubClient(target, timeout=10, retries=0, tls_ca=successor.ca) as after:
        assert after.list_tasks()  # a new connection: the new certificate, same process
    assert server.certificates is not None and server.certificates.reloads == 1
    with HubClient(target, timeout=10, retries=0, tls_ca=authority.ca) as stale, pytest.raises(grpc.RpcError) as caught:
        stale.list_tasks()  # the old CA no longer vouches for what the server presents
    assert "CERTIFICATE_VERIFY_FAILED" in caught.value.details()


def test_a_half_written_certificate_keeps_the_current_one(  # type: ignore[no-untyped-def]
    start_hub, tiny_runtime, authority: Authority, server_cert: Issued
) -> None:
    server, target = tls_hub(start_hub, tiny_runtime, server_cert)
    server_cert.cert.write_bytes(b"-----BEGIN CERT")  # caught mid-write
    with HubClient(target, timeout=10, retries=0, tls_ca=authority.ca) as client:
        assert client.list_tasks()
    assert server.certificates is not None and server.certificates.reloads == 0


def test_the_cli_works_over_mutual_tls(  # type: ignore[no-untyped-def]
    start_hub, tiny_runtime, authority: Authority, server_cert: Issued, client_cert: Issued, capsys, monkeypatch
) -> None:
    _, target = tls_hub(start_hub, tiny_runtime, server_cert, client_ca=authority.ca)
    flags = ["--target", target, "--tls-ca", str(authority.ca), "--tls-cert", str(client_cert.cert)]
    assert cli_main(["tasks", *flags, "--tls-key", str(client_cert.key)]) == 0
    assert "generic.sequence_classification" in capsys.readouterr().out
    monkeypatch.setenv("ADAPTER_HUB_TLS_CA", str(authority.ca))  # the same through the environment
    monkeypatch.setenv("ADAPTER_HUB_TLS_CLIENT_CERT", str(client_cert.cert))
    monkeypatch.setenv("ADAPTER_HUB_TLS_CLIENT_KEY", str(client_cert.key))
    assert cli_main(["tasks", "--target", target]) == 0
    assert "generic.sequence_classification" in capsys.readouterr().out
    monkeypatch.delenv("ADAPTER_HUB_TLS_CA")
    monkeypatch.delenv("ADAPTER_HUB_TLS_CLIENT_CERT")
    monkeypatch.delenv("ADAPTER_HUB_TLS_CLIENT_KEY")
    assert cli_main(["tasks", "--target", target, "--timeout", "10"]) == 1
    assert "serves TLS" in capsys.readouterr().err
    assert cli_main(["tasks", "--target", target, "--tls-ca", str(authority.ca), "--tls-cert", "x"]) == 2


def test_settings_check_tls_files_and_plaintext_beyond_loopback(tmp_path: Path, server_cert: Issued) -> None:
    base = {"store": str(tmp_path / "store")}
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(environ={}, **base, tls_cert=str(server_cert.cert), tls_client_ca=str(tmp_path / "missing"))
    problems = "\n".join(caught.value.problems)
    assert "ADAPTER_HUB_TLS_CLIENT_CA (--tls-client-ca) is not a file" in problems
    with pytest.raises(SettingsError, match="go together"):
        Settings.from_env(environ={}, **base, tls_cert=str(server_cert.cert))
    with pytest.raises(SettingsError, match="--insecure"):
        Settings.from_env(environ={}, **base, host="0.0.0.0")
    assert Settings.from_env(environ={}, **base, host="0.0.0.0", insecure=True).insecure
    served = Settings.from_env(
        environ={}, **base, host="0.0.0.0", tls_cert=str(server_cert.cert), tls_key=str(server_cert.key)
    )
    assert served.tls_cert == str(server_cert.cert)
