"""Spans of one request through OpenTelemetry: an optional extra (``adapter-hub[otel]``), off
unless a tracer is given (``serve`` builds one when OTEL_EXPORTER_OTLP_ENDPOINT is set; tests
pass their own provider).

No global tracer provider: the transport builds one per server and, for each call, puts its
tracer in a context variable (``CallSpan``). ``span`` anywhere below (serving, residency) then
opens a child of the call's span; with tracing off, or opentelemetry not installed, it costs one
context-variable read and returns a shared null context. The only module that imports
opentelemetry (tests/unit/test_boundaries.py).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from types import TracebackType
from typing import Any

try:  # the optional extra
    from opentelemetry import context as otel_context
    from opentelemetry import trace as otel_trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
except ImportError:  # pragma: no cover - exercised where the extra is not installed
    otel_trace = None  # type: ignore[assignment]

log = logging.getLogger("hub.observe.tracing")

TRACER_NAME = "adapter-hub"
_tracer: ContextVar[Any] = ContextVar("hub_tracer", default=None)
_NULL: contextlib.nullcontext[None] = contextlib.nullcontext()
# gRPC codes that are the server's fault (OpenTelemetry's semantic conventions for RPC servers);
# a caller's mistake (NOT_FOUND, INVALID_ARGUMENT, ...) leaves the span's status unset.
SERVER_ERRORS = {"UNKNOWN", "DEADLINE_EXCEEDED", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS"}


def available() -> bool:
    return otel_trace is not None


def _attributes(values: Mapping[str, Any]) -> dict[str, Any]:
    return {f"hub.{k}": v for k, v in values.items() if v is not None}


def span(name: str, **attributes: Any) -> contextlib.AbstractContextManager[Any]:
    """A child span of the current one while the block runs (attributes get a ``hub.`` prefix)."""
    tracer = _tracer.get()
    if tracer is None:
        return _NULL
    return tracer.start_as_current_span(name, attributes=_attributes(attributes), record_exception=False)


def add_span(name: str, start_ns: int, end_ns: int, **attributes: Any) -> None:
    """A finished child span, recorded after the fact: time spent elsewhere on this request's
    behalf (its wait in the queue, its batch's forward on the batcher's thread)."""
    tracer = _tracer.get()
    if tracer is None:
        return
    child = tracer.start_span(name, start_time=start_ns, attributes=_attributes(attributes))
    child.end(end_time=max(start_ns, end_ns))


def set_attributes(**attributes: Any) -> None:
    if _tracer.get() is not None:
        otel_trace.get_current_span().set_attributes(_attributes(attributes))


class CallSpan:
    """The server span of one call: its parent from the caller's W3C ``traceparent`` metadata;
    while it is entered, ``span`` below opens its children. ``finish`` sets the status."""

    def __init__(self, tracer: Any, name: str, metadata: Iterable[tuple[str, str | bytes]], **attributes: Any):
        self.tracer = tracer
        self._span: Any = None
        self._tokens: list[Any] = []
        if tracer is None:
            return
        carrier = {k: v for k, v in metadata if isinstance(v, str)}
        parent = TraceContextTextMapPropagator().extract(carrier=carrier)
        self._span = tracer.start_span(name, context=parent, kind=otel_trace.SpanKind.SERVER, attributes=attributes)

    def __enter__(self) -> CallSpan:
        if self._span is not None:
            self._tokens = [
                _tracer.set(self.tracer),
                otel_context.attach(otel_trace.set_span_in_context(self._span)),
            ]
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self._tokens:
            otel_context.detach(self._tokens[1])
            _tracer.reset(self._tokens[0])
            self._tokens = []

    def finish(self, code: str, code_value: int, **attributes: Any) -> None:
        if self._span is None:
            return
        self._span.set_attribute("rpc.grpc.status_code", code_value)
        self._span.set_attributes(_attributes(attributes))
        if code in SERVER_ERRORS:
            self._span.set_status(otel_trace.Status(otel_trace.StatusCode.ERROR, code))
        self._span.end()


def build_tracer_provider(environ: Mapping[str, str] | None = None) -> Any:
    """A tracer provider exporting over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT (or its traces
    variant) is set, else None (tracing off). The exporter reads the OTEL_* variables itself."""
    env = os.environ if environ is None else environ
    if not (env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return None
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        if env.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc").startswith("http"):
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        else:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    except ImportError as exc:
        log.warning("OTEL_EXPORTER_OTLP_ENDPOINT is set but tracing is off: %s (pip install 'adapter-hub[otel]')", exc)
        return None
    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME", TRACER_NAME)})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def tracer_of(provider: Any) -> Any:
    return None if provider is None or otel_trace is None else provider.get_tracer(TRACER_NAME)
