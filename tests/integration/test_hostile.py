"""Issue 22's findings, each against the real server: a hostile tenant or a stranger gets a clear
status (never INTERNAL, UNKNOWN or DATA_LOSS), learns nothing it may not know, and breaks nothing
stored. (tests/fuzz/ generates such requests; these are the ones found by hand.)"""

from __future__ import annotations

import json
import logging
import shutil
import struct
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from adapter_hub_client import HubClient

from tests.integration.conftest import SEQ_LABELS

pytestmark = pytest.mark.integration
SEQ = "generic.sequence_classification"
ADMIN = "operator-secret-key-for-hostile-tests"
BAD_REFS = ["1\n", "prod\n", "latest\n", "\u00b2", "1\u200b", " prod", "a" * 200]
# (a key with a newline or a non-ASCII character never leaves a gRPC client: not a header value)
MALFORMED_KEYS = [
    "ahk_!!!!!!!!!!!!!!!!_x",
    "ahk_../tenants/victi_x",
    "ahk_0123456789ABCDEF_" + "x" * 43,
    "ahk_0123456789abcdef_" + "!" * 43,
    "ahk_0123456789abcdef_" + "x" * 2_000,
    "ahk__",
]


def status(call: Callable[[], object]) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.code()


def details(call: Callable[[], object]) -> str:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.details() or ""


@pytest.fixture
def hub(start_hub, packaged_runtime, packaged_adapters):  # type: ignore[no-untyped-def]
    """Auth on (on loopback with a local store: the admin key alone turns it on), a victim tenant
    with an adapter and an attacker tenant."""
    server, anonymous = start_hub(packaged_runtime, admin_key=ADMIN)
    target = f"127.0.0.1:{server.port}"
    clients: list[HubClient] = []

    def client(key: str | None) -> HubClient:
        clients.append(HubClient(target, api_key=key, timeout=30, retries=0))
        return clients[-1]

    admin = client(ADMIN)
    victim = client(admin.create_tenant("victim").api_key)
    attacker = client(admin.create_tenant("attacker").api_key)
    victim.push(packaged_adapters["seq"], "sentiment", task=SEQ, labels=list(SEQ_LABELS))
    yield {"server": server, "anonymous": anonymous, "admin": admin, "victim": victim, "attacker": attacker,
           "client": client}  # fmt: skip
    for c in clients:
        c.close()


# ---- 1. the default is safe ---------------------------------------------------------------
def test_an_admin_key_turns_auth_on_in_the_embedded_default(hub) -> None:  # type: ignore[no-untyped-def]
    assert hub["admin"].server_info().auth_enabled
    for stranger in (hub["anonymous"], hub["client"]("wrong"), hub["attacker"]):
        assert status(lambda s=stranger: s.predict("sentiment", ["x"])) in (
            grpc.StatusCode.UNAUTHENTICATED,
            grpc.StatusCode.NOT_FOUND,  # the attacker's own namespace has no such adapter
        )
        assert status(lambda s=stranger: s.create_tenant("victim")) in (
            grpc.StatusCode.UNAUTHENTICATED,
            grpc.StatusCode.PERMISSION_DENIED,
        )
        assert status(lambda s=stranger: s.list_tenants()) in (
            grpc.StatusCode.UNAUTHENTICATED,
            grpc.StatusCode.PERMISSION_DENIED,
        )
    assert [a.name for a in hub["victim"].list_adapters()] == ["sentiment"]


def test_a_hub_with_auth_off_makes_no_keys(start_hub, packaged_runtime) -> None:  # type: ignore[no-untyped-def]
    _, local = start_hub(packaged_runtime)  # the embedded default: loopback, local store, no key
    assert not local.server_info().auth_enabled
    assert status(lambda: local.create_tenant("acme")) == grpc.StatusCode.FAILED_PRECONDITION
    assert "would not be checked" in details(lambda: local.create_tenant("acme"))


# ---- 2. adapter configs carry no code -------------------------------------------------------
def _mutated(source: Path, root: Path, name: str, change: Callable[[dict], None]) -> Path:
    target = root / name
    shutil.copytree(source, target)
    config = json.loads((target / "adapter_config.json").read_text())
    change(config)
    (target / "adapter_config.json").write_text(json.dumps(config))
    return target


@pytest.mark.parametrize(
    ("pattern", "said"),
    [
        ({"(([a-u.]|[a-u.])+)+[0-9]": 16}, "took over"),  # backtracks exponentially on every module name
        ({"([a-u.]+)+!": 16}, "matches none"),
        ({"(": 16}, "not a valid regular expression"),
        ({"no_such_module": 16}, "matches none"),
    ],
)
def test_alpha_patterns_that_cannot_be_resolved_are_refused_naming_the_key(  # type: ignore[no-untyped-def]
    hub, packaged_adapters, tmp_path, pattern, said
) -> None:
    bundle = _mutated(packaged_adapters["seq"], tmp_path, "patterned", lambda c: c.update(alpha_pattern=pattern))
    started = time.monotonic()
    message = details(lambda: hub["attacker"].push(bundle, "bomb", task=SEQ, labels=list(SEQ_LABELS)))
    assert time.monotonic() - started < 5
    assert "alpha_pattern" in message and said in message
    assert next(iter(pattern))[:20] in message
    assert hub["attacker"].list_adapters() == []


def test_a_resolved_pattern_is_stored_and_serves(hub, packaged_adapters, tmp_path) -> None:  # type: ignore[no-untyped-def]
    plain = hub["victim"].predict("sentiment", ["good news"])[0]
    bundle = _mutated(packaged_adapters["seq"], tmp_path, "ok", lambda c: c.update(alpha_pattern={"query": 64}))
    hub["victim"].push(bundle, "patterned", task=SEQ, labels=list(SEQ_LABELS))
    patterned = hub["victim"].predict("patterned", ["good news"])[0]
    assert [x.score for x in patterned.labels] != [x.score for x in plain.labels]  # the alpha applied


# ---- 3 and 4. one validation of names at the edge ----------------------------------------------
def test_bad_versions_and_aliases_are_invalid_argument_on_every_rpc(hub) -> None:  # type: ignore[no-untyped-def]
    victim, invalid = hub["victim"], grpc.StatusCode.INVALID_ARGUMENT
    for ref in BAD_REFS:
        calls = [
            lambda r=ref: victim.predict(f"sentiment@{r}", ["x"]),
            lambda r=ref: victim.fan_out("x", [(f"sentiment@{r}", "")]),
            lambda r=ref: victim.get_adapter(f"sentiment@{r}"),
            lambda r=ref: victim.delete_adapter(f"sentiment@{r}"),
            lambda r=ref: victim.set_alias("sentiment", r, "prod"),
            lambda r=ref: victim.set_alias("sentiment", "1", r),
            lambda r=ref: victim.load(f"sentiment@{r}"),
            lambda r=ref: victim.pin(f"sentiment@{r}"),
        ]
        assert [status(call) for call in calls] == [invalid] * len(calls), repr(ref)
    assert [a.name for a in victim.list_adapters()] == ["sentiment"]


def test_names_with_a_trailing_newline_are_refused_not_stored_beside(hub, packaged_adapters) -> None:  # type: ignore[no-untyped-def]
    attacker = hub["attacker"]
    for name in ("evil\n", "evil\r", " evil", "evil\u200b", "EVIL", "évil"):
        assert status(lambda n=name: attacker.push(packaged_adapters["seq"], n, task=SEQ, labels=list(SEQ_LABELS))) == (
            grpc.StatusCode.INVALID_ARGUMENT
        )
    assert attacker.list_adapters() == []


def test_labels_with_duplicates_are_refused_at_upload(hub, packaged_adapters) -> None:  # type: ignore[no-untyped-def]
    attacker = hub["attacker"]
    for labels in (["a", "a", "b"], ["a", "b\n", "c"], ["a", "", "c"], [" a", "b", "c"]):
        code = status(lambda ls=labels: attacker.push(packaged_adapters["seq"], "dup", task=SEQ, labels=ls))
        assert code == grpc.StatusCode.INVALID_ARGUMENT, labels
    assert attacker.list_adapters() == []  # the listing is whole: nothing half-stored


def test_tenant_names_follow_the_rules_and_reserved_ones_are_refused(hub) -> None:  # type: ignore[no-untyped-def]
    admin = hub["admin"]
    for name in ("acme\n", "admin", "other", "local", "Acme", "a/b", ""):
        assert status(lambda n=name: admin.create_tenant(n)) == grpc.StatusCode.INVALID_ARGUMENT, repr(name)
    assert {t.tenant for t in admin.list_tenants()} == {"victim", "attacker"}


def test_malformed_keys_are_unauthenticated_everywhere_without_a_traceback(hub, caplog) -> None:  # type: ignore[no-untyped-def]
    for key in MALFORMED_KEYS:
        stranger = hub["client"](key)
        calls = [
            lambda s=stranger: s.predict("sentiment", ["x"]),
            lambda s=stranger: s.fan_out("x", [("sentiment", "")]),
            lambda s=stranger: s.list_adapters(),
            lambda s=stranger: s.get_adapter("sentiment"),
            lambda s=stranger: s.delete_adapter("sentiment"),
            lambda s=stranger: s.set_alias("sentiment", "1", "prod"),
            lambda s=stranger: s.server_info(),
            lambda s=stranger: s.list_tasks(),
            lambda s=stranger: s.list_plugins(),
            lambda s=stranger: s.queue_status(),
            lambda s=stranger: s.create_tenant("eve"),
            lambda s=stranger: s.list_tenants(),
            lambda s=stranger: s.revoke_tenant("victim"),
            lambda s=stranger: s.load("sentiment"),
            lambda s=stranger: s.residency_status(),
        ]
        with caplog.at_level(logging.WARNING):
            assert [status(call) for call in calls] == [grpc.StatusCode.UNAUTHENTICATED] * len(calls), repr(key[:40])
    assert not [r for r in caplog.records if r.exc_info or "internal error" in r.getMessage()]
    assert hub["victim"].predict("sentiment", ["x"])[0].version == "1"


# ---- 3 and 4. bounded parsers ---------------------------------------------------------------
def _safetensors(header: bytes, body: bytes = b"") -> bytes:
    return struct.pack("<Q", len(header)) + header + body


@pytest.mark.parametrize(
    ("file", "content"),
    [
        ("adapter_config.json", b"[" * 50_000 + b"]" * 50_000),
        ("adapter_config.json", b'{"peft_type": "LORA", "r": 8, "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
        ("adapter_config.json", b'{"peft_type": "LORA", "r": 1e999, "lora_alpha": NaN}'),
        ("adapter_config.json", b'"' + b'\\"' * 400_000),  # an unterminated string of escaped quotes
        ("adapter_model.safetensors", _safetensors(b'{"a": ' + b"[" * 50_000 + b"]" * 50_000 + b"}")),
        ("adapter_model.safetensors", _safetensors(b'{"t": {"dtype": "F32", "shape": [0, 4611686018427387904], '
                                                   b'"data_offsets": [0, 0]}}')),
        ("adapter_model.safetensors", _safetensors(b'{"t": {"dtype": "F32", "shape": [65536, 65536, 65536], '
                                                   b'"data_offsets": [0, 0]}}')),
    ],
)  # fmt: skip
def test_hostile_documents_in_an_upload_are_invalid_argument(hub, packaged_adapters, tmp_path, file, content) -> None:  # type: ignore[no-untyped-def]
    bundle = tmp_path / "hostile"
    shutil.copytree(packaged_adapters["seq"], bundle)
    (bundle / file).write_bytes(content)
    started = time.monotonic()
    code = status(lambda: hub["attacker"].push(bundle, "hostile", task=SEQ, labels=list(SEQ_LABELS)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert time.monotonic() - started < 5


# ---- 5. errors say only what the caller may know -----------------------------------------------
def test_server_info_shows_the_store_to_the_operator_only(hub) -> None:  # type: ignore[no-untyped-def]
    assert hub["victim"].server_info().store == ""
    assert hub["admin"].server_info().store != ""


def test_the_key_is_checked_before_the_request(hub) -> None:  # type: ignore[no-untyped-def]
    for stranger in (hub["anonymous"], hub["client"]("ahk_0123456789abcdef_" + "x" * 43)):
        for call in (
            lambda s=stranger: s.get_adapter(""),
            lambda s=stranger: s.delete_adapter(""),
            lambda s=stranger: s.set_alias("", "\n", "1"),
            lambda s=stranger: s.predict("@\n", ["x"]),
            lambda s=stranger: s.create_tenant("acme\n"),
            lambda s=stranger: s.load(""),
        ):
            assert status(call) == grpc.StatusCode.UNAUTHENTICATED
