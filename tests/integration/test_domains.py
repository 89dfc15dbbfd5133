"""Domain adapters over gRPC, with tenant and operator keys: the operator publishes into a
domain's catalog, tenants read it (when granted) and never write it, a tenant's adapter
stacked on a domain adapter serves both updates, and is refused once its base is gone or
changed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from adapter_hub_client import HubClient

from tests.helpers import artifact_from_dir, make_peft_adapter

pytestmark = pytest.mark.integration
SEQ = "generic.sequence_classification"
LABELS = ["neg", "neu", "pos"]
ADMIN = "operator-secret-key-for-domain-tests"
DENIED, NOT_FOUND = grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION


def status(call: Callable[[], object]) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.code()


def message(call: Callable[[], object]) -> str:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return str(caught.value.details())


@pytest.fixture(scope="module")
def peft_dirs(tiny_backbone_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("domain-adapters")
    return {
        "base": make_peft_adapter(
            tiny_backbone_dir,
            root / "base",
            task_type="SEQ_CLS",
            num_labels=3,
            rank=8,
            seed=5,
            target_modules=["query", "value"],
        ),
        "own": make_peft_adapter(
            tiny_backbone_dir,
            root / "own",
            task_type="SEQ_CLS",
            num_labels=3,
            rank=4,
            seed=6,
            target_modules=["key", "dense"],
        ),
    }


def stacked_dir(own: Path, out: Path, runtime, base: dict[str, object] | None) -> Path:  # type: ignore[no-untyped-def]
    """``own`` as a hub artifact whose manifest names ``base`` (None: none)."""
    artifact = artifact_from_dir(own, runtime.spec, SEQ, tuple(LABELS))
    out.mkdir(parents=True, exist_ok=True)
    for name, data in artifact.files.items():
        (out / name).write_bytes(data)
    manifest = json.loads((out / "hub_adapter.json").read_text())
    (out / "hub_adapter.json").write_text(json.dumps({**manifest, "base": base} if base else manifest))
    return out


def digest_of(info) -> str:  # type: ignore[no-untyped-def]
    lines = "".join(f"{f.path} {f.sha256}\n" for f in sorted(info.files, key=lambda f: f.path))
    return "sha256:" + hashlib.sha256(lines.encode()).hexdigest()


@pytest.fixture
def hub(start_hub, tiny_runtime, peft_dirs, tmp_path: Path):  # type: ignore[no-untyped-def]
    server, _ = start_hub(tiny_runtime, auth="on", admin_key=ADMIN)
    target = f"127.0.0.1:{server.port}"
    clients: list[HubClient] = []

    def client(key: str) -> HubClient:
        clients.append(HubClient(target, api_key=key, timeout=60, retries=0))
        return clients[-1]

    admin = client(ADMIN)
    alice, bob = client(admin.create_tenant("alice").api_key), client(admin.create_tenant("bob").api_key)
    published = admin.push(peft_dirs["base"], "medical:base", task=SEQ, labels=LABELS)
    alice.push(peft_dirs["own"], "own", task=SEQ, labels=LABELS)
    yield {"admin": admin, "alice": alice, "bob": bob, "base": published, "start": start_hub,
           "runtime": tiny_runtime, "store": tmp_path / "store", "dir": tmp_path}  # fmt: skip
    for c in clients:
        c.close()


def test_operator_publishes_and_every_tenant_reads_by_default(hub) -> None:  # type: ignore[no-untyped-def]
    admin, alice, bob = hub["admin"], hub["alice"], hub["bob"]
    assert (hub["base"].name, hub["base"].version) == ("medical:base", "1")
    for tenant in (alice, bob):
        served = tenant.predict("medical:base", ["good news"])[0]
        assert (served.adapter, served.version) == ("medical:base", "1")
        assert tenant.get_adapter("medical:base@1").name == "medical:base"
        assert [a.name for a in tenant.list_adapters("medical")] == ["base"]
        assert "base" not in [a.name for a in tenant.list_adapters()]  # not in the tenant's own namespace
    fanned = alice.fan_out("good news", ["medical:base", "own", f"medical:base@1:{SEQ}"])
    assert [p.adapter for p in fanned] == ["medical:base", "own", "medical:base"]
    admin.set_alias("medical:base", "1", "prod")
    assert alice.predict("medical:base@prod", ["x"])[0].version == "1"
    files = alice.download_adapter("medical:base@1")
    recorded = {f.path: f.sha256 for f in hub["base"].files}
    assert {p: hashlib.sha256(files[p]).hexdigest() for p in recorded} == recorded
    assert "hub_adapter.json" in files
    assert [a.name for a in admin.list_adapters("medical")] == ["base"]


def test_tenants_never_write_a_domain(hub, peft_dirs) -> None:  # type: ignore[no-untyped-def]
    alice = hub["alice"]
    assert status(lambda: alice.push(peft_dirs["own"], "medical:mine", task=SEQ, labels=LABELS)) == DENIED
    assert status(lambda: alice.delete_adapter("medical:base")) == DENIED
    assert status(lambda: alice.delete_adapter("medical:base@1")) == DENIED
    assert status(lambda: alice.set_alias("medical:base", "1", "mine")) == DENIED
    assert status(lambda: alice.pin("medical:base")) == DENIED
    assert status(lambda: alice.unload("medical:base")) == DENIED
    assert status(lambda: alice.grant_domain("medical", "alice")) == DENIED
    assert status(lambda: alice.revoke_domain("medical", "bob")) == DENIED
    assert [v.version for v in hub["admin"].list_adapters("medical")[0].versions] == ["1"]  # nothing changed


def test_read_access_is_the_operators_choice_per_domain(hub) -> None:  # type: ignore[no-untyped-def]
    admin, alice, bob = hub["admin"], hub["alice"], hub["bob"]
    assert status(lambda: admin.revoke_domain("medical", "bob")) == PRECONDITION  # open: list who may first
    granted = admin.grant_domain("medical", "alice")
    assert (granted.everyone, granted.tenants) == (False, ["alice"])
    assert alice.predict("medical:base", ["x"])[0].adapter == "medical:base"
    refusals = [
        lambda: bob.predict("medical:base", ["x"]),
        lambda: bob.fan_out("x", ["medical:base"]),
        lambda: bob.get_adapter("medical:base"),
        lambda: bob.list_adapters("medical"),
        lambda: bob.download_adapter("medical:base@1"),
        lambda: bob.load("medical:base"),
    ]
    assert [status(c) for c in refusals] == [DENIED] * len(refusals)
    assert "domain grant medical bob" in message(refusals[0])
    listed = {d.access.domain: d for d in bob.list_domains()}
    assert not listed["medical"].access.readable and listed["medical"].adapters == []
    assert listed["medical"].access.tenants == [] and listed["medical"].access.granted == 1  # no names to tenants
    assert {d.access.domain: d for d in admin.list_domains()}["medical"].access.tenants == ["alice"]
    admin.revoke_domain("medical", "alice")
    assert status(lambda: alice.predict("medical:base", ["x"])) == DENIED
    admin.grant_domain("medical")  # --all
    assert bob.predict("medical:base", ["x"])[0].adapter == "medical:base"
    admin.revoke_domain("medical")  # --all: nobody
    assert status(lambda: bob.predict("medical:base", ["x"])) == DENIED


def test_no_other_tenants_adapter_through_a_domain_reference(hub, peft_dirs) -> None:  # type: ignore[no-untyped-def]
    bob = hub["bob"]
    assert status(lambda: bob.predict("alice:own", ["x"])) == NOT_FOUND  # alice is a tenant, not a domain
    assert status(lambda: bob.get_adapter("alice:own")) == NOT_FOUND
    assert status(lambda: bob.predict("medical:own", ["x"])) == NOT_FOUND  # the domain has no such adapter
    assert status(lambda: bob.list_adapters("alice")) == NOT_FOUND
    for bad in ("medical:../own", "Medical:base", "medical:", ":base"):
        assert status(lambda bad=bad: bob.predict(bad, ["x"])) == grpc.StatusCode.INVALID_ARGUMENT, bad
    admin_push = lambda: hub["admin"].push(peft_dirs["own"], "alice:x", task=SEQ, labels=LABELS)  # noqa: E731
    assert status(admin_push) == NOT_FOUND  # not even the operator writes a tenant's namespace this way


def test_stacked_adapter_serves_and_is_refused_without_its_base(hub, peft_dirs) -> None:  # type: ignore[no-untyped-def]
    admin, alice, bob = hub["admin"], hub["alice"], hub["bob"]
    base = {"domain": "medical", "name": "base", "version": 1, "digest": digest_of(hub["base"])}
    folder = stacked_dir(peft_dirs["own"], hub["dir"] / "stacked", hub["runtime"], base)
    info = alice.push(folder, "stacked")
    assert (info.base, info.base_digest) == ("medical:base@1", base["digest"])
    stacked = alice.predict("stacked", ["good news"])[0]
    plain = alice.predict("own", ["good news"])[0]
    assert [x.score for x in stacked.labels] != pytest.approx([x.score for x in plain.labels], abs=1e-4)
    wrong = stacked_dir(
        peft_dirs["own"], hub["dir"] / "wrong", hub["runtime"], {**base, "digest": "sha256:" + "0" * 64}
    )
    assert "medical:base@1" in message(lambda: alice.push(wrong, "wrong"))
    assert status(lambda: alice.push(wrong, "wrong")) == PRECONDITION
    gone = stacked_dir(peft_dirs["own"], hub["dir"] / "gone", hub["runtime"], {**base, "version": 7})
    assert status(lambda: alice.push(gone, "gone")) == PRECONDITION
    users = {(u.name, u.version): u.users for d in bob.list_domains() for u in d.users}
    assert users[("base", "1")] == 1  # alice, through her stacked adapter: a count, no name
    admin.delete_adapter("medical:base@1")
    assert status(lambda: alice.predict("stacked", ["x"])) == PRECONDITION
    assert "medical:base@1" in message(lambda: alice.predict("stacked", ["x"]))
    assert alice.predict("own", ["x"])[0].adapter == "own"  # unstacked adapters unaffected


def test_stacked_adapter_refused_when_its_base_changed(hub, peft_dirs) -> None:  # type: ignore[no-untyped-def]
    base = {"domain": "medical", "name": "base", "version": 1, "digest": digest_of(hub["base"])}
    folder = stacked_dir(peft_dirs["own"], hub["dir"] / "stacked", hub["runtime"], base)
    hub["alice"].push(folder, "stacked")
    record = hub["store"] / "domains/medical/adapters/base/versions/00000001.json"
    raw = json.loads(record.read_text())
    raw["manifest"]["files"]["README.md"] = {"sha256": "1" * 64, "size": 1}  # the version's content changed
    record.write_text(json.dumps(raw))
    server, _ = hub["start"](hub["runtime"], auth="on", admin_key=ADMIN)  # a fresh server, same store
    key = hub["admin"].create_tenant("alice").api_key
    with HubClient(f"127.0.0.1:{server.port}", api_key=key, timeout=60, retries=0) as alice:
        assert status(lambda: alice.predict("stacked", ["x"])) == PRECONDITION
        assert "medical:base@1" in message(lambda: alice.predict("stacked", ["x"]))


def test_cli_domain_commands(hub, peft_dirs, capsys) -> None:  # type: ignore[no-untyped-def]
    from hub.cli.main import main

    examples = hub["dir"] / "examples"
    stacked_dir(peft_dirs["own"], examples / "tiny-seq", hub["runtime"], None)  # a hub-format adapter
    target = ["--target", hub["admin"].config.target]
    admin, alice = [*target, "--api-key", ADMIN], [*target, "--api-key", hub["alice"].config.api_key]

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = run("domain", "publish-examples", "--dir", str(examples), "--json", *admin)
    assert code == 0 and json.loads(out)[0]["adapter"] == "generic:tiny-seq"
    assert run("domain", "grant", "medical", "alice", *admin)[1].strip() == "domain medical: readable by alice"
    listed = {d["domain"]: d for d in json.loads(run("domain", "list", "--json", *admin)[1])}
    assert listed["medical"]["tenants"] == ["alice"] and listed["generic"]["everyone"]
    code, out, _ = run("adapters", "--domain", "generic", "--json", *alice)
    assert code == 0 and [a["name"] for a in json.loads(out)] == ["tiny-seq"]
    assert run("predict", "--adapter", "generic:tiny-seq@1", "good", *alice)[0] == 0
    status_json = json.loads(run("status", "--json", *alice)[1])
    users = {(u["name"], u["version"]): u["users"] for d in status_json["domains"] for u in d["users"]}
    assert users[("tiny-seq", "1")] == 1
    assert all(d["tenants"] == [] for d in status_json["domains"])  # no tenant names to a tenant
    code, _, err = run("push", str(examples / "tiny-seq"), "--domain", "generic", "--name", "mine", *alice)
    assert code == 1 and "PERMISSION_DENIED" in err
