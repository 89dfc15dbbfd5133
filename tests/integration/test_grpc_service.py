"""The real server on 127.0.0.1 with the packaged backbone, driven through the generated stubs."""

from __future__ import annotations

from pathlib import Path

import grpc
import numpy as np
import pytest
import torch
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from hub.api.v1 import common_pb2, inference_pb2
from tests.helpers import packaged_model_dir
from tests.integration.conftest import SEQ_LABELS, TOKEN_LABELS

pytestmark = pytest.mark.integration
SEQ = "generic.sequence_classification"
TOKEN = "generic.token_classification"
TEXTS = ["The product is wonderful.", "Stock fell sharply after the report.", "ok"]


def peft_probs(adapter_dir: Path, texts: list[str], token: bool = False) -> list[np.ndarray]:
    from peft import PeftModel
    from transformers import (
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
    )

    cls = AutoModelForTokenClassification if token else AutoModelForSequenceClassification
    labels = len(TOKEN_LABELS) if token else len(SEQ_LABELS)
    model = PeftModel.from_pretrained(cls.from_pretrained(packaged_model_dir(), num_labels=labels), adapter_dir)
    tokenizer = AutoTokenizer.from_pretrained(packaged_model_dir())
    with torch.no_grad():
        return [model.eval()(**tokenizer([t], return_tensors="pt")).logits[0].softmax(-1).numpy() for t in texts]


def code_of(call) -> grpc.StatusCode:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.code()


def test_health_reflection_and_server_info(packaged_hub, packaged_runtime) -> None:  # type: ignore[no-untyped-def]
    server, client = packaged_hub
    assert client.serving()
    health = health_pb2_grpc.HealthStub(client.channel)
    for service in ("hub.api.v1.InferenceService", "hub.api.v1.AdapterService"):
        status = health.Check(health_pb2.HealthCheckRequest(service=service)).status
        assert status == health_pb2.HealthCheckResponse.SERVING
    stub = reflection_pb2_grpc.ServerReflectionStub(client.channel)
    reply = next(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")])))
    names = {s.name for s in reply.list_services_response.service}
    assert {
        "hub.api.v1.InferenceService",
        "hub.api.v1.AdapterService",
        "hub.api.v1.AdminService",
    } <= names
    assert {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= names
    info = client.server_info()
    assert info.backbone_name == "all-minilm-l6-v2" and info.hidden_size == 384
    assert info.backbone_fingerprint == packaged_runtime.spec.fingerprint
    assert info.device == "cpu" and info.backbone_parameters == 22_713_216
    assert {"torch", "transformers", "peft", "grpcio", "hub"} <= set(info.versions)


def test_push_then_predict_matches_peft(packaged_hub, packaged_adapters) -> None:  # type: ignore[no-untyped-def]
    _, client = packaged_hub
    stored = client.push(packaged_adapters["seq"], "sentiment", task=SEQ, labels=list(SEQ_LABELS))
    assert (stored.name, stored.version, stored.rank) == ("sentiment", "1", 8)
    assert stored.backbone_fingerprint == client.server_info().backbone_fingerprint
    response = client.predict("sentiment", TEXTS)
    assert {(p.version, p.task) for p in response} == {("1", SEQ)}
    for got, want in zip(response, peft_probs(packaged_adapters["seq"], TEXTS), strict=True):
        scores = {x.label: x.score for x in got.labels}
        np.testing.assert_allclose([scores[label] for label in SEQ_LABELS], want, atol=1e-4)
        assert [x.score for x in got.labels] == sorted((x.score for x in got.labels), reverse=True)
        assert got.predicted == [got.labels[0].label]


def test_token_task_returns_spans_in_the_original_text(packaged_hub, packaged_adapters) -> None:  # type: ignore[no-untyped-def]
    _, client = packaged_hub
    client.push(packaged_adapters["token"], "ner", task=TOKEN, labels=list(TOKEN_LABELS))
    text = "Cisplatin-induced nephrotoxicity   was seen in 3 PATIENTS with ovarian cancer."
    [prediction] = client.predict("ner@1", [text])
    assert prediction.head_kind == "token"
    entities = prediction.entities
    assert entities, "a random non-zero adapter tags some words"
    for e in entities:
        assert text[e.start : e.end] == e.text and e.label in ("Disease", "Chemical") and 0 < e.score <= 1


def test_fan_out_equals_separate_predicts(packaged_hub, packaged_adapters) -> None:  # type: ignore[no-untyped-def]
    _, client = packaged_hub
    client.push(packaged_adapters["seq"], "a", task=SEQ, labels=list(SEQ_LABELS))
    client.push(packaged_adapters["seq2"], "b", task=SEQ, labels=list(SEQ_LABELS))
    client.push(packaged_adapters["token"], "c", task=TOKEN, labels=list(TOKEN_LABELS))
    text = TEXTS[1]
    fan = client.fan_out(text, [("a", ""), ("b@1", SEQ), ("c", "")])
    assert [(r.adapter, r.version) for r in fan] == [("a", "1"), ("b", "1"), ("c", "1")]
    for result, name in zip(fan[:2], ("a", "b"), strict=True):
        alone = client.predict(name, [text])[0]
        np.testing.assert_allclose([x.score for x in result.labels], [x.score for x in alone.labels], atol=1e-5)
    assert [e.text for e in fan[2].entities] == [e.text for e in client.predict("c", [text])[0].entities]


def test_errors_carry_the_right_status(packaged_hub, packaged_adapters, tiny_backbone_dir) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import make_peft_adapter

    server, client = packaged_hub
    client.push(packaged_adapters["seq"], "s", task=SEQ, labels=list(SEQ_LABELS))
    limits = client.server_info().limits
    assert code_of(lambda: client.predict("missing", ["x"])) == grpc.StatusCode.NOT_FOUND
    assert code_of(lambda: client.predict("s@7", ["x"])) == grpc.StatusCode.NOT_FOUND
    assert code_of(lambda: client.predict("s", [])) == grpc.StatusCode.INVALID_ARGUMENT
    assert code_of(lambda: client.predict("s", ["x"] * (limits.max_texts_per_request + 1))) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    assert code_of(lambda: client.predict("s", ["x" * (limits.max_text_chars + 1)])) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    too_many_tokens = " ".join(["word"] * limits.max_tokens_per_text)
    assert code_of(lambda: client.predict("s", [too_many_tokens])) == grpc.StatusCode.INVALID_ARGUMENT
    assert code_of(lambda: client.predict("s", ["x"], task="generic.token_classification")) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    assert code_of(lambda: client.push(packaged_adapters["seq"], "s2")) == grpc.StatusCode.INVALID_ARGUMENT
    assert code_of(lambda: client.push(packaged_adapters["seq"], "Bad Name!", task=SEQ, labels=["a"])) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    foreign = make_peft_adapter(tiny_backbone_dir, tiny_backbone_dir.parent / "foreign", task_type="SEQ_CLS",
                                num_labels=2, rank=2, seed=9)  # fmt: skip
    with pytest.raises(grpc.RpcError) as caught:
        client.push(foreign, "foreign", task=SEQ, labels=["a", "b"])
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "LoRA maps 32 -> 32" in caught.value.details()
    assert [a.name for a in client.list_adapters()] == ["s"]  # nothing half-stored


def test_internal_errors_never_leak_details(packaged_hub, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    server, client = packaged_hub

    def explode(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret /srv/keys/path")

    monkeypatch.setattr(server.service, "list_adapters", explode)
    with pytest.raises(grpc.RpcError) as caught:
        client.list_adapters()
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in caught.value.details() and "Traceback" not in caught.value.details()
    assert "incident" in caught.value.details()


def test_list_get_alias_delete(packaged_hub, packaged_adapters) -> None:  # type: ignore[no-untyped-def]
    _, client = packaged_hub
    for _ in range(2):
        client.push(packaged_adapters["seq"], "s", task=SEQ, labels=list(SEQ_LABELS), description="demo")
    listing = client.list_adapters()
    assert [(a.name, [v.version for v in a.versions], dict(a.aliases)) for a in listing] == [
        ("s", ["1", "2"], {"latest": "2"})
    ]
    assert listing[0].versions[0].size_bytes > 0 and listing[0].versions[1].description == "demo"
    assert client.set_alias("s", "1", "prod").previous_version == ""
    assert list(client.get_adapter("s@prod").aliases) == ["prod"]
    assert client.predict("s@prod", ["x"])[0].version == "1"
    assert client.delete_adapter("s@2") == ["2"]
    assert client.predict("s", ["x"])[0].version == "1"
    assert client.delete_adapter("s") == ["1"]
    assert code_of(lambda: client.get_adapter("s")) == grpc.StatusCode.NOT_FOUND


def test_not_serving_until_the_backbone_is_loaded(start_hub, tiny_backbone_dir) -> None:  # type: ignore[no-untyped-def]
    from adapter_hub_client import HubClient

    from hub.config.settings import Settings
    from hub.serving.app import build_service
    from hub.serving.auth import LocalAuthenticator
    from hub.transport.server import HubServer

    settings = Settings.from_env(environ={}, port=0, store=str(tiny_backbone_dir.parent / "s"),
                                 backbone=str(tiny_backbone_dir), device="cpu")  # fmt: skip
    server = HubServer(build_service(settings), LocalAuthenticator())
    server.start(load_backbone=False)
    try:
        with HubClient(f"127.0.0.1:{server.port}") as client:
            assert not client.serving()
            assert code_of(client.server_info) == grpc.StatusCode.UNAVAILABLE
            server.load_in_background().join(60)
            assert client.serving()
            assert code_of(lambda: client.predict("x", ["y"])) == grpc.StatusCode.NOT_FOUND
    finally:
        server.stop(grace=1)


def test_proto_messages_round_trip() -> None:
    request = inference_pb2.PredictRequest(adapter=common_pb2.AdapterRef(name="a", version="2"), texts=["x"])
    assert inference_pb2.PredictRequest.FromString(request.SerializeToString()) == request


def test_upload_caps_chunks_and_refuses_symlinks(packaged_hub, packaged_adapters, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from hub.api.v1 import adapters_pb2

    _, client = packaged_hub
    header = adapters_pb2.UploadAdapterRequest(header=adapters_pb2.UploadHeader(name="big"))
    huge = adapters_pb2.UploadAdapterRequest(
        chunk=adapters_pb2.FileChunk(path="adapter_model.safetensors", data=b"\0" * (9 << 20))
    )
    with pytest.raises(grpc.RpcError) as caught:
        client.stubs["adapters"].UploadAdapter(iter([header, huge]), timeout=60)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    linked = tmp_path / "linked"
    linked.mkdir()
    for f in packaged_adapters["seq"].iterdir():
        (linked / f.name).write_bytes(f.read_bytes())
    (linked / "extra.json").symlink_to("/etc/hostname")
    with pytest.raises(ValueError, match="symbolic links"):
        client.push(linked, "linked", task=SEQ, labels=list(SEQ_LABELS))
    assert client.list_adapters() == []
