"""API keys and tenant isolation, RPC by RPC, through the real server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from adapter_hub_client import HubClient

from tests.integration.conftest import SEQ_LABELS

pytestmark = pytest.mark.integration
SEQ = "generic.sequence_classification"
ADMIN = "operator-secret-key-for-tests"


def status(call: Callable[[], object]) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.code()


@pytest.fixture
def keyed_hub(start_hub, packaged_runtime, packaged_adapters, tmp_path: Path):  # type: ignore[no-untyped-def]
    server, anonymous = start_hub(packaged_runtime, auth="on", admin_key=ADMIN)
    target = f"127.0.0.1:{server.port}"
    clients: list[HubClient] = []

    def client(key: str | None) -> HubClient:
        clients.append(HubClient(target, api_key=key, timeout=60))
        return clients[-1]

    admin = client(ADMIN)
    alice = client(admin.create_tenant("alice").api_key)
    bob = client(admin.create_tenant("bob").api_key)
    alice.push(packaged_adapters["seq"], "shared-name", task=SEQ, labels=list(SEQ_LABELS))
    yield {"server": server, "anonymous": anonymous, "admin": admin, "alice": alice, "bob": bob,
           "client": client, "store": tmp_path / "store"}  # fmt: skip
    for c in clients:
        c.close()


def test_every_rpc_refuses_calls_without_a_valid_key(keyed_hub, packaged_adapters) -> None:  # type: ignore[no-untyped-def]
    for c in (keyed_hub["anonymous"], keyed_hub["client"]("ahk_0123456789abcdef_wrong")):
        calls = [
            lambda c=c: c.predict("shared-name", ["x"]),
            lambda c=c: c.fan_out("x", [("shared-name", "")]),
            lambda c=c: c.push(packaged_adapters["seq"], "n", task=SEQ, labels=list(SEQ_LABELS)),
            lambda c=c: c.list_adapters(),
            lambda c=c: c.get_adapter("shared-name"),
            lambda c=c: c.delete_adapter("shared-name"),
            lambda c=c: c.set_alias("shared-name", "1", "prod"),
            lambda c=c: c.server_info(),
            lambda c=c: c.list_tasks(),
            lambda c=c: c.create_tenant("eve"),
            lambda c=c: c.list_tenants(),
            lambda c=c: c.revoke_tenant("alice"),
        ]
        assert [status(call) for call in calls] == [grpc.StatusCode.UNAUTHENTICATED] * len(calls)
    assert keyed_hub["anonymous"].serving()  # health stays open for probes


def test_another_tenant_cannot_touch_or_even_see_an_adapter(keyed_hub, packaged_adapters) -> None:  # type: ignore[no-untyped-def]
    alice, bob = keyed_hub["alice"], keyed_hub["bob"]
    before = alice.predict("shared-name", ["good news"])[0]
    assert bob.list_adapters() == []
    not_found = grpc.StatusCode.NOT_FOUND
    assert status(lambda: bob.get_adapter("shared-name")) == not_found
    assert status(lambda: bob.predict("shared-name", ["x"])) == not_found
    assert status(lambda: bob.predict("shared-name@1", ["x"])) == not_found
    assert status(lambda: bob.fan_out("x", [("shared-name", "")])) == not_found
    assert status(lambda: bob.set_alias("shared-name", "1", "prod")) == not_found
    assert status(lambda: bob.delete_adapter("shared-name")) == not_found
    assert status(lambda: bob.delete_adapter("shared-name@1")) == not_found
    # Bob's upload under the same name is his own adapter: it cannot overwrite Alice's.
    assert bob.push(packaged_adapters["seq2"], "shared-name", task=SEQ, labels=list(SEQ_LABELS)).version == "1"
    assert [v.version for v in alice.list_adapters()[0].versions] == ["1"]
    after = alice.predict("shared-name", ["good news"])[0]
    assert [(x.label, x.score) for x in after.labels] == [(x.label, x.score) for x in before.labels]
    assert bob.predict("shared-name", ["good news"])[0].labels != before.labels


def test_operator_and_tenant_roles_are_separate(keyed_hub) -> None:  # type: ignore[no-untyped-def]
    admin, alice = keyed_hub["admin"], keyed_hub["alice"]
    denied = grpc.StatusCode.PERMISSION_DENIED
    assert status(lambda: alice.create_tenant("eve")) == denied
    assert status(lambda: alice.list_tenants()) == denied
    assert status(lambda: alice.revoke_tenant("bob")) == denied
    assert status(lambda: admin.predict("shared-name", ["x"])) == denied
    tenants = {t.tenant: t for t in admin.list_tenants()}
    assert set(tenants) == {"alice", "bob"}
    assert tenants["alice"].adapters == 1 and tenants["alice"].used_bytes > 0


def test_revoked_keys_stop_working_and_keys_are_stored_hashed(keyed_hub) -> None:  # type: ignore[no-untyped-def]
    admin, alice = keyed_hub["admin"], keyed_hub["alice"]
    key = alice.config.api_key
    secret = key.split("_", 2)[2]
    stored = b"".join(p.read_bytes() for p in keyed_hub["store"].rglob("*") if p.is_file())
    assert secret.encode() not in stored
    assert admin.revoke_tenant("alice").revoked_keys == 1
    assert status(lambda: alice.list_adapters()) == grpc.StatusCode.UNAUTHENTICATED
    fresh = keyed_hub["client"](admin.create_tenant("alice").api_key)
    assert [a.name for a in fresh.list_adapters()] == ["shared-name"]  # data kept


def test_quotas_give_resource_exhausted(keyed_hub, packaged_adapters) -> None:  # type: ignore[no-untyped-def]
    admin, client = keyed_hub["admin"], keyed_hub["client"]
    small = client(admin.create_tenant("small", max_adapters=1).api_key)
    small.push(packaged_adapters["seq"], "one", task=SEQ, labels=list(SEQ_LABELS))
    small.push(packaged_adapters["seq"], "one", task=SEQ, labels=list(SEQ_LABELS))  # new version: fine
    exhausted = grpc.StatusCode.RESOURCE_EXHAUSTED
    assert status(lambda: small.push(packaged_adapters["seq"], "two", task=SEQ, labels=list(SEQ_LABELS))) == exhausted
    tiny = client(admin.create_tenant("tiny", max_bytes=1000).api_key)
    assert status(lambda: tiny.push(packaged_adapters["seq"], "x", task=SEQ, labels=list(SEQ_LABELS))) == exhausted
    assert tiny.list_adapters() == []


def test_tenant_add_prints_the_key_once_as_json(keyed_hub) -> None:  # type: ignore[no-untyped-def]
    target = f"127.0.0.1:{keyed_hub['server'].port}"
    env = {**os.environ, "ADAPTER_HUB_TARGET": target, "ADAPTER_HUB_API_KEY": ADMIN}
    result = subprocess.run([sys.executable, "-m", "hub.cli.main", "tenant", "add", "carol", "--json"],
                            env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    import json

    data = json.loads(result.stdout)
    assert data["tenant"] == "carol" and data["api_key"].startswith("ahk_")
    with HubClient(target, api_key=data["api_key"]) as carol:
        assert carol.list_adapters() == []
