"""``HubClient``: the synchronous client, one channel for every service of one hub."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

import grpc

from adapter_hub_client import calls, health
from adapter_hub_client import types as t
from adapter_hub_client.api.v1 import (
    adapters_pb2_grpc,
    admin_pb2_grpc,
    domains_pb2_grpc,
    inference_pb2_grpc,
    residency_pb2_grpc,
    tenants_pb2_grpc,
)
from adapter_hub_client.base import ClientBase
from adapter_hub_client.calls import Meta
from adapter_hub_client.connection import explain
from adapter_hub_client.domain_calls import DomainCalls
from adapter_hub_client.errors import HubError, from_rpc_error
from adapter_hub_client.retry import with_retries
from adapter_hub_client.store_calls import StoreCalls
from adapter_hub_client.streaming import Request, StreamCall, chunked, file_lines, ordered_batches, stream_request

T = TypeVar("T")

STUBS = {
    "inference": inference_pb2_grpc.InferenceServiceStub,
    "adapters": adapters_pb2_grpc.AdapterServiceStub,
    "admin": admin_pb2_grpc.AdminServiceStub,
    "residency": residency_pb2_grpc.ResidencyServiceStub,
    "tenants": tenants_pb2_grpc.TenantServiceStub,
    "domains": domains_pb2_grpc.DomainServiceStub,
}


class HubClient(ClientBase, DomainCalls, StoreCalls):
    """A synchronous client: ``with HubClient("127.0.0.1:50051", api_key=...) as hub: ...``.

    ``target`` and the keyword ``options`` are ``ClientConfig`` fields (api_key, tls_ca,
    tls_cert, tls_key, tls_server_name, timeout, retries, keepalive_s, max_receive_bytes,
    max_send_bytes, options); what is not given comes from the ``ADAPTER_HUB_*`` environment,
    or pass a whole ``config``. Every method takes ``timeout=`` (seconds) and ``retries=`` to
    override the client's for that call. Failures raise ``HubError`` subclasses.
    """

    def _connect(self) -> None:
        c = self.config
        if c.tls:
            self.channel = grpc.secure_channel(c.target, c.credentials(), options=c.channel_options())
        else:
            self.channel = grpc.insecure_channel(c.target, options=c.channel_options())
        self.stubs: dict[str, Any] = {name: stub(self.channel) for name, stub in STUBS.items()}

    # ---- plumbing ------------------------------------------------------------------------
    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _fail(self, error: Exception) -> HubError:
        return explain(from_rpc_error(error), self.config) if isinstance(error, grpc.RpcError) else HubError(str(error))

    def run(
        self,
        call: calls.Call[T],
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> T:
        """Run one Call: retried as its kind and ``retries`` allow, failures as HubError.
        ``metadata``: (key, value) pairs sent with the call besides the client's own (an
        ``x-request-id`` of yours names the call in the server's log and answer)."""
        method = getattr(self.stubs[call.service], call.method)
        wait = timeout or self.config.timeout
        sent = self.config.call_metadata(call.route, wait) + tuple(metadata or ())

        def attempt() -> tuple[Any, Any]:
            request = call.request() if call.streaming else call.request
            try:
                if call.answers_stream:  # server-streamed: every message, then the call's metadata
                    stream = method(request, timeout=wait, metadata=sent)
                    return list(stream), stream
                return method.with_call(request, timeout=wait, metadata=sent)
            except grpc.RpcError as exc:
                raise from_rpc_error(exc) from None

        tries = retries if retries is not None else (self.config.retries if call.idempotent else 0)
        try:
            response, rpc = with_retries(attempt, tries)
        except HubError as error:
            raise explain(error, self.config) from None
        return calls.answered(call.read(response), rpc.initial_metadata(), rpc.trailing_metadata())

    # ---- inference -----------------------------------------------------------------------
    def predict(
        self,
        adapter: str,
        texts: list[str],
        task: str | None = None,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> t.Predictions:
        """One Prediction per text, in order. ``adapter``: ``name`` or ``name@version``
        (a number or an alias); ``task`` picks one of an adapter's several tasks."""
        return cast(t.Predictions, self.run(calls.predict(adapter, texts, task), timeout, retries, metadata))

    def fan_out(
        self,
        text: str,
        targets: list[str] | list[tuple[str, str]],
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> t.Predictions:
        """One text through several adapters in one pass: a Prediction per target, in order.
        Targets: ``"name[@version][:task]"`` or (adapter, task) pairs."""
        return cast(t.Predictions, self.run(calls.fan_out(text, targets), timeout, retries, metadata))

    def predict_stream(self, requests: Iterable[Request], *, timeout: float | None = None) -> StreamCall:
        """Many requests on one call; answers as each finishes (any order), by request_id.
        A request's failure is its item's ``error``; ``timeout`` bounds the whole call."""
        return self._open_stream(requests, timeout or self.config.timeout)

    def _open_stream(self, requests: Iterable[Request], wait: float | None) -> StreamCall:
        messages = (stream_request(r) for r in requests)
        metadata = self.config.call_metadata("", wait)  # a stream names no one adapter: any replica
        call = self.stubs["inference"].PredictStream(messages, timeout=wait, metadata=metadata)
        return StreamCall(call, self._fail)

    def predict_batches(
        self,
        adapter: str,
        batches: Iterable[Iterable[str]],
        task: str | None = None,
        *,
        in_flight: int = 8,
        timeout: float | None = None,
    ) -> Iterator[t.Batch]:
        """Each batch's answer (or error) in input order over one PredictStream call, with at
        most ``in_flight`` batches outstanding; a batch refused with a retry hint is sent again
        after it. ``timeout`` bounds the whole call; without it the call has no deadline (a
        file of any length) and each batch has the client's timeout."""
        if timeout is not None:
            opener = lambda requests: self._open_stream(requests, timeout)  # noqa: E731
            return ordered_batches(opener, adapter, batches, task, in_flight)
        opener = lambda requests: self._open_stream(requests, None)  # noqa: E731
        return ordered_batches(opener, adapter, batches, task, in_flight, self.config.timeout)

    def predict_iter(
        self,
        adapter: str,
        texts: Iterable[str],
        task: str | None = None,
        *,
        batch_size: int = 32,
        in_flight: int = 8,
        timeout: float | None = None,
    ) -> Iterator[t.Prediction]:
        """A Prediction per text of any iterable (read as needed), in input order; the first
        failed batch raises its error."""
        for batch in self.predict_batches(
            adapter, chunked(texts, batch_size), task, in_flight=in_flight, timeout=timeout
        ):
            if batch.error is not None:
                raise batch.error
            yield from batch.predictions

    def predict_file(
        self,
        adapter: str,
        path: str | Path,
        task: str | None = None,
        *,
        batch_size: int = 32,
        in_flight: int = 8,
        timeout: float | None = None,
    ) -> Iterator[tuple[int, t.Prediction]]:
        """(line number, Prediction) for each non-blank line of a UTF-8 text file, in order;
        the file is read as the call sends it."""
        numbers: deque[int] = deque()  # filled on the sending thread, emptied here, in step

        def texts() -> Iterator[str]:
            for number, text in file_lines(path):
                numbers.append(number)
                yield text

        for prediction in self.predict_iter(
            adapter, texts(), task, batch_size=batch_size, in_flight=in_flight, timeout=timeout
        ):
            yield numbers.popleft(), prediction

    # ---- adapters ------------------------------------------------------------------------
    def push(
        self,
        directory: str | Path,
        name: str,
        task: str | None = None,
        labels: list[str] | None = None,
        description: str = "",
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> t.AdapterVersion:
        """Upload an adapter directory (PEFT save_pretrained output) as a new version of
        ``name``, streamed in chunks, with an idempotency key (a fresh one unless given): a retry
        (of this call, or yours with the same key) returns the version the first try stored."""
        return self.run(
            calls.push(directory, name, task, labels, description, idempotency_key), timeout, retries, metadata
        )

    def list_adapters(
        self, domain: str = "", *, timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> list[t.Adapter]:
        """Your adapters, or (``domain``) that domain's."""
        return self.run(calls.list_adapters(domain), timeout, retries, metadata)

    def get_adapter(
        self,
        adapter: str,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> t.AdapterVersion:
        return self.run(calls.get_adapter(adapter), timeout, retries, metadata)

    def delete_adapter(
        self,
        adapter: str,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> list[str]:
        """Delete ``name@version``, or every version of ``name``; the versions deleted."""
        return self.run(calls.delete_adapter(adapter), timeout, retries, metadata)

    def set_alias(
        self,
        name: str,
        version: str,
        alias: str,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> t.AliasChange:
        return self.run(calls.set_alias(name, version, alias), timeout, retries, metadata)

    # ---- the server ----------------------------------------------------------------------
    def serving(self, *, timeout: float | None = None) -> bool:
        """Whether the hub answers its health check SERVING (its backbone loaded)."""
        check = self.channel.unary_unary(
            health.METHOD,
            request_serializer=health.HealthCheckRequest.SerializeToString,
            response_deserializer=health.HealthCheckResponse.FromString,
        )
        try:
            response = check(health.HealthCheckRequest(), timeout=timeout or self.config.timeout)
        except grpc.RpcError as exc:
            raise self._fail(exc) from None
        return bool(response.status == health.SERVING)

    def server_info(
        self, *, timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> t.ServerInfo:
        return self.run(calls.server_info(), timeout, retries, metadata)

    def list_tasks(
        self, *, timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> list[t.TaskInfo]:
        return self.run(calls.list_tasks(), timeout, retries, metadata)

    def list_plugins(
        self, *, timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> t.Plugins:
        return self.run(calls.list_plugins(), timeout, retries, metadata)

    # ---- residency -----------------------------------------------------------------------
    def load(
        self,
        adapter: str,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> t.ResidencyChange:
        return self.run(calls.residency("load", adapter), timeout, retries, metadata)

    def unload(
        self,
        adapter: str,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> t.ResidencyChange:
        return self.run(calls.residency("unload", adapter), timeout, retries, metadata)

    def pin(
        self,
        adapter: str,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> t.ResidencyChange:
        return self.run(calls.residency("pin", adapter), timeout, retries, metadata)

    def unpin(
        self,
        adapter: str,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> t.ResidencyChange:
        return self.run(calls.residency("unpin", adapter), timeout, retries, metadata)

    def residency_status(
        self, *, timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> t.ResidencyStatus:
        return self.run(calls.residency_status(), timeout, retries, metadata)

    def queue_status(
        self, *, timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> t.QueueStatus:
        """The inference queue per tenant (your own row; every row for the operator)."""
        return self.run(calls.queue_status(), timeout, retries, metadata)

    # ---- tenants (operator: the admin key) -----------------------------------------------
    def create_tenant(
        self,
        tenant: str,
        max_bytes: int = 0,
        max_adapters: int = 0,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
        weight: float | None = None,
        rps: float | None = None,
        tps: float | None = None,
        unlimited_rps: bool = False,
        unlimited_tps: bool = False,
    ) -> t.NewTenantKey:
        """Create a tenant, or a new key for one; the key is shown only in this answer.
        ``limits``: weight, rps, tps, unlimited_rps, unlimited_tps (``TenantLimits``)."""
        call = calls.create_tenant(
            tenant, max_bytes, max_adapters, t.TenantLimits(weight, rps, tps, unlimited_rps, unlimited_tps)
        )
        return self.run(call, timeout, retries, metadata)

    def set_tenant_limits(
        self,
        tenant: str,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
        weight: float | None = None,
        rps: float | None = None,
        tps: float | None = None,
        unlimited_rps: bool = False,
        unlimited_tps: bool = False,
    ) -> t.TenantInfo:
        """Change a tenant's weight and rate limits: weight=, rps=, tps= (unset: unchanged),
        unlimited_rps= / unlimited_tps= (remove the limit)."""
        return self.run(
            calls.set_tenant_limits(tenant, t.TenantLimits(weight, rps, tps, unlimited_rps, unlimited_tps)),
            timeout,
            retries,
            metadata,
        )

    def list_tenants(
        self, *, timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> list[t.TenantInfo]:
        return self.run(calls.list_tenants(), timeout, retries, metadata)

    def revoke_tenant(
        self, tenant: str, *, timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> t.RevokedTenant:
        return self.run(calls.revoke_tenant(tenant), timeout, retries, metadata)
