"""`adapter-hub serve` as a real process: ``--config FILE`` (TOML, overridden by the environment
and flags, unknown keys refused by name), SIGHUP re-reading tenant limits and TLS certificates,
and with ``--log-format json`` a stderr of JSON lines only, even when gRPC's C core reports a
failed TLS handshake itself."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import grpc
import pytest
from adapter_hub_client import HubClient
from grpc_health.v1 import health_pb2, health_pb2_grpc

from adapters_registry.storage.factory import open_store
from adapters_registry.tenants import TenantDirectory
from tests.fixtures.certs import Authority, Issued
from tests.integration.test_cli import CLI, free_port

pytestmark = pytest.mark.integration
ADMIN = "reload-admin-key"
PEM_BYTES = 4096  # every certificate and key file padded to this size: a swap keeps the size


class Served:
    """A serve process whose stderr is collected line by line while it runs."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen([*CLI, "serve", *args], env=env, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert time.monotonic() < deadline, f"no {text!r} in the log:\n" + "\n".join(self.lines)
            assert self.process.poll() is None, "\n".join(self.lines)
            time.sleep(0.1)

    def stop(self) -> list[str]:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        self._reader.join(10)
        return self.lines


def padded(issued: Issued) -> Issued:
    for path in (issued.cert, issued.key):
        data = path.read_bytes()
        path.write_bytes(data + b"\n" * (PEM_BYTES - len(data)))
    return issued


def swap_in_place(source: Issued, target: Issued) -> None:
    """Rewrite ``target``'s files with ``source``'s, keeping size, inode and mtime: the change
    the hub's stat check cannot see, so only SIGHUP makes it take them."""
    for new, old in ((source.cert, target.cert), (source.key, target.key)):
        stat = old.stat()
        with old.open("r+b") as handle:
            handle.write(new.read_bytes())
        os.utime(old, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert (old.stat().st_size, old.stat().st_mtime_ns, old.stat().st_ino) == (
            stat.st_size, stat.st_mtime_ns, stat.st_ino)  # fmt: skip


def wait_tls_serving(target: str, ca: Path, served: Served) -> None:
    deadline = time.monotonic() + 120
    with HubClient(target, timeout=2, retries=0, tls_ca=ca) as client:
        while True:
            assert served.process.poll() is None, "\n".join(served.lines)
            try:
                if client.serving():
                    return
            except grpc.RpcError:
                pass
            assert time.monotonic() < deadline, "\n".join(served.lines)
            time.sleep(0.2)


def base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADAPTER_HUB_")}
    return env | {"ADAPTER_HUB_STORE": str(tmp_path / "store"), "ADAPTER_HUB_DEVICE": "cpu"}


def test_config_file_and_sighup_reloads_limits_and_certificates(
    tmp_path: Path, tiny_backbone_dir: Path, adapter_dir: Path
) -> None:
    first, second = Authority(tmp_path / "a", name="first CA"), Authority(tmp_path / "b", name="second CA")
    live, successor = padded(first.issue("hub", stem="server")), padded(second.issue("hub", stem="next"))
    port, metrics_port = free_port(), free_port()
    config = tmp_path / "hub.toml"
    config.write_text(
        f'port = 1\nbackbone = "{tiny_backbone_dir}"\n[auth]\nauth = "on"\n'
        f'[tls]\ntls_cert = "{live.cert}"\ntls_key = "{live.key}"\n'
        f'[observe]\nmetrics_port = {metrics_port}\nlog_format = "json"\n'
    )
    env = base_env(tmp_path) | {"ADAPTER_HUB_PORT": str(port), "ADAPTER_HUB_ADMIN_KEY": ADMIN}  # env beats the file
    served = Served(["--config", str(config), "--log-level", "INFO"], env)
    target = f"127.0.0.1:{port}"
    try:
        wait_tls_serving(target, first.ca, served)
        with HubClient(target, api_key=ADMIN, tls_ca=first.ca, retries=0) as admin:
            key = admin.create_tenant("acme", rps=1000).api_key
        with HubClient(target, api_key=key, tls_ca=first.ca, retries=0, timeout=60) as client:
            client.push(adapter_dir, "sent")
            assert client.predict("sent", ["words"]).ratelimit["x-ratelimit-limit-requests"] == "1000"
            # another server changes acme's limit in the shared store; this one would see it within 5 s
            directory = TenantDirectory(open_store(str(tmp_path / "store")))
            directory.set_limits("acme", lambda record: setattr(record, "rps", 0.5))
            swap_in_place(successor, live)  # same size, inode and mtime: invisible to the stat check
            with HubClient(target, tls_ca=second.ca, retries=0, timeout=5) as early, pytest.raises(grpc.RpcError):
                early.serving()  # still the first certificate
            served.process.send_signal(signal.SIGHUP)
            served.wait_for("reloaded on SIGHUP")
            assert client.predict("sent", ["words"]).ratelimit["x-ratelimit-limit-requests"] == "0.5"
        with HubClient(target, tls_ca=second.ca, retries=0, timeout=10) as after:
            assert after.serving()  # the new certificate, taken on SIGHUP
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/readyz", timeout=10) as response:
            assert response.status == 200  # the metrics port came from the file
    finally:
        lines = served.stop()
    assert served.process.returncode == 0, "\n".join(lines)
    records = [json.loads(line) for line in lines]  # log_format json from the file: JSON only
    assert any("limits of 1 tenant(s) re-read; TLS certificate re-read" in r["message"] for r in records)


def test_json_logs_stay_json_when_a_plaintext_client_meets_tls(
    tmp_path: Path, tiny_backbone_dir: Path, authority: Authority, server_cert: Issued
) -> None:
    port = free_port()
    args = ["--port", str(port), "--backbone", str(tiny_backbone_dir), "--log-format", "json"]
    args += ["--tls-cert", str(server_cert.cert), "--tls-key", str(server_cert.key)]
    served = Served(args, base_env(tmp_path))
    target = f"127.0.0.1:{port}"
    try:
        wait_tls_serving(target, authority.ca, served)
        with grpc.insecure_channel(target) as channel, pytest.raises(grpc.RpcError):
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=3)
        served.wait_for('"logger": "grpc.native"', timeout=10)
    finally:
        lines = served.stop()
    assert served.process.returncode == 0
    records = [json.loads(line) for line in lines]  # every line of stderr is one JSON object
    native = [r for r in records if r["logger"] == "grpc.native"]
    assert native and all(r["level"] in ("ERROR", "WARNING", "INFO") for r in native)
    assert any("handshake" in r["message"].lower() or "ssl" in r["message"].lower() for r in native)


def test_unknown_config_keys_are_refused_by_name(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('metrics_prot = 9090\n[observe]\nlog_fromat = "json"\n[nowhere]\nx = 1\n')
    done = subprocess.run([*CLI, "serve", "--config", str(config)], env=base_env(tmp_path), capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2
    assert "unknown setting 'metrics_prot' (did you mean 'metrics_port'?)" in done.stderr
    assert "unknown setting 'observe.log_fromat' (did you mean 'log_format'?)" in done.stderr
    assert "unknown setting 'nowhere'" in done.stderr
