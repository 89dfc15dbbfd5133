"""Residency through the real gRPC server: admin RPCs, CLI, tenant scoping, budgets, prefetch."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest
from adapter_hub_client import HubClient

from hub.cli.main import main as cli_main
from tests.residency.conftest import write_adapter_dir

pytestmark = pytest.mark.integration
ADMIN = "residency-admin-key"


def run_cli(capsys: pytest.CaptureFixture[str], target: str, key: str, *args: str) -> tuple[int, str, str]:
    code = cli_main([*args, "--target", target, "--api-key", key])
    out, err = capsys.readouterr()
    return code, out, err


def test_load_pin_unpin_unload_and_status_are_tenant_scoped(
    start_hub, tiny_runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    server, _ = start_hub(tiny_runtime, auth="on", admin_key=ADMIN)
    target = f"127.0.0.1:{server.port}"
    with HubClient(target, api_key=ADMIN) as admin:
        acme, rival = admin.create_tenant("acme").api_key, admin.create_tenant("rival").api_key
    with HubClient(target, api_key=acme) as client:
        for seed in (1, 2):
            client.push(write_adapter_dir(tmp_path / f"a{seed}", tiny_runtime.spec, seed), "sent")

    code, out, err = run_cli(capsys, target, acme, "pin", "sent@1", "--json")
    assert code == 0, err
    pinned = json.loads(out)
    assert (pinned["name"], pinned["version"], pinned["pinned"]) == ("sent", "1", True)
    assert pinned["tiers"] == ["device", "host", "disk"] and pinned["device_bytes"] > 0

    code, out, _ = run_cli(capsys, target, acme, "load", "sent")  # latest: version 2
    assert code == 0 and out.startswith("sent@2 loaded: device,host,disk")

    code, out, _ = run_cli(capsys, target, acme, "status", "--json")
    status = json.loads(out)
    tiers = {t["name"]: t for t in status["tiers"]}
    assert list(tiers) == ["device", "host", "disk", "store"]
    assert (tiers["device"]["count"], tiers["device"]["pinned"], tiers["device"]["misses"]) == (2, 1, 2)
    assert tiers["device"]["budget_bytes"] == 2 << 30 and tiers["device"]["load_p50_ms"] > 0
    assert tiers["store"]["hits"] == 2 and status["store"]["breaker"] == "closed"
    assert [(a["name"], a["version"], a["pinned"]) for a in status["adapters"]] == [
        ("sent", "1", True),
        ("sent", "2", False),
    ]
    code, out, _ = run_cli(capsys, target, acme, "status")
    assert code == 0 and "device" in out and "sent@1" in out and "pinned" in out

    # another tenant: the same name is unknown to it, and it sees none of acme's adapters
    code, _, err = run_cli(capsys, target, rival, "pin", "sent@1")
    assert code == 1 and err.startswith("error: NOT_FOUND: adapter sent@1 not found")
    code, out, _ = run_cli(capsys, target, rival, "status", "--json")
    assert json.loads(out)["adapters"] == []
    code, _, err = run_cli(capsys, target, ADMIN, "load", "sent")
    assert code == 1 and "PERMISSION_DENIED" in err  # the operator has no adapters of its own
    code, out, _ = run_cli(capsys, target, ADMIN, "status", "--json")
    assert len(json.loads(out)["adapters"]) == 2  # ... but sees every tenant's residents

    code, out, _ = run_cli(capsys, target, acme, "unpin", "sent@1", "--json")
    assert json.loads(out)["pinned"] is False and "device" in json.loads(out)["tiers"]
    code, out, _ = run_cli(capsys, target, acme, "unload", "sent@1", "--json")
    assert json.loads(out)["tiers"] == ["disk"]  # memory freed; the disk copy stays
    with HubClient(target, api_key=acme) as client:
        assert client.predict("sent@1", ["still served"])[0].version == "1"  # back from disk


def test_an_adapter_that_cannot_fit_gets_resource_exhausted(start_hub, tiny_runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server, client = start_hub(tiny_runtime, device_cache_bytes=2000)  # room for one small adapter (~1.3 kB packed)
    for name, seed in (("a", 1), ("b", 2)):
        client.push(write_adapter_dir(tmp_path / name, tiny_runtime.spec, seed), name)
        client.pin("a")
    with pytest.raises(grpc.RpcError) as caught:
        client.predict("b", ["no room"])
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "needs" in caught.value.details() and "1 pinned adapter(s)" in caught.value.details()
    assert "ADAPTER_HUB_DEVICE_CACHE_BYTES" in caught.value.details()
    assert client.predict("a", ["pinned one serves"])[0].version == "1"
    client.unpin("a")
    assert client.predict("b", ["room now"])[0].version == "1"

    client.push(write_adapter_dir(tmp_path / "big", tiny_runtime.spec, 3, rank=32), "big")
    with pytest.raises(grpc.RpcError) as caught:
        client.predict("big", ["larger than the whole budget"])
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_adapters_named_in_settings_are_resident_before_the_first_request(
    start_hub, tiny_runtime, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    store = str(tmp_path / "shared-store")
    first, client = start_hub(tiny_runtime, store=store)
    for name, seed in (("a", 1), ("b", 2)):
        client.push(write_adapter_dir(tmp_path / name, tiny_runtime.spec, seed), name)
    first.stop(grace=1)

    _, client = start_hub(tiny_runtime, store=store, pin="local/a@1", prefetch="local/b, local/missing")
    status = client.residency_status()
    assert [(a.name, a.pinned, "device" in a.tiers) for a in status.adapters] == [("a", True, True), ("b", False, True)]
    device = next(t for t in status.tiers if t.name == "device")
    assert (device.count, device.pinned, device.hits) == (2, 1, 0)
    assert client.predict("b", ["warm"])[0].version == "1"
    assert next(t for t in client.residency_status().tiers if t.name == "device").hits == 1


def test_one_tenant_cannot_pin_more_than_its_share(
    start_hub, tiny_runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    dirs = [write_adapter_dir(tmp_path / f"a{seed}", tiny_runtime.spec, seed) for seed in (1, 2)]
    size = max(sum(p.stat().st_size for p in d.iterdir() if p.name != "hub_adapter.json") for d in dirs)
    server, _ = start_hub(tiny_runtime, auth="on", admin_key=ADMIN, tenant_pin_bytes=size * 3 // 2)
    target = f"127.0.0.1:{server.port}"
    with HubClient(target, api_key=ADMIN) as admin:
        acme, rival = admin.create_tenant("acme").api_key, admin.create_tenant("rival").api_key
    for key in (acme, rival):
        with HubClient(target, api_key=key) as client:
            for d in dirs:
                client.push(d, "sent")

    assert run_cli(capsys, target, acme, "pin", "sent@1")[0] == 0
    assert run_cli(capsys, target, acme, "pin", "sent@1")[0] == 0  # pinned already: no more bytes
    code, _, err = run_cli(capsys, target, acme, "pin", "sent@2")
    assert code == 1 and err.startswith("error: RESOURCE_EXHAUSTED: pinning sent@2")
    assert "ADAPTER_HUB_TENANT_PIN_BYTES" in err
    assert run_cli(capsys, target, rival, "pin", "sent@2")[0] == 0  # the limit is per tenant
    code, out, _ = run_cli(capsys, target, acme, "status", "--json")
    assert [a["version"] for a in json.loads(out)["adapters"] if a["pinned"]] == ["1"]  # sent@2 not pinned
    assert run_cli(capsys, target, acme, "unpin", "sent@1")[0] == 0
    assert run_cli(capsys, target, acme, "pin", "sent@2")[0] == 0
