"""Every hub call observed once, at the edge: a request id, a RequestRecord the layers below fill
in, a server span (its parent from the caller's W3C ``traceparent``), and at the end the call's
metrics and its one log line (hub/observe/request_log.py, logs.py, telemetry.py).

A gRPC server interceptor wraps each hub.api method's behaviour (health and reflection are not
observed: probes are not traffic). The record and the span live in context variables, so each
call runs in its own asyncio task (its own copy of the context). PredictStream's requests run
as tasks of the call: ``stream_request`` gives each its own record and span, children of the
call's, and its own log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
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


def _metadata_value(metadata: tuple[tuple[str, Any], ...], key: str) -> str | None:
    return next((v for k, v in metadata if k == key and isinstance(v, str)), None)


class CallObserver(grpc.aio.ServerInterceptor):
    def __init__(self, telemetry: Telemetry, tracer: Any = None) -> None:
        self.telemetry = telemetry
        self.tracer = tracer

    async def intercept_service(self, continuation: Callable[[Any], Awaitable[Any]], details: Any) -> Any:
        handler = await continuation(details)
        if handler is None or not details.method.startswith(OBSERVED_PREFIX):
            return handler
        service, _, method = details.method[1:].rpartition("/")
        metadata = tuple(details.invocation_metadata or ())

        def call(context: grpc.aio.ServicerContext) -> contextlib.AbstractAsyncContextManager[Any]:
            return self.observe_call(service, method, metadata, context)

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

    @contextlib.asynccontextmanager
    async def observe_call(
        self, service: str, method: str, metadata: tuple[tuple[str, Any], ...], context: Any
    ) -> AsyncIterator[Any]:
        """The call's record and span while it runs; yields the context the behaviour gets.
        ``context``: a ``grpc.aio.ServicerContext``, or a cluster replica's ServeCallContext
        (hub/cluster/context.py), so a replica's calls are observed as the server's are."""
        record = rl.RequestRecord(rl.request_id(_metadata_value(metadata, REQUEST_ID_KEY)), method)
        with contextlib.suppress(grpc.RpcError, ValueError, grpc.aio.UsageError):  # the caller is already gone
            await context.send_initial_metadata(((REQUEST_ID_KEY, record.request_id),))
        attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": method}
        started, finished = time.perf_counter(), list[grpc.StatusCode]()
        with rl.recording(record), tracing.CallSpan(self.tracer, f"{service}/{method}", metadata, **attributes) as span:

            def finish(code: grpc.StatusCode) -> None:
                if finished:  # once: at abort (before the client has the status), or at the end
                    return
                finished.append(code)
                record.total_s = time.perf_counter() - started
                record.status = code.name
                self.telemetry.call_done(record)
                span.finish(record.status, code.value[0], tenant=record.tenant, request_id=record.request_id)
                log_request(record.fields())

            try:
                yield _ObservedContext(context, finish)
            except asyncio.CancelledError:
                finish(grpc.StatusCode.CANCELLED)
                raise
            except BaseException:
                finish(_code(context) or grpc.StatusCode.UNKNOWN)
                raise
            finish(_code(context) or (grpc.StatusCode.CANCELLED if context.cancelled() else grpc.StatusCode.OK))


class _ObservedContext:
    """The call's context as the servicer sees it: ``abort`` first closes the call's record
    (metrics, span, log line), since grpc.aio sends the status to the client at once."""

    def __init__(self, context: grpc.aio.ServicerContext, finish: Callable[[grpc.StatusCode], None]) -> None:
        self._context, self._finish = context, finish

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    async def abort(self, code: grpc.StatusCode, details: str = "", trailing_metadata: Any = ()) -> None:
        self._finish(code)
        await self._context.abort(code, details, trailing_metadata)


def _code(context: grpc.aio.ServicerContext) -> grpc.StatusCode | None:
    code = context.code()
    if isinstance(code, int):  # grpc.aio reports the code set by abort as its number
        return next((c for c in grpc.StatusCode if c.value[0] == code), grpc.StatusCode.UNKNOWN)
    return code


def _unary(behaviour: Callable[..., Any], call: Callable[..., Any]) -> Callable[..., Any]:
    async def observed(request: Any, context: grpc.aio.ServicerContext) -> Any:
        async with call(context) as observed_context:
            return await behaviour(request, observed_context)

    return observed


def _streaming(behaviour: Callable[..., Any], call: Callable[..., Any]) -> Callable[..., Any]:
    async def observed(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        async with call(context) as observed_context:
            async for item in behaviour(request, observed_context):
                yield item

    return observed


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
