"""The replica's parts that need no running Serve: replies, generated methods, report counters."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from ray.serve._private.utils import MULTIPLEXED_FUNCTION_MARKER_ATTR

from hub.api.v1 import adapters_pb2, common_pb2, inference_pb2, residency_pb2
from hub.cluster.context import ServeCallContext
from hub.cluster.replica import ReplicaBase, _forward_counts, _serve_method, empty_response, replica_class
from hub.errors import NotFound
from hub.observe.logs import FIELDS_KEY, REQUEST_LOGGER
from hub.observe.telemetry import Telemetry
from hub.transport.observe import REQUEST_ID_KEY, CallObserver
from hub.transport.server import SERVICES
from hub.transport.status import abort
from tests.cluster.calls import deliver, serve_call

RPCS = [(service, method) for service in SERVICES for method in service.methods]


@pytest.mark.parametrize("rpc", [m.name for _, m in RPCS])
def test_the_empty_response_of_every_rpc_is_its_response_type(rpc: str) -> None:
    method = next(m for _, m in RPCS if m.name == rpc)
    answer = empty_response(rpc)
    assert isinstance(answer, Message)
    assert answer.DESCRIPTOR.full_name == method.output_type.full_name
    assert answer.ByteSize() == 0  # nothing set: the status on the context is the reply


def test_empty_responses_are_the_generated_classes() -> None:
    assert type(empty_response("Predict")) is inference_pb2.PredictResponse
    assert type(empty_response("UploadAdapter")) is adapters_pb2.UploadAdapterResponse
    assert type(empty_response("Pin")) is residency_pb2.ResidencyResponse
    assert type(empty_response("Status")) is residency_pb2.ResidencyStatusResponse
    with pytest.raises(KeyError):
        empty_response("NoSuchRpc")


def test_each_rpc_gets_a_serve_method_of_its_streaming_kind() -> None:
    for _, method in RPCS:
        serve_method = _serve_method(method)
        if method.server_streaming:  # PredictStream, DownloadAdapter: answers are yielded
            assert inspect.isasyncgenfunction(serve_method)
        else:  # UploadAdapter (client stream) and every unary RPC: one awaited reply
            assert inspect.iscoroutinefunction(serve_method) and not inspect.isasyncgenfunction(serve_method)
    assert {m.name for _, m in RPCS if m.client_streaming} == {"PredictStream", "UploadAdapter"}


def test_the_replica_class_has_a_method_per_rpc_and_the_multiplexed_route() -> None:
    cls = replica_class(4)
    assert issubclass(cls, ReplicaBase) and cls.__module__ == "hub.cluster.replica"
    names = {m.name for _, m in RPCS}
    assert len(names) == len(RPCS) and {s.name for s in SERVICES} == {
        "InferenceService",
        "AdapterService",
        "AdminService",
        "TenantService",
        "ResidencyService",
        "DomainService",
    }
    for name in names | {"route"}:
        assert callable(getattr(cls, name, None)), name
    assert getattr(cls.route, MULTIPLEXED_FUNCTION_MARKER_ATTR, False)


def servicer_stand_ins() -> dict[str, Any]:
    """Servicer methods with the hub servicers' calling shape (request or iterator, context)."""

    async def predict(
        request: inference_pb2.PredictRequest, context: ServeCallContext
    ) -> inference_pb2.PredictResponse:
        if request.adapter.name == "missing":
            await abort(context, NotFound("adapter missing not found"))  # as hub/transport/base.py does
        return inference_pb2.PredictResponse(adapter=request.adapter.name, version="1")

    async def upload(stream: AsyncIterator[adapters_pb2.UploadAdapterRequest], context: ServeCallContext) -> Any:
        size = sum([len(message.chunk.data) async for message in stream])
        return adapters_pb2.UploadAdapterResponse(adapter=adapters_pb2.AdapterVersionInfo(size_bytes=size))

    async def predict_stream(
        stream: AsyncIterator[inference_pb2.PredictRequest], context: ServeCallContext
    ) -> AsyncIterator[Any]:
        async for request in stream:
            yield inference_pb2.PredictResponse(adapter=request.adapter.name)

    return {"Predict": predict, "UploadAdapter": upload, "PredictStream": predict_stream}


async def client_stream(messages: list[Any]) -> AsyncIterator[Any]:
    for message in messages:
        await asyncio.sleep(0)
        yield message


def predict_request(name: str) -> inference_pb2.PredictRequest:
    return inference_pb2.PredictRequest(adapter=common_pb2.AdapterRef(name=name), texts=["hello"])


def test_generated_methods_run_the_servicers_and_answer_in_serves_shape() -> None:
    """The replica's Serve methods on an instance built without Serve (no backbone, no Ray)."""
    replica: Any = object.__new__(replica_class(2))
    replica.methods = servicer_stand_ins()
    replica.front = SimpleNamespace(loop=object())  # bound already: context() leaves it
    replica.observer = CallObserver(Telemetry())

    async def calls() -> list[Any]:
        answered = await replica.Predict(predict_request("sent"), serve_call()[1])
        missing_context = serve_call()[1]
        missing = await replica.Predict(predict_request("missing"), missing_context)
        uploads = [
            adapters_pb2.UploadAdapterRequest(chunk=adapters_pb2.FileChunk(path="a", data=data))
            for data in (b"ab", b"cde")
        ]
        uploaded = await replica.UploadAdapter(client_stream(uploads), serve_call()[1])
        requests = [predict_request(name) for name in ("a", "b", "c")]
        streamed = [r.adapter async for r in replica.PredictStream(client_stream(requests), serve_call()[1])]
        return [answered, missing, missing_context.code(), uploaded.adapter.size_bytes, streamed]

    answered, missing, code, size, streamed = asyncio.run(calls())
    assert (answered.adapter, answered.version) == ("sent", "1")
    assert type(missing) is inference_pb2.PredictResponse and missing.ByteSize() == 0
    assert code == grpc.StatusCode.NOT_FOUND
    assert size == 5 and streamed == ["a", "b", "c"]


def test_a_replicas_calls_are_observed_as_the_servers_are(caplog: pytest.LogCaptureFixture) -> None:
    """Each call through a replica: one request log line (its status), the per-tenant metrics,
    a server span continuing the caller's trace, and the x-request-id in the trailing metadata
    (Serve's proxy sends no initial metadata) beside the servicer's own trailers."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = Telemetry()
    replica: Any = object.__new__(replica_class(2))
    replica.methods = servicer_stand_ins()
    replica.front = SimpleNamespace(loop=object())
    replica.observer = CallObserver(telemetry, provider.get_tracer("test"))
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    sent, sent_context = serve_call([("traceparent", traceparent), (REQUEST_ID_KEY, "mine-1")])
    missing, missing_context = serve_call()

    async def calls() -> None:
        await replica.Predict(predict_request("sent"), sent_context)
        await replica.Predict(predict_request("missing"), missing_context)
        async for _ in replica.PredictStream(client_stream([predict_request("a")]), serve_call()[1]):
            pass

    with caplog.at_level("INFO", logger=REQUEST_LOGGER):
        asyncio.run(calls())
    deliver(sent, sent_context)
    deliver(missing, missing_context)
    lines = [getattr(r, FIELDS_KEY) for r in caplog.records if r.name == REQUEST_LOGGER]
    assert [(f["method"], f["status"]) for f in lines] == [
        ("Predict", "OK"),
        ("Predict", "NOT_FOUND"),
        ("PredictStream", "OK"),
    ]
    assert lines[0]["request_id"] == "mine-1"
    assert (REQUEST_ID_KEY, "mine-1") in sent.sent_trailing
    assert any(k == REQUEST_ID_KEY and v == lines[1]["request_id"] for k, v in missing.sent_trailing)
    spans = [s for s in exporter.get_finished_spans() if s.parent is None or s.parent.is_remote]
    assert [s.name.rpartition("/")[2] for s in spans] == ["Predict", "Predict", "PredictStream"]
    assert spans[0].context.trace_id == int("4bf92f3577b34da6a3ce929d0e0e4736", 16)  # the caller's trace
    assert spans[0].attributes is not None and spans[0].attributes["rpc.service"] == "hub.api.v1.InferenceService"
    exposition = telemetry.exposition().decode()
    assert 'method="Predict"' in exposition and 'code="NOT_FOUND"' in exposition
    provider.shutdown()


def test_forward_counts_read_total_and_mixed_forwards_from_the_histogram() -> None:
    histogram = Telemetry().batch_adapters  # distinct adapters per engine forward
    assert _forward_counts(histogram) == (0, 0)
    for adapters in (1, 1, 3, 2, 1, 64):
        histogram.observe(adapters)
    assert _forward_counts(histogram) == (6, 3)
