"""What an adapter needs from the backbone is checked at upload (and again when a stored adapter
is packed), never discovered by the engine at predict time; and each piece of text is tokenized
once per request, by the same encoding the token limit counts."""

from __future__ import annotations

import dataclasses
import json
import uuid
from pathlib import Path

import grpc
import pytest

from adapters_registry.artifact import UploadInfo, build_artifact
from adapters_registry.manifest import MANIFEST_FILE, HeadKind, Pooling
from hub.config.settings import Settings
from hub.errors import IncompatibleAdapter, InvalidArgument
from hub.serving.app import build_service
from hub.serving.auth import Caller
from hub.serving.service import HubService, Target
from hub.serving.upload import UploadHeader
from hub.tasks.head_kinds import task_kind
from hub.tasks.specs import GENERIC_TASKS, default_task_registry
from hub.testing.artifacts import random_adapter_files
from hub.transport.status import status_for

CALLER = Caller("acme")
TEXTS = ["Aspirin reduced the risk of colorectal cancer.", "Short one.", "Shares of $TSLA jumped 5% after earnings."]
GENERIC = {spec.head_kind: spec.name for spec in GENERIC_TASKS}


@pytest.fixture(scope="module")
def no_pooler_runtime(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from hub.engine.runtime import Runtime
    from hub.engine.tiny import save_tiny_backbone

    directory = save_tiny_backbone(tmp_path_factory.mktemp("no-pooler"), pooler=False)
    return Runtime.load(str(directory), device="cpu")


def service_on(runtime, **overrides) -> HubService:  # type: ignore[no-untyped-def]
    settings = Settings.from_env(environ={}, store=f"memory://fit-{uuid.uuid4().hex}", **overrides)
    service = build_service(settings)
    service.attach_runtime(runtime)
    return service


def adapter(runtime, kind: HeadKind, pooling: Pooling, seed: int = 0) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    heads = [(GENERIC[kind], kind, task_kind(kind).sample_labels)]
    return random_adapter_files(runtime.spec, heads, seed=seed, pooling=pooling)


def test_backbone_spec_says_whether_there_is_a_pooler(tiny_runtime, no_pooler_runtime) -> None:  # type: ignore[no-untyped-def]
    assert tiny_runtime.spec.has_pooler and not no_pooler_runtime.spec.has_pooler
    assert tiny_runtime.spec.max_tokens == no_pooler_runtime.spec.max_tokens == 512


def test_a_pooler_head_on_a_backbone_without_one_is_refused_at_upload(no_pooler_runtime) -> None:  # type: ignore[no-untyped-def]
    service = service_on(no_pooler_runtime)
    with pytest.raises(IncompatibleAdapter) as caught:
        service.upload(CALLER, UploadHeader("pooled"), adapter(no_pooler_runtime, HeadKind.SEQUENCE, Pooling.POOLER))
    assert status_for(caught.value) is grpc.StatusCode.FAILED_PRECONDITION
    assert "has none; set the task's pooling to 'cls' or 'mean'" in caught.value.message
    assert service.list_adapters(CALLER) == []  # nothing stored


@pytest.mark.parametrize("pooler", [True, False], ids=["with-pooler", "without-pooler"])
def test_every_accepted_head_predicts_on_its_backbone(pooler: bool, tiny_runtime, no_pooler_runtime) -> None:  # type: ignore[no-untyped-def]
    """Every kind x pooling either is refused at upload (FAILED_PRECONDITION) or answers: no
    ValueError or RuntimeError from the engine's head path reaches a client."""
    runtime = tiny_runtime if pooler else no_pooler_runtime
    service = service_on(runtime)
    refused = set()
    for seed, (kind, pooling) in enumerate((k, p) for k in HeadKind for p in Pooling):
        name = f"{kind.value.replace('_', '-')}-{pooling.value}"
        try:
            service.upload(CALLER, UploadHeader(name), adapter(runtime, kind, pooling, seed))
        except IncompatibleAdapter:
            refused.add((kind, pooling))
            continue
        served = service.predict(CALLER, Target(name), TEXTS)
        assert served.head_kind is kind and len(served.predictions) == len(TEXTS)
    pooled_kinds = {k for k in HeadKind if not task_kind(k).per_token}
    assert refused == (set() if pooler else {(k, Pooling.POOLER) for k in pooled_kinds})


def test_a_stored_adapter_that_does_not_fit_fails_cleanly_at_predict(tiny_runtime, no_pooler_runtime) -> None:  # type: ignore[no-untyped-def]
    """Adapters validated by another server (a shared store) are checked again when packed."""
    service = service_on(no_pooler_runtime)
    contracts = default_task_registry().contract
    files = adapter(no_pooler_runtime, HeadKind.SEQUENCE, Pooling.POOLER)
    believed = dataclasses.replace(no_pooler_runtime.spec, has_pooler=True)
    service.registry.publish("acme", "pooled", build_artifact(dict(files), UploadInfo(), believed, contracts))
    foreign = build_artifact(
        adapter(tiny_runtime, HeadKind.SEQUENCE, Pooling.CLS), UploadInfo(), tiny_runtime.spec, contracts
    )
    service.registry.publish("acme", "foreign", foreign)
    with pytest.raises(IncompatibleAdapter, match="has none; set the task's pooling"):
        service.predict(CALLER, Target("pooled"), TEXTS)
    with pytest.raises(IncompatibleAdapter, match="upload it to a server running its backbone"):
        service.predict(CALLER, Target("foreign"), TEXTS)


def test_a_pooler_head_is_failed_precondition_over_grpc(start_hub, no_pooler_runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, client = start_hub(no_pooler_runtime)
    directory = tmp_path / "pooled"
    directory.mkdir()
    for name, data in adapter(no_pooler_runtime, HeadKind.MULTI_LABEL, Pooling.POOLER).items():
        (directory / name).write_bytes(data)
    with pytest.raises(grpc.RpcError) as caught:
        client.push(directory, "pooled")
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "pooling" in caught.value.details()
    manifest = json.loads((directory / MANIFEST_FILE).read_text())
    manifest["tasks"][0]["pooling"] = "mean"  # what the message says to change
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest))
    client.push(directory, "pooled")
    assert len(client.predict("pooled", TEXTS)) == len(TEXTS)


def test_the_backbone_positions_bound_the_token_limit(tmp_path: Path) -> None:
    """A setting above the backbone's positions would let a long text crash the forward."""
    from hub.engine.runtime import Runtime
    from hub.engine.tiny import save_tiny_backbone

    runtime = Runtime.load(str(save_tiny_backbone(tmp_path / "short", positions=16)), device="cpu")
    service = service_on(runtime)
    service.upload(CALLER, UploadHeader("a"), adapter(runtime, HeadKind.SEQUENCE, Pooling.CLS))
    with pytest.raises(InvalidArgument, match=r"texts\[1\] is \d+ tokens long; the limit is 16"):
        service.predict(CALLER, Target("a"), ["short", " ".join(["word"] * 30)])
    assert len(service.predict(CALLER, Target("a"), ["short"]).predictions) == 1


def test_each_piece_is_tokenized_once_per_request(tiny_runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    service = service_on(tiny_runtime)
    for kind in (HeadKind.SEQUENCE, HeadKind.TOKEN):
        service.upload(CALLER, UploadHeader(kind.value), adapter(tiny_runtime, kind, Pooling.CLS))
    calls: list[list[str]] = []
    real = tiny_runtime.engine.encode
    monkeypatch.setattr(tiny_runtime.engine, "encode", lambda texts: (calls.append(list(texts)), real(texts))[1])
    served = service.predict(CALLER, Target("token"), [TEXTS[0], TEXTS[1], TEXTS[0]])
    assert calls == [[TEXTS[0], TEXTS[1]]]  # one call, each distinct text once; run() encoded nothing
    assert served.predictions[0] == served.predictions[2]
    calls.clear()
    fanned = service.fan_out(CALLER, TEXTS[2], [Target("sequence"), Target("token")])
    assert calls == [[TEXTS[2]]] and [s.adapter for s in fanned] == ["sequence", "token"]
    entities = fanned[1].predictions[0].entities
    assert all(TEXTS[2][e.start : e.end] == e.text for e in entities)
