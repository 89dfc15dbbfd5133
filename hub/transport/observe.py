"""Every hub call observed once, at the edge: a request id, a RequestRecord the layers below fill
in, a server span (its parent from the caller's W3C ``traceparent``), and at the end the call's
metrics and its one log line (hub/observe/request_log.py, logs.py, telemetry.py).

A gRPC server interceptor wraps each hub.api method's behaviour (health and reflection are not
observed: probes are not traffic). The record and the span live in context variables, so each
call runs in its own copy of the context; a streaming behaviour's steps all run in that copy.
PredictStream's requests run on the stream's pool: ``stream_request`` gives each its own record
and span, children of the call's, and its own log line.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any

import grpc

from hub.errors import DomainError
from hub.observe import request_log as rl
from hub.observe import tracing
from hub.observe.logs import log_request
from hub.observe.telemetry import Telemetry
from hub.transport.status import status_for

OBSERVED_PREFIX = "/hub.api."
REQUEST_ID_KEY = "x-request-id"
_END = object()


def _metadata_value(metadata: tuple[tuple[str, Any], ...], key: str) -> str | None:
    return next((v for k, v in metadata if k == key and isinstance(v, str)), None)


class CallObserver(grpc.ServerInterceptor):
    def __init__(self, telemetry: Telemetry, tracer: Any = None) -> None:
        self.telemetry = telemetry
        self.tracer = tracer

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None or not details.method.startswith(OBSERVED_PREFIX):
            return handler
        service, _, method = details.method[1:].rpartition("/")
        metadata = tuple(details.invocation_metadata or ())

        def call(context: grpc.ServicerContext) -> contextlib.AbstractContextManager[rl.RequestRecord]:
            return self._call(service, method, metadata, context)

        codec = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(_unary(handler.unary_unary, call), **codec)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(_unary(handler.stream_unary, call), **codec)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(_streaming(handler.unary_stream, call), **codec)
        return grpc.stream_stream_rpc_method_handler(_streaming(handler.stream_stream, call), **codec)

    @contextlib.contextmanager
    def _call(
        self, service: str, method: str, metadata: tuple[tuple[str, Any], ...], context: grpc.ServicerContext
    ) -> Iterator[rl.RequestRecord]:
        record = rl.RequestRecord(rl.request_id(_metadata_value(metadata, REQUEST_ID_KEY)), method)
        with contextlib.suppress(grpc.RpcError, ValueError):  # the caller is already gone
            context.send_initial_metadata(((REQUEST_ID_KEY, record.request_id),))
        attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": method}
        started, failed = time.perf_counter(), False
        with rl.recording(record), tracing.CallSpan(self.tracer, f"{service}/{method}", metadata, **attributes) as span:
            try:
                yield record
            except BaseException:
                failed = True
                raise
            finally:
                record.total_s = time.perf_counter() - started
                code = context.code()
                if code is None:
                    code = grpc.StatusCode.UNKNOWN if failed else grpc.StatusCode.OK
                    code = grpc.StatusCode.CANCELLED if not context.is_active() else code
                record.status = code.name
                self.telemetry.call_done(record)
                span.finish(record.status, code.value[0], tenant=record.tenant, request_id=record.request_id)
                log_request(record.fields())


def _unary(behaviour: Callable[..., Any], call: Callable[..., Any]) -> Callable[..., Any]:
    def observed(request: Any, context: grpc.ServicerContext) -> Any:
        def run() -> Any:
            with call(context):
                return behaviour(request, context)

        return contextvars.copy_context().run(run)

    return observed


def _streaming(behaviour: Callable[..., Any], call: Callable[..., Any]) -> Callable[..., Any]:
    def observed(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        def answers() -> Generator[Any, None, None]:
            with call(context):
                yield from behaviour(request, context)

        ctx, steps = contextvars.copy_context(), answers()
        try:
            while (item := ctx.run(next, steps, _END)) is not _END:
                yield item
        finally:
            ctx.run(steps.close)

    return observed


def in_this_context(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn``, to run on another thread within a copy of the calling context (each run its own
    copy), so spans and records opened there are children of this call's."""
    parent = contextvars.copy_context()
    return lambda *args: parent.copy().run(fn, *args)


@contextlib.contextmanager
def stream_request(telemetry: Telemetry, item_id: str) -> Iterator[rl.RequestRecord]:
    """One PredictStream request: its own record (summed into the call's), span and log line."""
    call = rl.current()
    prefix = call.request_id if call is not None else rl.request_id()
    record = rl.RequestRecord(f"{prefix}/{rl.safe_id(item_id)}", "PredictStream", parent=call)
    record.tenant = call.tenant if call is not None else ""
    started = time.perf_counter()
    with rl.recording(record), tracing.span("request", request_id=record.request_id):
        try:
            yield record
        except Exception as exc:
            code = status_for(exc) if isinstance(exc, DomainError) else grpc.StatusCode.INTERNAL
            record.status = code.name  # (status_of would log an internal error a second time)
            rl.note_error(exc)
            raise
        finally:
            record.total_s = time.perf_counter() - started
            telemetry.stream_request_done(record)
            record.add_to_call()
            log_request(record.fields())
