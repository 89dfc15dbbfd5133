"""Retries in the client library against a real gRPC server on 127.0.0.1 that refuses the
first calls: the hint is honoured, final refusals and non-idempotent calls are not retried.
Pauses are recorded, not slept, where the test looks at them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from adapter_hub_client import AsyncHubClient, HubClient, InvalidArgument, ResourceExhausted, Unavailable
from adapter_hub_client.api.v1 import adapters_pb2, adapters_pb2_grpc, inference_pb2, inference_pb2_grpc
from adapter_hub_client.errors import from_rpc_error
from adapter_hub_client.retry import pause_for, with_retries


@dataclass
class Refuser:
    """Refuses the first ``refusals`` calls with ``code`` (and the hint, if any), then answers."""

    refusals: int = 0
    code: grpc.StatusCode = grpc.StatusCode.RESOURCE_EXHAUSTED
    hint: str | None = "1"
    calls: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # each upload's idempotency key

    def refuse(self, method: str, context: grpc.ServicerContext) -> None:
        self.calls.append(method)
        if len(self.calls) <= self.refusals:
            if self.hint is not None:
                context.set_trailing_metadata((("retry-after-ms", self.hint),))
            context.abort(self.code, "queue full")


class Inference(inference_pb2_grpc.InferenceServiceServicer):
    def __init__(self, refuser: Refuser) -> None:
        self.refuser = refuser

    def Predict(self, request, context):  # type: ignore[no-untyped-def]
        self.refuser.refuse("Predict", context)
        answers = [inference_pb2.Prediction() for _ in request.texts]
        return inference_pb2.PredictResponse(adapter=request.adapter.name, version="1", task="t", predictions=answers)


class Adapters(adapters_pb2_grpc.AdapterServiceServicer):
    def __init__(self, refuser: Refuser) -> None:
        self.refuser = refuser

    def UploadAdapter(self, request_iterator, context):  # type: ignore[no-untyped-def]
        parts = list(request_iterator)
        self.refuser.keys.append(parts[0].header.idempotency_key)
        self.refuser.refuse("UploadAdapter", context)
        return adapters_pb2.UploadAdapterResponse(adapter=adapters_pb2.AdapterVersionInfo(name=parts[0].header.name))


@pytest.fixture
def refusing() -> Iterator[tuple[Refuser, str]]:
    refuser = Refuser()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    inference_pb2_grpc.add_InferenceServiceServicer_to_server(Inference(refuser), server)
    adapters_pb2_grpc.add_AdapterServiceServicer_to_server(Adapters(refuser), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield refuser, f"127.0.0.1:{port}"
    server.stop(0).wait()


def test_a_refusal_with_a_hint_is_retried_after_the_hint(refusing) -> None:  # type: ignore[no-untyped-def]
    refuser, target = refusing
    refuser.refusals, refuser.hint = 2, "250"
    slept: list[float] = []
    with HubClient(target, api_key=None, retries=0) as hub:
        answer = with_retries(lambda: hub.predict("a", ["x"]), 3, sleep=slept.append, jitter=lambda: 0.5)
    assert [p.served_by for p in answer] == ["a@1"] and len(refuser.calls) == 3
    assert slept == [pytest.approx(0.25 * 1.125)] * 2  # the hint, stretched by the jitter


def test_the_client_retries_idempotent_calls_by_default(refusing) -> None:  # type: ignore[no-untyped-def]
    refuser, target = refusing
    refuser.refusals = 2
    with HubClient(target, retries=3) as hub:
        assert len(hub.predict("a", ["x", "y"])) == 2
    assert refuser.calls == ["Predict"] * 3


def test_retries_stop_after_the_given_number_and_keep_the_hint(refusing) -> None:  # type: ignore[no-untyped-def]
    refuser, target = refusing
    refuser.refusals = 5
    with HubClient(target, retries=3) as hub, pytest.raises(ResourceExhausted) as refused:
        hub.predict("a", ["x"], retries=1)
    assert refused.value.retry_after_s == 0.001 and refused.value.message == "queue full"
    assert len(refuser.calls) == 2


def test_resource_exhausted_without_a_hint_is_final(refusing) -> None:  # type: ignore[no-untyped-def]
    refuser, target = refusing
    refuser.refusals, refuser.hint = 1, None  # e.g. a storage quota: waiting does not help
    with HubClient(target, retries=5) as hub, pytest.raises(ResourceExhausted) as refused:
        hub.predict("a", ["x"])
    assert refused.value.retry_after_s is None and len(refuser.calls) == 1


def test_other_errors_are_not_retried(refusing) -> None:  # type: ignore[no-untyped-def]
    refuser, target = refusing
    refuser.refusals, refuser.code = 1, grpc.StatusCode.INVALID_ARGUMENT
    with HubClient(target, retries=5) as hub, pytest.raises(InvalidArgument):
        hub.predict("a", ["x"])
    assert len(refuser.calls) == 1


def test_a_push_is_retried_with_its_idempotency_key(refusing, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    refuser, target = refusing
    refuser.refusals, refuser.code, refuser.hint = 1, grpc.StatusCode.UNAVAILABLE, None
    (tmp_path / "adapter_config.json").write_text("{}")
    with HubClient(target, retries=5) as hub:
        assert hub.push(tmp_path, "mine").name == "mine"  # the files are sent again, with the same key
        assert refuser.calls == ["UploadAdapter"] * 2
        assert len(refuser.keys[0]) == 32 and refuser.keys[0] == refuser.keys[1]
        refuser.refusals = 4
        with pytest.raises(Unavailable):
            hub.push(tmp_path, "mine", retries=0)
        assert refuser.keys[2] != refuser.keys[0]  # a new push: a new key
        assert hub.push(tmp_path, "mine", idempotency_key="mine-1").name == "mine"
    assert refuser.keys[-1] == "mine-1" and len(refuser.calls) == 5


def test_the_async_client_retries_the_same_way(refusing) -> None:  # type: ignore[no-untyped-def]
    refuser, target = refusing
    refuser.refusals = 2

    async def main() -> int:
        async with AsyncHubClient(target, retries=2) as hub:
            return len(await hub.predict("a", ["x"]))

    assert asyncio.run(main()) == 1 and len(refuser.calls) == 3


def test_pauses_back_off_never_shorter_than_the_hint_and_capped(refusing) -> None:  # type: ignore[no-untyped-def]
    refuser, target = refusing
    refuser.refusals, refuser.hint = 3, "250"
    channel = grpc.insecure_channel(target)
    stub = inference_pb2_grpc.InferenceServiceStub(channel)
    with pytest.raises(grpc.RpcError) as refused:
        stub.Predict(inference_pb2.PredictRequest(), timeout=10)
    hinted = from_rpc_error(refused.value)
    assert [pause_for(hinted, n, 0.0) for n in range(5)] == pytest.approx([0.25, 0.25, 0.25, 0.4, 0.8])
    refuser.code, refuser.hint = grpc.StatusCode.UNAVAILABLE, None
    with pytest.raises(grpc.RpcError) as refused:
        stub.Predict(inference_pb2.PredictRequest(), timeout=10)
    bare = from_rpc_error(refused.value)
    assert [pause_for(bare, n, 0.0) for n in range(3)] == pytest.approx([0.05, 0.1, 0.2])
    assert pause_for(bare, 20, 0.0) == 30.0
    channel.close()
