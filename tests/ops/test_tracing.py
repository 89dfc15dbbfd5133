"""OpenTelemetry spans of one Predict through the real server, into an in-memory exporter: the
span tree, the caller's W3C trace context continued, PredictStream's per-request spans."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from adapter_hub_client.calls import parse_ref
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from hub.api.v1 import inference_pb2
from hub.observe import tracing

pytestmark = pytest.mark.integration
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


@pytest.fixture
def exporter() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()  # this test's own: no global provider is set
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return sorted(
        (s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id),
        key=lambda s: s.start_time or 0,
    )


def test_one_predict_is_one_span_tree(start_hub, tiny_runtime, adapter_dir: Path, exporter) -> None:  # type: ignore[no-untyped-def]
    provider, spans_out = exporter
    server, client = start_hub(tiny_runtime, tracer_provider=provider)
    client.push(adapter_dir, "sent")
    spans_out.clear()
    traceparent = f"00-{TRACE_ID}-{PARENT_ID}-01"
    request = inference_pb2.PredictRequest(adapter=parse_ref("sent"), texts=["fine", "bad"])
    client.stubs["inference"].Predict(request, metadata=(("traceparent", traceparent),), timeout=30)
    spans = list(spans_out.get_finished_spans())
    (root,) = [s for s in spans if s.kind == SpanKind.SERVER]
    assert root.name == "hub.api.v1.InferenceService/Predict"
    assert format(root.context.trace_id, "032x") == TRACE_ID  # the caller's trace, continued
    assert root.parent is not None and format(root.parent.span_id, "016x") == PARENT_ID
    assert root.attributes is not None and root.attributes["rpc.grpc.status_code"] == 0
    assert root.attributes["hub.tenant"] == "local"
    top = [s.name for s in children(spans, root)]
    assert top == ["authenticate", "resolve", "adapter.load", "queue", "forward", "decode"]
    load = next(s for s in children(spans, root) if s.name == "adapter.load")
    assert load.attributes is not None and load.attributes["hub.tier"] == "device"
    assert [s.attributes["hub.tier"] for s in children(spans, load) if s.attributes] == ["disk", "store"]
    forward = next(s for s in children(spans, root) if s.name == "forward")
    assert forward.attributes is not None and forward.attributes["hub.batch_rows"] >= 1
    assert all(s.context.trace_id == root.context.trace_id for s in spans)
    queue = next(s for s in children(spans, root) if s.name == "queue")
    assert queue.end_time is not None and forward.start_time is not None and queue.end_time <= forward.start_time

    spans_out.clear()
    client.predict("sent", ["again"])  # resident now: no load span; a new trace
    names = [s.name for s in spans_out.get_finished_spans()]
    assert "adapter.load" not in names and names.count("forward") == 1


def test_predict_stream_requests_are_children_of_the_call(start_hub, tiny_runtime, adapter_dir: Path, exporter) -> None:  # type: ignore[no-untyped-def]
    provider, spans_out = exporter
    server, client = start_hub(tiny_runtime, tracer_provider=provider)
    client.push(adapter_dir, "sent")
    spans_out.clear()
    answers = list(client.predict_stream([("a", "sent", ["x"], ""), ("b", "missing", ["y"], "")]))
    assert len(answers) == 2
    spans = list(spans_out.get_finished_spans())
    (root,) = [s for s in spans if s.kind == SpanKind.SERVER]
    requests = [s for s in children(spans, root) if s.name == "request"]
    assert len(requests) == 2
    ids = sorted(str(s.attributes["hub.request_id"]).rsplit("/", 1)[1] for s in requests if s.attributes)
    assert ids == ["a", "b"]
    assert any(s.name == "forward" for r in requests for s in children(spans, r))


def test_spans_are_a_no_op_without_a_tracer() -> None:
    with tracing.span("resolve", adapter="x") as inside:
        assert inside is None
    tracing.add_span("queue", 0, 1)  # nothing to record into: no error
    assert tracing.build_tracer_provider({}) is None  # no endpoint: tracing off
    assert tracing.tracer_of(None) is None


def test_an_endpoint_builds_an_otlp_provider() -> None:
    provider = tracing.build_tracer_provider({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317"})
    try:
        assert provider is not None and tracing.tracer_of(provider) is not None
    finally:
        provider.shutdown()
