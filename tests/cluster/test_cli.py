"""`adapter-hub cluster up | status | down`, in-process, without starting Ray: the refusals, the
state folder's reading, and the settings handed to the replicas."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.cli import cluster_commands
from hub.cli.cluster_commands import settings_environ
from hub.cli.main import main
from hub.cluster.routes import routes_for
from hub.config.settings import Settings

WAIT_S = "30"  # `cluster down --wait`: only a bound for a broken command


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[Path, float]]:
    """No ADAPTER_HUB_* setting from the caller's shell, the default store under tmp_path, and
    no supervisor started: a test that reaches the start records it instead of starting Ray."""
    for name in list(os.environ):
        if name.startswith("ADAPTER_HUB_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    started: list[tuple[Path, float, dict[str, str]]] = []

    def start(state_dir: Path, wait: float, secrets: dict[str, str]) -> int:
        started.append((state_dir, wait, secrets))
        return 0

    monkeypatch.setattr(cluster_commands, "_start", start)
    return started


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def up(capsys: pytest.CaptureFixture[str], state_dir: Path, *flags: str) -> tuple[int, str, str]:
    return run(capsys, "cluster", "up", "--state-dir", str(state_dir), *flags)


def pem_files(tmp_path: Path) -> tuple[str, str]:
    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    cert.write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    key.write_text("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n")
    return str(cert), str(key)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--port", "0"], "give the proxy's port with --port (0 is not allowed for a cluster)"),
        (["--replicas", "0"], "--replicas must be 1 or more"),
        (["--replicas", "3", "--max-replicas", "2"], "--max-replicas at least --replicas"),
        (["--auth", "on"], "auth is on (not loopback with a local store): set ADAPTER_HUB_ADMIN_KEY"),
        (
            ["--host", "0.0.0.0", "--insecure"],
            "auth is on (not loopback with a local store): set ADAPTER_HUB_ADMIN_KEY",
        ),
    ],
)
def test_up_refuses_a_cluster_it_cannot_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, clean_environment: list[Any], flags: list[str], message: str
) -> None:
    code, out, err = up(capsys, tmp_path / "state", *flags)
    assert code == 2 and message in err and err.startswith("error: ")
    assert clean_environment == [] and not (tmp_path / "state").exists()


def test_up_refuses_tls_settings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, clean_environment: list[Any]
) -> None:
    cert, key = pem_files(tmp_path)
    code, _, err = up(capsys, tmp_path / "state", "--tls-cert", cert, "--tls-key", key)
    assert code == 2 and "Ray Serve's gRPC proxy has no TLS: terminate TLS in front of it" in err
    assert clean_environment == []


def test_up_lists_every_problem_at_once(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = up(capsys, tmp_path / "state", "--port", "0", "--replicas", "0", "--auth", "on")
    assert code == 2
    for message in ("--port", "--replicas must be 1 or more", "set ADAPTER_HUB_ADMIN_KEY"):
        assert message in err


def test_up_with_an_admin_key_accepts_auth_and_another_host(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, clean_environment: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADAPTER_HUB_ADMIN_KEY", "operator-key")
    state = tmp_path / "state"
    code, _, err = up(capsys, state, "--host", "0.0.0.0", "--insecure", "--port", "50111", "--replicas", "2")
    # the key goes to the supervisor's environment (the replicas inherit it), not to config.json
    assert (code, err) == (0, "") and clean_environment == [(state, 600.0, {"ADAPTER_HUB_ADMIN_KEY": "operator-key"})]
    config = json.loads((state / "config.json").read_text())
    assert (config["host"], config["port"], config["replicas"]) == ("0.0.0.0", 50111, 2)
    assert "ADAPTER_HUB_ADMIN_KEY" not in config["environ"]
    assert "operator-key" not in (state / "config.json").read_text()


def test_a_bad_setting_value_is_refused_naming_the_setting(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, clean_environment: list[Any]
) -> None:
    code, _, err = up(capsys, tmp_path / "state", "--max-batch-size", "abc")
    assert code == 2 and "ADAPTER_HUB_MAX_BATCH_SIZE" in err and "--max-batch-size" in err and "'abc'" in err
    assert clean_environment == []


def test_up_writes_the_config_every_replica_starts_with(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, clean_environment: list[Any]
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "state.json").write_text(json.dumps({"phase": "stopped", "pid": os.getpid()}))
    (state / "status.json").write_text("{}")
    flags = ["--port", "50112", "--replicas", "2", "--max-replicas", "4", "--max-batch-size", "8", "--wait", "5"]
    code, _, err = up(capsys, state, *flags, "--models-per-replica", "16", "--no-s3-create-bucket")
    assert (code, err) == (0, "") and clean_environment == [(state, 5.0, {"ADAPTER_HUB_ADMIN_KEY": ""})]
    assert not (state / "state.json").exists() and not (state / "status.json").exists()  # an earlier run's
    config = json.loads((state / "config.json").read_text())
    assert {k: config[k] for k in ("replicas", "max_replicas", "models_per_replica", "port", "host")} == {
        "replicas": 2,
        "max_replicas": 4,
        "models_per_replica": 16,
        "port": 50112,
        "host": "127.0.0.1",
    }
    replica_settings = Settings.from_env(config["environ"])
    assert replica_settings.max_batch_size == 8 and replica_settings.port == 50112
    assert replica_settings.store == str(tmp_path / "data" / "adapter-hub" / "store")


def test_settings_environ_round_trips(tmp_path: Path) -> None:
    defaults = Settings.from_env({})
    assert Settings.from_env(settings_environ(defaults)) == defaults
    cert, key = pem_files(tmp_path)
    changed = Settings.from_env(
        {},
        host="::1",
        max_batch_size=8,
        max_batch_wait_ms=0.25,
        insecure=True,
        s3_create_bucket=True,
        auth="on",
        admin_key="k e y",
        tls_cert=cert,
        tls_key=key,
        store=str(tmp_path / "store"),
        pin="acme/sent@2,acme/other",
        log_format="json",
    )
    environ = settings_environ(changed)
    assert environ["ADAPTER_HUB_INSECURE"] == "true" and environ["ADAPTER_HUB_MAX_BATCH_WAIT_MS"] == "0.25"
    secrets = settings_environ(changed, secrets=True)
    assert secrets == {"ADAPTER_HUB_ADMIN_KEY": "k e y"}  # kept apart: never written to the state folder
    assert "ADAPTER_HUB_ADMIN_KEY" not in environ
    assert Settings.from_env(environ | secrets) == changed


def write_state(state_dir: Path, pid: int, phase: str = "running") -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    state = {"pid": pid, "phase": phase, "target": "127.0.0.1:50113", "config": {"replicas": 1}}
    (state_dir / "state.json").write_text(json.dumps(state))


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()  # exited and reaped: no process has this pid now
    return process.pid


def test_status_and_down_without_a_cluster(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    state = tmp_path / "none"
    code, out, err = run(capsys, "cluster", "status", "--state-dir", str(state))
    assert code == 1 and out == "" and f"no cluster is running from {state}" in err
    code, out, err = run(capsys, "cluster", "down", "--state-dir", str(state))
    assert code == 0 and f"no cluster is running from {state}" in err


@pytest.mark.parametrize("content", ["{not json", json.dumps({"pid": "123", "phase": "running"})])
def test_an_unreadable_state_is_no_cluster(capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str) -> None:
    tmp_path.joinpath("state.json").write_text(content)
    assert run(capsys, "cluster", "status", "--state-dir", str(tmp_path))[0] == 1
    assert run(capsys, "cluster", "down", "--state-dir", str(tmp_path))[0] == 0


def test_a_state_naming_a_dead_supervisor_is_no_cluster(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write_state(tmp_path, dead_pid())
    code, _, err = run(capsys, "cluster", "status", "--state-dir", str(tmp_path))
    assert code == 1 and "no cluster is running" in err
    code, out, err = run(capsys, "cluster", "down", "--state-dir", str(tmp_path))
    assert code == 0 and "no cluster is running" in err and "cluster stopped" not in out


def test_a_stopped_or_starting_cluster_has_no_status(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for phase in ("stopped", "failed", "starting"):
        write_state(tmp_path, os.getpid(), phase)  # a live pid, but not a running cluster
        assert run(capsys, "cluster", "status", "--state-dir", str(tmp_path))[0] == 1


def test_status_shows_what_the_supervisor_published(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write_state(tmp_path, os.getpid())  # this process stands for a live supervisor (status sends no signal)
    replica = {"id": "r1", "pid": 4242, "resident": ["sent@1", "other@2"], "loads": 3, "queued": 0}
    replica |= {"metrics": "127.0.0.1:40001", "ready": True}
    draining = replica | {"id": "r2", "pid": 4243, "resident": [], "metrics": "127.0.0.1:40002", "ready": False}
    published = {"updated": 1.0, "replicas": [replica, draining]}  # long ago: stale
    (tmp_path / "status.json").write_text(json.dumps(published))
    code, out, _ = run(capsys, "cluster", "status", "--state-dir", str(tmp_path))
    assert code == 0
    assert out.splitlines() == [
        "cluster on 127.0.0.1:50113: 2 replica(s) (stale)",
        "  r1  pid 4242  ready  metrics http://127.0.0.1:40001/metrics  loads 3  queued 0  resident sent@1, other@2",
        "  r2  pid 4243  draining  metrics http://127.0.0.1:40002/metrics  loads 3  queued 0  resident -",
        f"  Prometheus targets (file_sd_configs): {tmp_path / 'prometheus.json'}",
    ]
    code, out, _ = run(capsys, "cluster", "status", "--state-dir", str(tmp_path), "--json")
    report = json.loads(out)
    assert code == 0 and report["target"] == "127.0.0.1:50113" and report["replicas"] == [replica, draining]
    assert report["updated"] == 1.0


def test_up_refuses_while_a_cluster_runs_from_the_state_dir(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write_state(tmp_path, os.getpid())
    code, _, err = up(capsys, tmp_path)
    assert code == 2 and f"a cluster runs from {tmp_path} (pid {os.getpid()}): `cluster down` first" in err


@pytest.fixture
def supervisor() -> Iterator[subprocess.Popen[bytes]]:
    """A live process standing for the supervisor, reaped as soon as it exits."""
    process = subprocess.Popen(["sleep", "600"])
    reaper = threading.Thread(target=process.wait, daemon=True)
    reaper.start()
    yield process
    if process.poll() is None:
        process.kill()
    reaper.join(10)


def test_down_stops_the_supervisor(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, supervisor: subprocess.Popen[bytes]
) -> None:
    write_state(tmp_path, supervisor.pid)
    code, out, _ = run(capsys, "cluster", "down", "--state-dir", str(tmp_path), "--wait", WAIT_S)
    assert (code, out) == (0, "cluster stopped\n")
    assert supervisor.wait(10) == -signal.SIGTERM


def test_routing_keys_per_replica_follow_the_device_budget(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, clean_environment: list[Any]
) -> None:
    state = tmp_path / "state"
    code, _, err = up(capsys, state, "--port", "50114", "--device-cache-bytes", str(512 << 20))
    assert (code, err) == (0, "")
    assert json.loads((state / "config.json").read_text())["models_per_replica"] == 512  # 512 MiB / 1 MiB
    assert routes_for(2 << 30) == 2048 and routes_for(1 << 20) == 16  # never fewer than 16


STAND_IN_SUPERVISOR = """
import json, signal, sys, time
from pathlib import Path
state_dir = Path(sys.argv[1])

def rescale(*_):
    wanted = json.loads((state_dir / "config.json").read_text())["replicas"]
    replicas = [{"id": f"r{i}", "ready": True} for i in range(wanted)]
    (state_dir / "status.json").write_text(json.dumps({"updated": time.time(), "replicas": replicas}))
    state = json.loads((state_dir / "state.json").read_text())
    state["config"]["replicas"] = wanted
    (state_dir / "state.json").write_text(json.dumps(state))

signal.signal(signal.SIGHUP, rescale)
print("ready", flush=True)
time.sleep(60)
"""


def test_scale_rewrites_the_count_and_waits_for_the_supervisor(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`cluster scale`: config.json gets the new count, the supervisor gets SIGHUP (it redeploys),
    and the command returns once the directory lists that many ready replicas."""
    process = subprocess.Popen(
        [sys.executable, "-c", STAND_IN_SUPERVISOR, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
        write_state(tmp_path, process.pid)
        state = json.loads((tmp_path / "state.json").read_text())
        (tmp_path / "state.json").write_text(json.dumps(state | {"config": {"replicas": 2}}))
        (tmp_path / "config.json").write_text(json.dumps({"replicas": 2, "port": 50113, "max_replicas": 0}))
        code, out, err = run(
            capsys, "cluster", "scale", "--replicas", "1", "--state-dir", str(tmp_path), "--wait", "30"
        )
        assert (code, out, err) == (0, "cluster scaled to 1 replica(s)\n", "")
        assert json.loads((tmp_path / "config.json").read_text()) == {"replicas": 1, "port": 50113, "max_replicas": 0}
        assert process.poll() is None  # SIGHUP is not a stop
    finally:
        process.kill()
        process.wait(10)


def test_scale_refuses_a_bad_count_and_a_missing_cluster(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "cluster", "scale", "--replicas", "1", "--state-dir", str(tmp_path))
    assert code == 1 and "no cluster is running" in err
    write_state(tmp_path, os.getpid())
    code, _, err = run(capsys, "cluster", "scale", "--replicas", "0", "--state-dir", str(tmp_path))
    assert code == 2 and "--replicas must be 1 or more" in err
