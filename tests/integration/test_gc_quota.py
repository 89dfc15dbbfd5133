"""Garbage collection, quota and verify through the real server and the CLI: push-and-delete
cycles cannot go past `--max-bytes` until `adapter-hub gc` reclaims the deleted bytes; `tenant
list` shows the bytes really used; gc and verify need the admin key; gc's bytes are in /metrics;
a damaged blob is found by `adapter-hub verify` and repaired by pushing the same files again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from adapter_hub_client import HubClient, HubError, PermissionDenied, ResourceExhausted

from hub.cli.main import main as cli_main
from tests.residency.conftest import write_adapter_dir

pytestmark = pytest.mark.integration
ADMIN = "gc-admin-key-0123456789abcdef"


def cli(capsys: pytest.CaptureFixture[str], target: str, key: str, *argv: str) -> tuple[int, Any]:
    code = cli_main([*argv, "--target", target, "--api-key", key, "--json", "--retries", "0"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


def test_push_delete_cycles_hold_the_quota_until_gc_reclaims(
    start_hub: Any, tiny_runtime: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server, _ = start_hub(tiny_runtime, auth="on", admin_key=ADMIN, gc_grace_s=0.0, gc_interval_s=0.0)
    target = f"127.0.0.1:{server.port}"
    dirs = [write_adapter_dir(tmp_path / str(i), tiny_runtime.spec, seed=i) for i in range(4)]
    size = sum(p.stat().st_size for p in dirs[0].iterdir() if p.name != "hub_adapter.json")
    with HubClient(target, api_key=ADMIN, retries=0) as admin:
        key = admin.create_tenant("cycler", max_bytes=int(size * 2.5)).api_key
    with HubClient(target, api_key=key, retries=0) as client:
        cycles = 0
        with pytest.raises(ResourceExhausted, match="until garbage collection"):
            for i in range(4):
                client.push(dirs[i], "cyc")
                client.delete_adapter("cyc")
                cycles += 1
        assert cycles == 2  # deleted bytes count until reclaimed: the third push did not fit
        code, listed = cli(capsys, target, ADMIN, "tenant", "list")
        used = next(t["used_bytes"] for t in listed if t["tenant"] == "cycler")
        assert code == 0 and used >= 2 * size * 0.9
        with pytest.raises(PermissionDenied):
            client.collect_garbage(dry_run=True)
        code, dry = cli(capsys, target, ADMIN, "gc", "--dry-run")
        assert code == 0 and dry["dry_run"] and dry["blob_bytes"] >= used
        code, done = cli(capsys, target, ADMIN, "gc")
        assert code == 0 and done["blob_bytes"] == dry["blob_bytes"]
        assert client.push(dirs[2], "cyc").version == "3"  # room again; numbers never reused
    metrics = server.service.telemetry.exposition().decode()
    assert f"adapter_hub_gc_reclaimed_bytes_total {float(done['blob_bytes'] + done['temp_bytes'])}" in metrics
    assert "adapter_hub_gc_runs_total 1.0" in metrics


def test_verify_finds_a_damaged_blob_and_a_push_repairs_it(
    start_hub: Any, tiny_runtime: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    server, _ = start_hub(tiny_runtime, store=str(store), auth="on", admin_key=ADMIN)
    target = f"127.0.0.1:{server.port}"
    with HubClient(target, api_key=ADMIN, retries=0) as admin:
        key = admin.create_tenant("victim").api_key
    directory = write_adapter_dir(tmp_path / "a", tiny_runtime.spec, seed=7)
    with HubClient(target, api_key=key, retries=0) as client:
        client.push(directory, "victim")
        blobs = sorted((store / "tenants" / "victim" / "blobs").iterdir(), key=lambda p: p.stat().st_size)
        damaged = bytearray(blobs[-1].read_bytes())
        damaged[200] ^= 0xFF
        blobs[-1].write_bytes(bytes(damaged))
        with pytest.raises(HubError) as refused:
            client.predict("victim", ["refused"])
        assert refused.value.status == "DATA_LOSS"
        code, report = cli(capsys, target, ADMIN, "verify")
        assert code == 1 and [(d["kind"], d["what"]) for d in report["damaged"]] == [("blob", blobs[-1].name)]
        assert client.push(directory, "victim").version == "2"
        assert client.predict("victim@1", ["whole again"])[0].served_by == "victim@1"
        code, report = cli(capsys, target, ADMIN, "verify")
        assert code == 0 and report["damaged"] == []
