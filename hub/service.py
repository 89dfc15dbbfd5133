"""The hub's operations, free of any transport: the gRPC layer is a thin adapter over this.

Every method takes the Caller (whose tenant scopes every name) and plain values, and either
returns plain results or raises a DomainError subclass that the transport maps to a status.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from adapters_registry.artifact import ArtifactLimits, UploadInfo, build_artifact
from adapters_registry.errors import InvalidArgument, Unavailable
from adapters_registry.manifest import HeadKind
from adapters_registry.registry import AdapterListing, AdapterRegistry, VersionRecord, check_name
from hub.adapter_cache import AdapterCache
from hub.results import Prediction, decode
from hub.settings import Settings
from hub.tasks import TaskRegistry, TaskSpec, choose_task
from hub.upload import UploadHeader

if TYPE_CHECKING:
    from hub.engine.runtime import Runtime


@dataclass(frozen=True)
class Caller:
    tenant: str


@dataclass(frozen=True)
class Served:
    """The answer for one (adapter version, task) pair."""

    adapter: str
    version: int
    task: str
    head_kind: HeadKind
    predictions: list[Prediction]


@dataclass(frozen=True)
class Target:
    name: str
    ref: str = ""
    task: str = ""


class HubService:
    def __init__(self, settings: Settings, registry: AdapterRegistry, tasks: TaskRegistry) -> None:
        self.settings = settings
        self.registry = registry
        self.tasks = tasks
        self.cache = AdapterCache(registry, settings.adapter_cache_size)
        self._runtime: Runtime | None = None
        self._ready = threading.Event()

    # ---- lifecycle ----------------------------------------------------------------------
    def load_backbone(self) -> None:
        from hub.engine.runtime import Runtime

        s = self.settings
        self._runtime = Runtime.load(s.backbone, device=s.device, dtype=s.dtype)
        self._ready.set()

    def attach_runtime(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._ready.set()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise Unavailable("the backbone is still loading; retry in a moment")
        return self._runtime

    # ---- inference ----------------------------------------------------------------------
    def predict(self, caller: Caller, target: Target, texts: Sequence[str]) -> Served:
        self._check_texts(texts)
        record, task = self._resolve(caller, target)
        packed = self._packed(record)
        from hub.engine.runtime import RowRequest

        scores = self.runtime.run([RowRequest(t, packed, task) for t in texts])
        return self._served(record, task, texts, scores)

    def fan_out(self, caller: Caller, text: str, targets: Sequence[Target]) -> list[Served]:
        """One text, many (adapter, task) targets, answered by a single forward pass."""
        if not targets:
            raise InvalidArgument("fan-out needs at least one target")
        if len(targets) > self.settings.max_fanout_targets:
            raise InvalidArgument(f"at most {self.settings.max_fanout_targets} fan-out targets")
        self._check_texts([text])
        resolved = [self._resolve(caller, t) for t in targets]
        from hub.engine.runtime import RowRequest

        rows = [RowRequest(text, self._packed(record), task) for record, task in resolved]
        scores = self.runtime.run(rows)
        return [
            self._served(record, task, [text], [score])
            for (record, task), score in zip(resolved, scores, strict=True)
        ]

    def _resolve(self, caller: Caller, target: Target) -> tuple[VersionRecord, str]:
        check_name("adapter name", target.name)
        record = self.registry.resolve(caller.tenant, target.name, target.ref)
        available = [t.task for t in record.manifest.tasks]
        return record, choose_task(target.task, available, f"{target.name}@{record.version}")

    def _packed(self, record: VersionRecord) -> object:
        return self.cache.get(record, self.runtime.pack)

    def _served(self, record: VersionRecord, task: str, texts: Sequence[str], scores: list) -> Served:
        head = record.manifest.task(task)
        assert head is not None
        predictions = [
            decode(head.head_kind, s, head.labels, head.threshold, text)
            for text, s in zip(texts, scores, strict=True)
        ]
        return Served(record.name, record.version, task, head.head_kind, predictions)

    def _check_texts(self, texts: Sequence[str]) -> None:
        s = self.settings
        if not texts:
            raise InvalidArgument("texts is empty: send at least one text")
        if len(texts) > s.max_texts_per_request:
            raise InvalidArgument(f"{len(texts)} texts; at most {s.max_texts_per_request} per request")
        for i, text in enumerate(texts):
            if not text.strip():
                raise InvalidArgument(f"texts[{i}] is empty")
            if len(text) > s.max_text_chars:
                raise InvalidArgument(f"texts[{i}] has {len(text)} characters; the limit is {s.max_text_chars}")
        for i, count in enumerate(self.runtime.token_counts(texts)):
            if count > s.max_tokens_per_text:
                raise InvalidArgument(
                    f"texts[{i}] is {count} tokens long; the limit is {s.max_tokens_per_text} "
                    "(split the text)"
                )

    # ---- adapters -----------------------------------------------------------------------
    def upload(self, caller: Caller, header: UploadHeader, files: dict[str, bytes]) -> VersionRecord:
        check_name("adapter name", header.name)
        limits = ArtifactLimits(
            max_total_bytes=self.settings.max_upload_bytes, max_rank=self.settings.max_adapter_rank
        )
        info = UploadInfo(header.task, header.labels, header.description)
        artifact = build_artifact(files, info, self.runtime.spec, self.tasks.contract, limits)
        return self.registry.publish(caller.tenant, header.name, artifact)

    def list_adapters(self, caller: Caller) -> list[AdapterListing]:
        return self.registry.list(caller.tenant)

    def get_adapter(self, caller: Caller, name: str, ref: str) -> tuple[VersionRecord, list[str]]:
        record = self.registry.resolve(caller.tenant, check_name("adapter name", name), ref)
        aliases = self.registry.aliases(caller.tenant, name)
        return record, sorted(a for a, v in aliases.items() if v == record.version)

    def delete_adapter(self, caller: Caller, name: str, ref: str) -> list[int]:
        deleted = self.registry.delete(caller.tenant, check_name("adapter name", name), ref)
        self.cache.drop(caller.tenant, name, deleted)
        return deleted

    def set_alias(self, caller: Caller, name: str, ref: str, alias: str) -> tuple[int | None, int]:
        return self.registry.set_alias(caller.tenant, check_name("adapter name", name), alias, ref)

    # ---- admin --------------------------------------------------------------------------
    def server_info(self) -> dict[str, str | int]:
        return self.runtime.describe()

    def list_tasks(self) -> list[TaskSpec]:
        return self.tasks.all()
