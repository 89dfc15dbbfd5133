"""Domain values <-> protobuf messages (nothing else)."""

from __future__ import annotations

import json

from adapters_registry.manifest import HeadKind
from adapters_registry.registry import AdapterListing, VersionRecord
from hub.api.v1 import adapters_pb2, admin_pb2, common_pb2, inference_pb2, tenants_pb2
from hub.plugins.catalog import KINDS
from hub.plugins.manager import PluginInfo
from hub.serving.fairness import LimitsChange, QueueStatus
from hub.serving.service import Served, TenantUsage
from hub.tasks.results import EntitySpan, LabelScore, Prediction
from hub.tasks.specs import TaskSpec

HEAD_KINDS = {
    HeadKind.SEQUENCE: common_pb2.HEAD_KIND_SEQUENCE,
    HeadKind.MULTI_LABEL: common_pb2.HEAD_KIND_MULTI_LABEL,
    HeadKind.TOKEN: common_pb2.HEAD_KIND_TOKEN,
}


def _labels(labels: list[LabelScore]) -> list[inference_pb2.LabelScore]:
    return [inference_pb2.LabelScore(label=x.label, score=x.score) for x in labels]


def _entities(entities: list[EntitySpan]) -> list[inference_pb2.Entity]:
    return [inference_pb2.Entity(label=e.label, start=e.start, end=e.end, text=e.text, score=e.score) for e in entities]


def prediction(p: Prediction) -> inference_pb2.Prediction:
    return inference_pb2.Prediction(
        labels=_labels(p.labels),
        entities=_entities(p.entities),
        predicted=p.predicted,
        segments=[
            inference_pb2.Segment(
                start=s.start,
                end=s.end,
                text=s.text,
                labels=_labels(s.labels),
                entities=_entities(s.entities),
                predicted=s.predicted,
            )
            for s in p.segments
        ],
    )


def predict_response(served: Served) -> inference_pb2.PredictResponse:
    return inference_pb2.PredictResponse(
        adapter=served.adapter,
        version=str(served.version),
        task=served.task,
        head_kind=HEAD_KINDS[served.head_kind],
        predictions=[prediction(p) for p in served.predictions],
    )


def fanout_result(served: Served) -> inference_pb2.FanOutResult:
    return inference_pb2.FanOutResult(
        adapter=served.adapter,
        version=str(served.version),
        task=served.task,
        head_kind=HEAD_KINDS[served.head_kind],
        prediction=prediction(served.predictions[0]),
    )


def version_info(record: VersionRecord, aliases: list[str]) -> adapters_pb2.AdapterVersionInfo:
    m = record.manifest
    return adapters_pb2.AdapterVersionInfo(
        name=record.name,
        version=str(record.version),
        aliases=aliases,
        tasks=[
            common_pb2.TaskHead(
                task=t.task,
                head_kind=HEAD_KINDS[t.head_kind],
                labels=t.labels,
                threshold=t.threshold,
            )
            for t in m.tasks
        ],
        size_bytes=record.size_bytes,
        backbone_fingerprint=m.base_model_fingerprint,
        created_at=record.created_at,
        description=m.description,
        files=[adapters_pb2.FileInfo(path=p, size_bytes=f.size, sha256=f.sha256) for p, f in sorted(m.files.items())],
        rank=int(record.lora.get("rank", 0)),
        lora_alpha=float(record.lora.get("alpha", 0.0)),
        target_modules=list(record.lora.get("target_modules", [])),
        metrics_json=json.dumps(m.metrics, sort_keys=True) if m.metrics else "",
    )


def adapter_summary(listing: AdapterListing) -> adapters_pb2.AdapterSummary:
    by_version: dict[int, list[str]] = {}
    for alias, version in listing.aliases.items():
        by_version.setdefault(version, []).append(alias)
    return adapters_pb2.AdapterSummary(
        name=listing.name,
        versions=[version_info(r, sorted(by_version.get(r.version, []))) for r in listing.versions],
        aliases={a: str(v) for a, v in listing.aliases.items()},
    )


def task_info(spec: TaskSpec) -> admin_pb2.TaskInfo:
    return admin_pb2.TaskInfo(
        name=spec.name,
        head_kind=HEAD_KINDS[spec.head_kind],
        labels=list(spec.labels or ()),
        description=spec.description,
        plugin=spec.plugin,
        preprocessors=list(spec.preprocessors),
        segmenter=spec.segmenter,
        metric=spec.metric,
        reader=spec.reader,
        postprocessor=spec.postprocessor is not None,
    )


def plugin_info(info: PluginInfo) -> admin_pb2.PluginInfo:
    registered = info.registered
    return admin_pb2.PluginInfo(
        name=info.name,
        distribution=info.distribution,
        version=info.version,
        builtin=info.builtin,
        enabled=info.enabled,
        note=info.note,
        hooks=list(info.hooks),
        **{kind: list(registered.get(kind, ())) for kind in KINDS},
    )


def limits_change(limits: tenants_pb2.TenantLimits) -> LimitsChange:
    def value(name: str) -> float | None:
        return getattr(limits, name) if limits.HasField(name) else None

    return LimitsChange(value("weight"), value("rps"), value("tps"), limits.unlimited_rps, limits.unlimited_tps)


def tenant_info(usage: TenantUsage) -> tenants_pb2.TenantInfo:
    record = usage.record
    return tenants_pb2.TenantInfo(
        tenant=record.name,
        active_keys=sum(1 for k in record.keys if not k.revoked),
        revoked_keys=sum(1 for k in record.keys if k.revoked),
        quota=tenants_pb2.Quota(max_bytes=usage.max_bytes, max_adapters=usage.max_adapters),
        used_bytes=usage.used_bytes,
        adapters=usage.adapters,
        created_at=record.created_at,
        weight=record.weight or 1.0,
        rps=record.rps,
        tps=record.tps,
    )


def queue_status(status: QueueStatus) -> admin_pb2.QueueStatusResponse:
    return admin_pb2.QueueStatusResponse(
        scheduler=status.scheduler,
        tenants=[
            admin_pb2.TenantQueue(
                tenant=t.tenant,
                weight=t.weight,
                queued_requests=t.queued_requests,
                queued_tokens=t.queued_tokens,
                served_requests=t.served_requests,
                served_tokens=t.served_tokens,
                refusals=t.refusals,
            )
            for t in status.tenants
        ],
        queued_requests=status.queued_requests,
        queued_tokens=status.queued_tokens,
        max_requests=status.max_requests,
        max_tokens=status.max_tokens,
        tenant_max_requests=status.tenant_max_requests,
        tenant_max_tokens=status.tenant_max_tokens,
        tokens_per_s=status.tokens_per_s,
        batch_ms=status.batch_ms,
    )
