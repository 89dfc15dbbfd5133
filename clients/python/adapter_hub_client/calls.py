"""Every RPC once, as a ``Call``: the request message, how to read the answer, whether it may be
repeated. ``HubClient`` and ``AsyncHubClient`` run the same calls, so both offer the same
methods with the same arguments and results.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from adapter_hub_client import convert
from adapter_hub_client import types as t
from adapter_hub_client.api.v1 import (
    adapters_pb2,
    admin_pb2,
    common_pb2,
    domains_pb2,
    inference_pb2,
    residency_pb2,
    tenants_pb2,
)
from adapter_hub_client.errors import REQUEST_ID_KEY, headroom_of, metadata_value

T = TypeVar("T")
Metadata = Sequence[tuple[str, str]]  # per-call metadata: (key, value) pairs, keys lower-case
Meta = Metadata | None
CHUNK_BYTES = 1 << 20  # upload chunks: well under the server's message cap


@dataclass(frozen=True)
class Call(Generic[T]):
    """One RPC to run. ``service`` names the stub (inference, adapters, admin, residency,
    tenants), ``method`` the RPC. ``request`` is the message, or for a client-streaming RPC a
    function making a fresh iterator of messages (each attempt sends it anew). ``idempotent``:
    repeating it cannot change more than the first attempt did, so it is retried by default.
    ``route``: the adapter the call is about, sent as the routing key of a Ray Serve cluster
    (``multiplexed_model_id``: a replica that holds the adapter answers it). The key is the
    adapter's name: every version and alias of a name is served by the same replicas."""

    service: str
    method: str
    request: Any
    read: Callable[[Any], T]
    idempotent: bool
    streaming: bool = False
    route: str = ""
    answers_stream: bool = False  # server-streamed: ``read`` gets the list of messages


def answered(value: T, initial: Any, trailing: Any) -> T:
    """A call's result with what the server said about it: predictions carry the request id
    and the tenant's rate-limit headroom (``types.Predictions``)."""
    if isinstance(value, list) and value and all(isinstance(v, t.Prediction) for v in value):
        # a hub sends the request id in the initial metadata; behind Ray Serve's proxy (which
        # sends trailing metadata only) it comes with the trailers
        request_id = metadata_value(initial, REQUEST_ID_KEY) or metadata_value(trailing, REQUEST_ID_KEY)
        return t.Predictions(value, request_id, headroom_of(trailing))  # type: ignore[return-value]
    return value


def parse_ref(text: str) -> common_pb2.AdapterRef:
    """``name`` or ``name@version`` (a number or an alias); a domain adapter's name is
    ``DOMAIN:NAME`` (``medical:ncbi-disease@3``)."""
    name, _, version = text.partition("@")
    return common_pb2.AdapterRef(name=name, version=version)


def route_of(adapter: str) -> str:
    """The routing key of ``name[@version]``: the name."""
    return adapter.partition("@")[0]


def predict_request(adapter: str, texts: list[str], task: str | None) -> inference_pb2.PredictRequest:
    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings, not one string")
    return inference_pb2.PredictRequest(adapter=parse_ref(adapter), task=task or "", texts=list(texts))


def predict(adapter: str, texts: list[str], task: str | None) -> Call[list[t.Prediction]]:
    return Call(
        "inference",
        "Predict",
        predict_request(adapter, texts, task),
        convert.predictions,
        True,
        route=route_of(adapter),
    )


def fan_out(text: str, targets: list[str] | list[tuple[str, str]]) -> Call[list[t.Prediction]]:
    """``targets``: ``"name[@version][:task]"`` strings, or (adapter, task) pairs."""
    pairs = [split_target(target) if isinstance(target, str) else target for target in targets]
    request = inference_pb2.FanOutRequest(
        text=text, targets=[inference_pb2.FanOutTarget(adapter=parse_ref(a), task=task) for a, task in pairs]
    )
    return Call("inference", "FanOut", request, convert.fan_out, True)


def split_target(text: str) -> tuple[str, str]:
    """``ADAPTER[@VERSION][:TASK]`` -> (adapter, task); ADAPTER may be ``DOMAIN:NAME``. The part
    after the last ``:`` is the task when a version comes before it, or when it has a dot (task
    names are ``<namespace>.<name>``); otherwise the ``:`` is a domain's (``medical:ncbi``)."""
    head, sep, tail = text.rpartition(":")
    if sep and head and (not tail or "@" in head or ("." in tail and "@" not in tail)):
        return head, tail
    return text, ""


def upload_files(directory: Path) -> list[Path]:
    """The regular files an adapter directory uploads (hidden ones skipped; links refused)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"{directory} is not a directory")
    entries = sorted(p for p in directory.iterdir() if not p.name.startswith("."))
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


def push(
    directory: Path | str,
    name: str,
    task: str | None,
    labels: list[str] | None,
    description: str,
    idempotency_key: str | None = None,
) -> Call[t.AdapterVersion]:
    """An upload carrying an idempotency key (a fresh one unless given): every retry of this
    call sends the same key, so the server stores the version once."""
    key = idempotency_key or uuid.uuid4().hex
    header = adapters_pb2.UploadHeader(
        name=name, task=task or "", labels=labels or [], description=description, idempotency_key=key
    )
    files = upload_files(Path(directory))
    return Call(
        "adapters",
        "UploadAdapter",
        lambda: upload_parts(header, files),
        lambda r: convert.mirror(t.AdapterVersion, r.adapter),
        idempotent=True,  # the key makes a retry return the version the first attempt stored
        streaming=True,
    )


def list_adapters(domain: str = "") -> Call[list[t.Adapter]]:
    return Call(
        "adapters",
        "ListAdapters",
        adapters_pb2.ListAdaptersRequest(domain=domain),
        lambda r: [convert.mirror(t.Adapter, a) for a in r.adapters],
        True,
    )


def get_adapter(adapter: str) -> Call[t.AdapterVersion]:
    request = adapters_pb2.GetAdapterRequest(adapter=parse_ref(adapter))
    return Call("adapters", "GetAdapter", request, lambda r: convert.mirror(t.AdapterVersion, r), True)


def download_adapter(adapter: str) -> Call[dict[str, bytes]]:
    """Every file of ``name[@version]`` (hub_adapter.json too): path -> bytes."""

    def read(chunks: list[adapters_pb2.FileChunk]) -> dict[str, bytes]:
        files: dict[str, bytearray] = {}
        for chunk in chunks:
            files.setdefault(chunk.path, bytearray()).extend(chunk.data)
        return {path: bytes(data) for path, data in files.items()}

    request = adapters_pb2.GetAdapterRequest(adapter=parse_ref(adapter))
    return Call("adapters", "DownloadAdapter", request, read, True, answers_stream=True)


def grant_domain(domain: str, tenant: str = "") -> Call[t.DomainAccess]:
    """``tenant`` may read ``domain`` ("": every tenant may)."""
    request = domains_pb2.DomainAccessRequest(domain=domain, tenant=tenant, all=not tenant)
    return Call("domains", "GrantDomain", request, lambda r: convert.mirror(t.DomainAccess, r), True)


def revoke_domain(domain: str, tenant: str = "") -> Call[t.DomainAccess]:
    """``tenant`` may no longer read ``domain`` ("": nobody may)."""
    request = domains_pb2.DomainAccessRequest(domain=domain, tenant=tenant, all=not tenant)
    return Call("domains", "RevokeDomain", request, lambda r: convert.mirror(t.DomainAccess, r), True)


def list_domains() -> Call[list[t.DomainInfo]]:
    read: Callable[[Any], list[t.DomainInfo]] = lambda r: [convert.mirror(t.DomainInfo, x) for x in r.domains]  # noqa: E731
    return Call("domains", "ListDomains", domains_pb2.ListDomainsRequest(), read, True)


def delete_adapter(adapter: str) -> Call[list[str]]:
    request = adapters_pb2.DeleteAdapterRequest(adapter=parse_ref(adapter))
    return Call("adapters", "DeleteAdapter", request, lambda r: list(r.deleted_versions), False)


def set_alias(name: str, version: str, alias: str) -> Call[t.AliasChange]:
    request = adapters_pb2.SetAliasRequest(name=name, version=version, alias=alias)
    return Call("adapters", "SetAlias", request, lambda r: convert.mirror(t.AliasChange, r), True)


def server_info() -> Call[t.ServerInfo]:
    return Call("admin", "ServerInfo", admin_pb2.ServerInfoRequest(), lambda r: convert.mirror(t.ServerInfo, r), True)


def list_tasks() -> Call[list[t.TaskInfo]]:
    read: Callable[[Any], list[t.TaskInfo]] = lambda r: [convert.mirror(t.TaskInfo, x) for x in r.tasks]  # noqa: E731
    return Call("admin", "ListTasks", admin_pb2.ListTasksRequest(), read, True)


def list_plugins() -> Call[t.Plugins]:
    return Call("admin", "ListPlugins", admin_pb2.ListPluginsRequest(), lambda r: convert.mirror(t.Plugins, r), True)


RESIDENCY_ACTIONS = {"load": "Load", "unload": "Unload", "pin": "Pin", "unpin": "Unpin"}


def residency(action: str, adapter: str) -> Call[t.ResidencyChange]:
    """load, unload, pin or unpin: each leaves the same state when repeated."""
    request = residency_pb2.ResidencyRequest(adapter=parse_ref(adapter))
    read = lambda r: convert.mirror(t.ResidencyChange, r)  # noqa: E731
    return Call("residency", RESIDENCY_ACTIONS[action], request, read, True, route=route_of(adapter))


def residency_status() -> Call[t.ResidencyStatus]:
    read = lambda r: convert.mirror(t.ResidencyStatus, r)  # noqa: E731
    return Call("residency", "Status", residency_pb2.ResidencyStatusRequest(), read, True)


def limits_message(limits: t.TenantLimits) -> tenants_pb2.TenantLimits:
    given = {k: v for k, v in (("weight", limits.weight), ("rps", limits.rps), ("tps", limits.tps)) if v is not None}
    return tenants_pb2.TenantLimits(unlimited_rps=limits.unlimited_rps, unlimited_tps=limits.unlimited_tps, **given)


def create_tenant(tenant: str, max_bytes: int, max_adapters: int, limits: t.TenantLimits) -> Call[t.NewTenantKey]:
    quota = tenants_pb2.Quota(max_bytes=max_bytes, max_adapters=max_adapters)
    request = tenants_pb2.CreateTenantRequest(tenant=tenant, quota=quota, limits=limits_message(limits))
    # not idempotent: each call issues another key
    return Call("tenants", "CreateTenant", request, lambda r: convert.mirror(t.NewTenantKey, r), False)


def list_tenants() -> Call[list[t.TenantInfo]]:
    read: Callable[[Any], list[t.TenantInfo]] = lambda r: [convert.mirror(t.TenantInfo, x) for x in r.tenants]  # noqa: E731
    return Call("tenants", "ListTenants", tenants_pb2.ListTenantsRequest(), read, True)


def revoke_tenant(tenant: str) -> Call[t.RevokedTenant]:
    request = tenants_pb2.RevokeTenantRequest(tenant=tenant)
    return Call("tenants", "RevokeTenant", request, lambda r: convert.mirror(t.RevokedTenant, r), False)


def set_tenant_limits(tenant: str, limits: t.TenantLimits) -> Call[t.TenantInfo]:
    """Idempotent: the same limits set twice leave the same policy."""
    request = tenants_pb2.SetTenantLimitsRequest(tenant=tenant, limits=limits_message(limits))
    return Call("tenants", "SetTenantLimits", request, lambda r: convert.mirror(t.TenantInfo, r), True)


def queue_status() -> Call[t.QueueStatus]:
    read = lambda r: convert.mirror(t.QueueStatus, r)  # noqa: E731
    return Call("admin", "QueueStatus", admin_pb2.QueueStatusRequest(), read, True)


def collect_garbage(dry_run: bool) -> Call[t.GarbageCollection]:
    read = lambda r: convert.mirror(t.GarbageCollection, r)  # noqa: E731
    return Call("admin", "CollectGarbage", admin_pb2.CollectGarbageRequest(dry_run=dry_run), read, dry_run)


def verify_store(quarantine: bool) -> Call[t.StoreVerification]:
    read = lambda r: convert.mirror(t.StoreVerification, r)  # noqa: E731
    return Call("admin", "VerifyStore", admin_pb2.VerifyStoreRequest(quarantine=quarantine), read, not quarantine)
