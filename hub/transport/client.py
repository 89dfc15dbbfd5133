"""The one synchronous client over the generated stubs (used by the CLI and tests): a method per RPC."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from hub.api.v1 import (
    adapters_pb2,
    adapters_pb2_grpc,
    admin_pb2,
    admin_pb2_grpc,
    common_pb2,
    inference_pb2,
    inference_pb2_grpc,
    residency_pb2,
    residency_pb2_grpc,
    tenants_pb2,
    tenants_pb2_grpc,
)
from hub.transport.retry import with_retries
from hub.transport.tls import ClientTLS, explain

CHUNK_BYTES = 1 << 20


def parse_ref(text: str) -> common_pb2.AdapterRef:
    """``name`` or ``name@version`` (a number or an alias)."""
    name, _, version = text.partition("@")
    return common_pb2.AdapterRef(name=name, version=version)


def status_name(code: int) -> str:
    """A status code number (as in RequestError) by its name, e.g. 5 -> NOT_FOUND."""
    return next((c.name for c in grpc.StatusCode if c.value[0] == code), str(code))


def upload_files(directory: Path) -> list[Path]:
    """The regular files an adapter directory uploads (hidden ones skipped; links refused)."""
    entries = sorted(p for p in Path(directory).iterdir() if not p.name.startswith("."))
    links = [p.name for p in entries if p.is_symlink()]
    if links:
        raise ValueError(f"refusing to upload symbolic links: {', '.join(links)}")
    return [p for p in entries if p.is_file()]


def upload_parts(header: adapters_pb2.UploadHeader, files: list[Path]) -> Iterator[adapters_pb2.UploadAdapterRequest]:
    """The header, then each file in chunks of CHUNK_BYTES, read as the call sends them."""
    yield adapters_pb2.UploadAdapterRequest(header=header)
    for path in files:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                yield adapters_pb2.UploadAdapterRequest(chunk=adapters_pb2.FileChunk(path=path.name, data=chunk))


def tenant_limits(
    weight: float | None = None,
    rps: float | None = None,
    tps: float | None = None,
    unlimited_rps: bool = False,
    unlimited_tps: bool = False,
) -> tenants_pb2.TenantLimits:
    values = {k: v for k, v in (("weight", weight), ("rps", rps), ("tps", tps)) if v is not None}
    return tenants_pb2.TenantLimits(unlimited_rps=unlimited_rps, unlimited_tps=unlimited_tps, **values)


class HubClient:
    """One channel and one set of credentials for every service; responses are the messages."""

    def __init__(
        self,
        target: str,
        api_key: str | None = None,
        timeout: float = 60.0,
        retries: int = 0,
        tls: ClientTLS | None = None,
    ) -> None:
        """``retries``: how often an inference call refused with a retry hint (a full queue,
        a rate limit) or UNAVAILABLE is tried again, after the hinted pause. ``tls``: talk TLS
        (mutual TLS with a client certificate); None: plaintext."""
        self.retries = retries
        options: list[tuple[str, Any]] = [("grpc.max_receive_message_length", 8 << 20)]
        if tls is None:
            self.channel = grpc.insecure_channel(target, options=options)
        else:
            self.channel = grpc.secure_channel(target, tls.credentials(), options=options + tls.options())
        self.target, self.tls = target, tls
        self.metadata = (("authorization", f"Bearer {api_key}"),) if api_key else ()
        self.timeout = timeout
        self.inference = inference_pb2_grpc.InferenceServiceStub(self.channel)
        self.adapters = adapters_pb2_grpc.AdapterServiceStub(self.channel)
        self.admin = admin_pb2_grpc.AdminServiceStub(self.channel)
        self.health = health_pb2_grpc.HealthStub(self.channel)
        self.tenants = tenants_pb2_grpc.TenantServiceStub(self.channel)
        self.residency = residency_pb2_grpc.ResidencyServiceStub(self.channel)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _call(self, method: Any, request: Any) -> Any:
        """A unary call, or a streaming one when ``request`` is an iterator of messages. A
        connection refused because client and server disagree on TLS raises ConnectionProblem,
        which says so."""
        try:
            return method(request, timeout=self.timeout, metadata=self.metadata)
        except grpc.RpcError as exc:
            problem = explain(exc, self.target, self.tls)
            if problem is not None:
                raise problem from exc
            raise

    def serving(self) -> bool:
        response = self._call(self.health.Check, health_pb2.HealthCheckRequest())
        return response.status == health_pb2.HealthCheckResponse.SERVING

    def push(
        self,
        directory: Path,
        name: str,
        task: str = "",
        labels: list[str] | None = None,
        description: str = "",
    ) -> adapters_pb2.AdapterVersionInfo:
        header = adapters_pb2.UploadHeader(name=name, task=task, labels=labels or [], description=description)
        return self._call(self.adapters.UploadAdapter, upload_parts(header, upload_files(directory))).adapter

    def predict(self, adapter: str, texts: list[str], task: str = "") -> inference_pb2.PredictResponse:
        request = inference_pb2.PredictRequest(adapter=parse_ref(adapter), task=task, texts=texts)
        return with_retries(lambda: self._call(self.inference.Predict, request), self.retries)

    def predict_stream(
        self, requests: Iterable[tuple[str, str, list[str], str]]
    ) -> Iterator[inference_pb2.PredictStreamResponse]:
        """(request_id, adapter, texts, task) in; answers out as each finishes (any order)."""
        messages = (
            inference_pb2.PredictStreamRequest(
                request_id=request_id,
                request=inference_pb2.PredictRequest(adapter=parse_ref(adapter), task=task, texts=texts),
            )
            for request_id, adapter, texts, task in requests
        )
        return self._call(self.inference.PredictStream, messages)

    def fan_out(self, text: str, targets: list[tuple[str, str]]) -> inference_pb2.FanOutResponse:
        request = inference_pb2.FanOutRequest(
            text=text,
            targets=[inference_pb2.FanOutTarget(adapter=parse_ref(a), task=t) for a, t in targets],
        )
        return with_retries(lambda: self._call(self.inference.FanOut, request), self.retries)

    def list_adapters(self) -> adapters_pb2.ListAdaptersResponse:
        return self._call(self.adapters.ListAdapters, adapters_pb2.ListAdaptersRequest())

    def get_adapter(self, adapter: str) -> adapters_pb2.AdapterVersionInfo:
        return self._call(self.adapters.GetAdapter, adapters_pb2.GetAdapterRequest(adapter=parse_ref(adapter)))

    def delete_adapter(self, adapter: str) -> adapters_pb2.DeleteAdapterResponse:
        request = adapters_pb2.DeleteAdapterRequest(adapter=parse_ref(adapter))
        return self._call(self.adapters.DeleteAdapter, request)

    def set_alias(self, name: str, version: str, alias: str) -> adapters_pb2.SetAliasResponse:
        request = adapters_pb2.SetAliasRequest(name=name, version=version, alias=alias)
        return self._call(self.adapters.SetAlias, request)

    def server_info(self) -> admin_pb2.ServerInfoResponse:
        return self._call(self.admin.ServerInfo, admin_pb2.ServerInfoRequest())

    def list_tasks(self) -> admin_pb2.ListTasksResponse:
        return self._call(self.admin.ListTasks, admin_pb2.ListTasksRequest())

    def list_plugins(self) -> admin_pb2.ListPluginsResponse:
        return self._call(self.admin.ListPlugins, admin_pb2.ListPluginsRequest())

    def create_tenant(
        self, tenant: str, max_bytes: int = 0, max_adapters: int = 0, **limits: Any
    ) -> tenants_pb2.CreateTenantResponse:
        """``limits``: weight, rps, tps, unlimited_rps, unlimited_tps (see set_tenant_limits)."""
        quota = tenants_pb2.Quota(max_bytes=max_bytes, max_adapters=max_adapters)
        request = tenants_pb2.CreateTenantRequest(tenant=tenant, quota=quota, limits=tenant_limits(**limits))
        return self._call(self.tenants.CreateTenant, request)

    def set_tenant_limits(self, tenant: str, **limits: Any) -> tenants_pb2.TenantInfo:
        """weight=, rps=, tps= (None: unchanged), unlimited_rps= / unlimited_tps= (remove)."""
        request = tenants_pb2.SetTenantLimitsRequest(tenant=tenant, limits=tenant_limits(**limits))
        return self._call(self.tenants.SetTenantLimits, request)

    def queue_status(self) -> admin_pb2.QueueStatusResponse:
        return self._call(self.admin.QueueStatus, admin_pb2.QueueStatusRequest())

    def list_tenants(self) -> tenants_pb2.ListTenantsResponse:
        return self._call(self.tenants.ListTenants, tenants_pb2.ListTenantsRequest())

    def revoke_tenant(self, tenant: str) -> tenants_pb2.RevokeTenantResponse:
        return self._call(self.tenants.RevokeTenant, tenants_pb2.RevokeTenantRequest(tenant=tenant))

    # ---- residency ----------------------------------------------------------------------
    def _residency(self, method: Any, adapter: str) -> residency_pb2.ResidencyResponse:
        return self._call(method, residency_pb2.ResidencyRequest(adapter=parse_ref(adapter)))

    def load(self, adapter: str) -> residency_pb2.ResidencyResponse:
        return self._residency(self.residency.Load, adapter)

    def unload(self, adapter: str) -> residency_pb2.ResidencyResponse:
        return self._residency(self.residency.Unload, adapter)

    def pin(self, adapter: str) -> residency_pb2.ResidencyResponse:
        return self._residency(self.residency.Pin, adapter)

    def unpin(self, adapter: str) -> residency_pb2.ResidencyResponse:
        return self._residency(self.residency.Unpin, adapter)

    def residency_status(self) -> residency_pb2.ResidencyStatusResponse:
        return self._call(self.residency.Status, residency_pb2.ResidencyStatusRequest())
