"""Domain values <-> protobuf messages: every message the servicers send is built here.

Most messages mirror a domain dataclass field for field; ``_message`` copies those by name, so a
table of renames (message field -> attribute) and the few computed fields (keyword arguments) are all that is
written out. A message field the value lacks fails loudly (AttributeError), never silently empty.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from adapters_registry import names
from adapters_registry.domains import DomainAccess, reference_name
from adapters_registry.gc import GcReport
from adapters_registry.manifest import HeadKind
from adapters_registry.registry import AdapterListing, VersionRecord
from adapters_registry.verify import VerifyReport
from hub.api.v1 import adapters_pb2, admin_pb2, common_pb2, domains_pb2, inference_pb2, residency_pb2, tenants_pb2
from hub.errors import InvalidArgument
from hub.plugins.catalog import KINDS
from hub.plugins.manager import PluginInfo
from hub.residency.residency import ResidencyStatus, Resident
from hub.serving.domains import DomainInfo
from hub.serving.fairness import LimitsChange, QueueStatus
from hub.serving.info import ServerInfo
from hub.serving.residency_admin import Done
from hub.serving.service import Served, Target, TenantUsage
from hub.serving.upload import UploadHeader
from hub.tasks.results import EntitySpan, LabelScore, Prediction, SegmentPrediction
from hub.tasks.specs import TaskSpec

# Every HeadKind goes on the wire as the proto value of the same name (HEAD_KIND_<NAME>): a kind
# missing from common.proto fails here, at import, not at its first answer.
HEAD_KINDS = {kind: common_pb2.HeadKind.Value(f"HEAD_KIND_{kind.name}") for kind in HeadKind}

M = TypeVar("M", bound=Message)


def _message(cls: type[M], value: object, renamed: Mapping[str, str] | None = None, /, **given: Any) -> M:
    """A ``cls`` whose fields are ``given``, or else read off ``value`` by the same name (or by
    the attribute ``renamed`` maps the field to)."""
    renamed = renamed or {}
    names = (f.name for f in cls.DESCRIPTOR.fields if f.name not in given)
    return cls(**{name: getattr(value, renamed.get(name, name)) for name in names}, **given)


# ---- requests in ------------------------------------------------------------------------
# Every name, version, alias, label and tenant a request carries is checked here, by the one
# rules table (adapters_registry/names.py), before the service sees it. Servicers read the caller
# first: a caller without a valid key learns nothing about its request, not even that it is bad.
def target(ref: common_pb2.AdapterRef, task: str = "") -> Target:
    if not ref.name:
        raise InvalidArgument("adapter.name is required")
    name = names.check("adapter reference", ref.name)
    return Target(name, names.check_version_ref(ref.version), names.check("task", task))


def upload_header(header: adapters_pb2.UploadHeader) -> UploadHeader:
    return UploadHeader(
        names.check("adapter reference", header.name),
        names.check("task", header.task),
        names.check_labels(header.labels),
        names.check("description", header.description),
        header.idempotency_key,
    )


def alias_request(request: adapters_pb2.SetAliasRequest) -> tuple[str, str, str]:
    """(adapter name, version reference, alias) of a SetAlias call."""
    name = names.check("adapter reference", request.name)
    return name, names.check_version_ref(request.version), names.check("alias", request.alias)


def tenant_name(name: str, new: bool = False) -> str:
    """``new``: a tenant being created, which may not take a reserved name."""
    return names.check("tenant", name, new=new)


def limits_change(limits: tenants_pb2.TenantLimits) -> LimitsChange:
    """Unset fields stay as they are (None)."""

    def value(name: str) -> float | None:
        return float(getattr(limits, name)) if limits.HasField(name) else None

    return LimitsChange(value("weight"), value("rps"), value("tps"), limits.unlimited_rps, limits.unlimited_tps)


# ---- inference --------------------------------------------------------------------------
def _labels(labels: Iterable[LabelScore]) -> list[inference_pb2.LabelScore]:
    return [_message(inference_pb2.LabelScore, x) for x in labels]


def _entities(entities: Iterable[EntitySpan]) -> list[inference_pb2.Entity]:
    return [_message(inference_pb2.Entity, e) for e in entities]


def _segment(s: SegmentPrediction) -> inference_pb2.Segment:
    return _message(inference_pb2.Segment, s, labels=_labels(s.labels), entities=_entities(s.entities))


def prediction(p: Prediction) -> inference_pb2.Prediction:
    return _message(
        inference_pb2.Prediction,
        p,
        labels=_labels(p.labels),
        entities=_entities(p.entities),
        segments=[_segment(s) for s in p.segments],
    )


def predict_response(served: Served) -> inference_pb2.PredictResponse:
    return _message(
        inference_pb2.PredictResponse,
        served,
        version=str(served.version),
        head_kind=HEAD_KINDS[served.head_kind],
        predictions=[prediction(p) for p in served.predictions],
    )


def fanout_response(served: Iterable[Served]) -> inference_pb2.FanOutResponse:
    results = [
        _message(
            inference_pb2.FanOutResult,
            s,
            version=str(s.version),
            head_kind=HEAD_KINDS[s.head_kind],
            prediction=prediction(s.predictions[0]),
        )
        for s in served
    ]
    return inference_pb2.FanOutResponse(results=results)


def stream_answer(request_id: str, response: inference_pb2.PredictResponse) -> inference_pb2.PredictStreamResponse:
    return inference_pb2.PredictStreamResponse(request_id=request_id, response=response)


def stream_error(
    request_id: str, code: grpc.StatusCode, message: str, retry_after_ms: int | None = None
) -> inference_pb2.PredictStreamResponse:
    """One PredictStream request's failure, in-band: the status code's number, the message and
    (a refusal that may succeed later) the retry hint a unary call gets as trailing metadata."""
    error = inference_pb2.RequestError(code=code.value[0], message=message, retry_after_ms=retry_after_ms or 0)
    return inference_pb2.PredictStreamResponse(request_id=request_id, error=error)


# ---- adapters ---------------------------------------------------------------------------
def version_info(record: VersionRecord, aliases: Sequence[str]) -> adapters_pb2.AdapterVersionInfo:
    m = record.manifest
    return adapters_pb2.AdapterVersionInfo(
        name=reference_name(record.tenant, record.name),
        version=str(record.version),
        aliases=aliases,
        tasks=[_message(common_pb2.TaskHead, t, head_kind=HEAD_KINDS[t.head_kind]) for t in m.tasks],
        size_bytes=record.size_bytes,
        backbone_fingerprint=m.base_model_fingerprint,
        created_at=record.created_at,
        description=m.description,
        files=[_message(adapters_pb2.FileInfo, f, {"size_bytes": "size"}, path=p) for p, f in sorted(m.files.items())],
        rank=int(record.lora.get("rank", 0)),
        lora_alpha=float(record.lora.get("alpha", 0.0)),
        target_modules=list(record.lora.get("target_modules", [])),
        metrics_json=json.dumps(m.metrics, sort_keys=True) if m.metrics else "",
        base=m.base.reference if m.base is not None else "",
        base_digest=m.base.digest if m.base is not None else "",
    )


def upload_response(record: VersionRecord) -> adapters_pb2.UploadAdapterResponse:
    return adapters_pb2.UploadAdapterResponse(adapter=version_info(record, ["latest"]))


def adapter_summary(listing: AdapterListing) -> adapters_pb2.AdapterSummary:
    by_version: dict[int, list[str]] = {}
    for alias, version in listing.aliases.items():
        by_version.setdefault(version, []).append(alias)
    return adapters_pb2.AdapterSummary(
        name=listing.name,
        versions=[version_info(r, sorted(by_version.get(r.version, []))) for r in listing.versions],
        aliases={a: str(v) for a, v in listing.aliases.items()},
        damaged_versions=[str(v) for v in listing.damaged],
    )


def list_adapters_response(listings: Iterable[AdapterListing]) -> adapters_pb2.ListAdaptersResponse:
    return adapters_pb2.ListAdaptersResponse(adapters=[adapter_summary(x) for x in listings])


def delete_response(deleted: Iterable[int]) -> adapters_pb2.DeleteAdapterResponse:
    return adapters_pb2.DeleteAdapterResponse(deleted_versions=[str(v) for v in deleted])


def alias_response(name: str, alias: str, previous: int | None, version: int) -> adapters_pb2.SetAliasResponse:
    before = "" if previous is None else str(previous)
    return adapters_pb2.SetAliasResponse(name=name, alias=alias, version=str(version), previous_version=before)


def file_chunks(files: Mapping[str, bytes], chunk: int = 1 << 20) -> Iterable[adapters_pb2.FileChunk]:
    """Each file in chunks of at most ``chunk`` bytes (an empty file: one empty chunk)."""
    for path, data in sorted(files.items()):
        for start in range(0, max(1, len(data)), chunk):
            yield adapters_pb2.FileChunk(path=path, data=data[start : start + chunk])


# ---- domains ----------------------------------------------------------------------------
def domain_access(access: DomainAccess, admin: bool) -> domains_pb2.DomainAccess:
    """Tenant names go to the operator only."""
    tenants = list(access.tenants) if admin else []
    return domains_pb2.DomainAccess(domain=access.domain, everyone=access.everyone, tenants=tenants,
                                    granted=len(access.tenants), readable=True)  # fmt: skip


def list_domains_response(infos: Iterable[DomainInfo]) -> domains_pb2.ListDomainsResponse:
    return domains_pb2.ListDomainsResponse(
        domains=[
            domains_pb2.DomainInfo(
                access=domains_pb2.DomainAccess(
                    domain=i.domain, everyone=i.everyone, tenants=i.tenants, granted=i.granted, readable=i.readable
                ),
                adapters=[adapter_summary(x) for x in i.adapters],
                users=[
                    domains_pb2.DomainAdapterUsers(name=u.name, version=str(u.version), users=u.users) for u in i.uses
                ],
            )
            for i in infos
        ]
    )


# ---- admin ------------------------------------------------------------------------------
def server_info(info: ServerInfo, auth_enabled: bool) -> admin_pb2.ServerInfoResponse:
    return _message(
        admin_pb2.ServerInfoResponse,
        info,
        versions={**info.versions, "grpcio": grpc.__version__},
        limits=_message(admin_pb2.Limits, info.limits),
        auth_enabled=auth_enabled,
    )


def task_info(spec: TaskSpec) -> admin_pb2.TaskInfo:
    return _message(
        admin_pb2.TaskInfo,
        spec,
        head_kind=HEAD_KINDS[spec.head_kind],
        labels=list(spec.labels or ()),
        postprocessor=spec.postprocessor is not None,
    )


def plugin_info(info: PluginInfo) -> admin_pb2.PluginInfo:
    return _message(admin_pb2.PluginInfo, info, **{kind: list(info.registered.get(kind, ())) for kind in KINDS})


def list_tasks_response(specs: Iterable[TaskSpec]) -> admin_pb2.ListTasksResponse:
    return admin_pb2.ListTasksResponse(tasks=[task_info(t) for t in specs])


def list_plugins_response(plugins: Iterable[PluginInfo], specs: Iterable[TaskSpec]) -> admin_pb2.ListPluginsResponse:
    return admin_pb2.ListPluginsResponse(plugins=[plugin_info(p) for p in plugins], tasks=[task_info(t) for t in specs])


def queue_status(status: QueueStatus) -> admin_pb2.QueueStatusResponse:
    tenants = [_message(admin_pb2.TenantQueue, t) for t in status.tenants]
    return _message(admin_pb2.QueueStatusResponse, status, tenants=tenants)


# ---- tenants ----------------------------------------------------------------------------
def tenant_created(tenant: str, api_key: str, key_id: str) -> tenants_pb2.CreateTenantResponse:
    return tenants_pb2.CreateTenantResponse(tenant=tenant, api_key=api_key, key_id=key_id)


def tenant_info(usage: TenantUsage) -> tenants_pb2.TenantInfo:
    return _message(
        tenants_pb2.TenantInfo,
        usage,
        tenant=usage.record.name,
        quota=tenants_pb2.Quota(max_bytes=usage.max_bytes, max_adapters=usage.max_adapters),
        created_at=usage.record.created_at,
        weight=usage.record.weight or 1.0,
        rps=usage.record.rps,  # 0: no limit
        tps=usage.record.tps,
    )


def list_tenants_response(usage: Iterable[TenantUsage]) -> tenants_pb2.ListTenantsResponse:
    return tenants_pb2.ListTenantsResponse(tenants=[tenant_info(u) for u in usage])


def tenant_revoked(tenant: str, revoked: int) -> tenants_pb2.RevokeTenantResponse:
    return tenants_pb2.RevokeTenantResponse(tenant=tenant, revoked_keys=revoked)


# ---- residency --------------------------------------------------------------------------
def resident(r: Resident) -> residency_pb2.ResidentAdapter:
    return _message(residency_pb2.ResidentAdapter, r, version=str(r.version))


def residency_done(done: Done) -> residency_pb2.ResidencyResponse:
    return _message(residency_pb2.ResidencyResponse, done, adapter=resident(done.adapter))


def residency_status(status: ResidencyStatus) -> residency_pb2.ResidencyStatusResponse:
    store = status.store
    return _message(
        residency_pb2.ResidencyStatusResponse,
        status,
        tiers=[_message(residency_pb2.TierStatus, t, {"budget_bytes": "budget"}) for t in status.tiers],
        store=None if store is None else _message(residency_pb2.StoreHealth, store, {"breaker": "state"}),
        adapters=[resident(a) for a in status.adapters],
    )


def gc_response(report: GcReport) -> admin_pb2.CollectGarbageResponse:
    return admin_pb2.CollectGarbageResponse(
        dry_run=report.dry_run,
        blobs=report.blobs,
        blob_bytes=report.blob_bytes,
        temp_files=report.temp_files,
        temp_bytes=report.temp_bytes,
        kept_blobs=report.kept_blobs,
        skipped=report.skipped,
        seconds=report.seconds,
    )


def verify_response(report: VerifyReport) -> admin_pb2.VerifyStoreResponse:
    damaged = [
        admin_pb2.StoreDamage(namespace=d.namespace, kind=d.kind, what=d.what, quarantined=d.quarantined)
        for d in report.damaged
    ]
    return admin_pb2.VerifyStoreResponse(blobs=report.blobs, records=report.records, damaged=damaged)
