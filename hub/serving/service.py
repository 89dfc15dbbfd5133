"""The hub's operations, free of any transport: the gRPC layer is a thin adapter over this.

Every method takes the Caller (whose tenant scopes every name) and plain values, and either
returns plain results or raises a DomainError subclass that the transport maps to a status.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from adapters_registry.artifact import ArtifactLimits, UploadInfo, build_artifact
from adapters_registry.domains import DomainDirectory, reference_name
from adapters_registry.manifest import Manifest
from adapters_registry.registry import AdapterListing, AdapterRegistry, VersionRecord
from adapters_registry.tenants import TenantDirectory
from hub.config.settings import Settings
from hub.errors import InvalidArgument, InvalidArtifact, NotFound, ResourceExhausted, Unavailable
from hub.observe import request_log as rl
from hub.observe.collectors import StoreCollector
from hub.observe.health import HealthState
from hub.observe.telemetry import Telemetry
from hub.observe.tracing import span
from hub.plugins.manager import CacheEvents, HubPlugins, PluginInfo
from hub.residency import prefetch
from hub.scheduling.scope import CallScope
from hub.scheduling.tickets import Headroom, Ticket
from hub.serving.auth import Caller
from hub.serving.domains import DomainGate, offered_domains
from hub.serving.fairness import QueueStatus, TenantPolicies, build_scheduler, queue_status
from hub.serving.info import ServerInfo, describe_server
from hub.serving.label_drift import LabelDrift
from hub.serving.maintenance import Maintenance
from hub.serving.plugin_work import PluginWork
from hub.serving.stores import build_residency, tenant_journal
from hub.serving.tenant_ops import TenantOperations
from hub.serving.types import Plan, Served, Target, TenantUsage
from hub.serving.upload import UploadHeader
from hub.tasks.answers import pieces
from hub.tasks.pipeline import Prepared, TaskPipeline
from hub.tasks.specs import TaskRegistry, TaskSpec, choose_task

__all__ = ["HubService", "Plan", "Served", "Target", "TenantUsage"]  # the values: from hub.serving.types

if TYPE_CHECKING:
    from hub.engine.packing import PackedAdapter
    from hub.engine.runtime import RowRequest, Runtime
    from hub.engine.tokens import Encoded


class HubService(TenantOperations):
    def __init__(
        self,
        settings: Settings,
        registry: AdapterRegistry,
        tasks: TaskRegistry,
        tenants: TenantDirectory | None = None,
        plugins: HubPlugins | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.tasks = tasks
        self.tenants = tenants or TenantDirectory(registry.store, journal=tenant_journal(settings))
        self.plugins = plugins  # None: no plugin hooks run (validate_adapter, adapter events)
        self.label_drift: tuple[LabelDrift, ...] = ()  # found at start-up (hub.serving.app)
        observer = CacheEvents(plugins) if plugins is not None else None
        self.cache = build_residency(settings, registry, observer)  # tiers, single-flight, hot swap
        self.maintenance = Maintenance.started(registry, settings)  # recovery now, GC in the background
        self.domains = DomainGate(DomainDirectory(registry.store), self.cache, lambda: offered_domains(plugins, tasks))
        self._runtime: Runtime | None = None
        self.health = HealthState()  # gRPC health, /livez, /readyz, adapter_hub_ready all read it
        self.telemetry = Telemetry.from_settings(settings)  # this service's metrics (hub/observe/telemetry.py)
        # Rows share forwards, in fair order across tenants (hub/scheduling/scheduler.py; or fifo)
        forward = self.telemetry.timed_forward(lambda rows: self.runtime.run(rows))  # noqa: PLW0108 - attached later
        self.batcher = build_scheduler(settings, forward)
        self.policies = TenantPolicies(self.tenants, self.batcher)
        self.telemetry.watch(self.cache, self.health, self.batcher, scheduler_counts=settings.scheduler == "fair")
        self.telemetry.add_collector(StoreCollector(registry.store.fault_counts, lambda: self.maintenance.totals))
        self.plugin_work = PluginWork.started(self, tasks, settings)  # plugin code under a time budget
        self.revocation_listeners: list[Callable[[str], None]] = []

    # ---- lifecycle ----------------------------------------------------------------------
    def load_backbone(self) -> None:
        from hub.engine.runtime import Runtime

        s = self.settings
        self._runtime = Runtime.load(
            s.backbone,
            device=s.device,
            dtype=s.dtype,
            quantize=s.quantize,
            threads=s.torch_threads,
            bank_bytes=s.device_cache_bytes,  # one budget: the device tier and the engine's LoRA slots
        )
        self._warm_up()
        self.health.loaded()

    def attach_runtime(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._warm_up()
        self.health.loaded()

    def _warm_up(self) -> None:
        """Load the adapters settings name (pinned ones first) before reporting ready; problems are logged."""
        prefetch(self.cache, self.settings.pin, self.pack, pin=True)
        prefetch(self.cache, self.settings.prefetch, self.pack)

    @property
    def ready(self) -> bool:
        return self.health.backbone_loaded  # (ready for calls, not draining: health.ready)

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise Unavailable("the backbone is still loading; retry in a moment")
        return self._runtime

    # ---- inference ----------------------------------------------------------------------
    # A call goes through four steps; the asyncio front end (hub/transport/frontend.py) runs the
    # cheap ones on its event loop and the blocking ones on its worker pool:
    #   admit_* (checks and admission at the least possible size: cheap, before any work),
    #   plan_* (resolve, plugins' text preparation, tokenization, adapter load: blocking),
    #   submit (the rows into the scheduler: a ticket whose future gets the scores),
    #   Plan.finish (scores -> answers, plugins' postprocessors: blocking).
    # ``predict`` and ``fan_out`` run the four in the calling thread (in-process callers).
    def predict(self, caller: Caller, target: Target, texts: Sequence[str], scope: CallScope | None = None) -> Served:
        """``scope``: the call's deadline and cancellation (queued work leaves when it ends)."""
        self.admit_predict(caller, texts, scope)
        plan = self.plan_predict(caller, target, texts)
        return plan.finish(self._run(caller, plan, scope))

    def fan_out(
        self, caller: Caller, text: str, targets: Sequence[Target], scope: CallScope | None = None
    ) -> list[Served]:
        """One text, many (adapter, task) targets, answered by a single forward pass."""
        self.admit_fan_out(caller, text, targets, scope)
        plan = self.plan_fan_out(caller, text, targets)
        return plan.finish(self._run(caller, plan, scope))

    def admit_predict(self, caller: Caller, texts: Sequence[str], scope: CallScope | None, count: bool = True) -> None:
        """Refuse now what cannot be queued even at its least possible size (``count`` False: a
        refusal for lack of room the caller waits out is not counted)."""
        self._check_texts(texts)
        rl.note_work(len(texts), 0)
        self._admissible(caller, scope, texts, count)

    def admit_fan_out(
        self, caller: Caller, text: str, targets: Sequence[Target], scope: CallScope | None, count: bool = True
    ) -> None:
        if not targets:
            raise InvalidArgument("fan-out needs at least one target")
        if len(targets) > self.settings.max_fanout_targets:
            raise InvalidArgument(f"at most {self.settings.max_fanout_targets} fan-out targets")
        self._check_texts([text])
        rl.note_work(1, 0)
        self._admissible(caller, scope, [text] * len(targets), count)

    def plan_predict(self, caller: Caller, target: Target, texts: Sequence[str]) -> Plan:
        record, task = self._resolve(caller, target)
        pipeline = self.tasks.pipeline(task)  # once per request
        prepared, encoded = self._prepare([(f"texts[{i}]", pipeline, text) for i, text in enumerate(texts)])
        packed = self._packed(caller, record)
        from hub.engine.runtime import RowRequest

        rows = [RowRequest(piece.text, packed, task, e) for piece, e in zip(pieces(prepared), encoded, strict=True)]
        light = not (pipeline.preprocessors or pipeline.segmenter or pipeline.postprocessor)
        return Plan(rows, lambda scores: self._served(record, task, pipeline, prepared, scores), light)

    def plan_fan_out(self, caller: Caller, text: str, targets: Sequence[Target]) -> Plan:
        resolved = [self._resolve(caller, t) for t in targets]
        pipelines = [self.tasks.pipeline(task) for _, task in resolved]
        prepared, encoded = self._prepare([("texts[0]", pipeline, text) for pipeline in pipelines])
        from hub.engine.runtime import RowRequest

        rows: list[RowRequest] = []
        for (record, task), p in zip(resolved, prepared, strict=True):
            packed = self._packed(caller, record)
            rows += [RowRequest(piece.text, packed, task, encoded[len(rows) + j]) for j, piece in enumerate(p.pieces)]

        def finish(scores: list) -> list[Served]:
            served, used = [], 0
            for (record, task), pipeline, p in zip(resolved, pipelines, prepared, strict=True):
                served.append(self._served(record, task, pipeline, [p], scores[used : used + len(p.pieces)]))
                used += len(p.pieces)
            return served

        return Plan(rows, finish)

    def submit(self, caller: Caller, plan: Plan, scope: CallScope | None, count: bool = True) -> Ticket:
        """The plan's rows into the scheduler, in fair order (each costs its tokens); raises the
        admission refusal at once, else the ticket's future gets the scores."""
        costs = plan.costs
        rl.note_work(0, sum(costs))
        return self.batcher.submit(plan.rows, costs, caller.namespace(), scope, count)

    def _resolve(self, caller: Caller, target: Target) -> tuple[VersionRecord, str]:
        owner, name = self.domains.owner(caller, target.name)  # DOMAIN:NAME, or the caller's own
        with span("resolve", adapter=target.name):
            record = self.cache.resolve(owner, name, target.ref)  # once per request
            available = [t.task for t in record.manifest.tasks]
            task = choose_task(target.task, available, f"{target.name}@{record.version}")
        rl.note_target(reference_name(record.tenant, record.name), record.version, task)
        return record, task

    def _packed(self, caller: Caller, record: VersionRecord) -> PackedAdapter:
        self.domains.note_use(caller.namespace(), record)
        if record.manifest.base is not None:  # stacked: its base still there, unchanged, readable
            self.domains.note_use(
                caller.namespace(), self.domains.base_record(caller, record.manifest.base, record.name)
            )
        return self.cache.get(record, self.pack)

    def pack(self, key: str, files: dict[str, bytes], manifest: Manifest) -> PackedAdapter:
        """The engine's tensors for a version; a stacked one carries its base's updates too."""
        packed = self.runtime.pack(key, files, manifest)
        if manifest.base is None:
            return packed
        from hub.engine.packing import stack_adapters

        base = self.domains.base_record(Caller("", admin=True), manifest.base, key)
        return stack_adapters(packed, self.cache.get(base, self.runtime.pack))

    def _prepare(self, jobs: Sequence[tuple[str, TaskPipeline, str]]) -> tuple[list[Prepared], list[Encoded]]:
        """Each (name, pipeline, text): the task's segmenter and preprocessors, before any text
        reaches the model (or a log); then every distinct piece tokenized once, by the engine's
        tokenizer. The counts are checked here and the encodings travel with the rows, so the
        engine does not tokenize again."""
        prepared = self.plugin_work.prepare([(pipeline, text) for _, pipeline, text in jobs])
        distinct = list(dict.fromkeys(piece.text for piece in pieces(prepared)))
        # a text of context segments only (a chat of agent turns) has no piece to encode
        encoded = dict(zip(distinct, self.runtime.encode(distinct), strict=True)) if distinct else {}
        limit = self.settings.max_tokens_per_text
        if self.runtime.spec.max_tokens:  # the backbone's positions bound any setting
            limit = min(limit, self.runtime.spec.max_tokens)
        for (name, _, _), p in zip(jobs, prepared, strict=True):
            for j, piece in enumerate(p.pieces):
                count = encoded[piece.text].tokens
                if count > limit:
                    part = f"{name} segment {j}" if len(p.pieces) > 1 else name
                    raise InvalidArgument(f"{part} is {count} tokens long; the limit is {limit} (split the text)")
        return prepared, [encoded[piece.text] for piece in pieces(prepared)]

    def _admissible(self, caller: Caller, scope: CallScope | None, texts: Sequence[str], count: bool = True) -> None:
        """Refuse early what the scheduler would refuse at the least possible size (a token a word, 2 per text)."""
        tenant = caller.namespace()
        self.policies.refresh(tenant)
        self.batcher.precheck(tenant, sum(len(t.split()) + 2 for t in texts), scope, count)

    def _run(self, caller: Caller, plan: Plan, scope: CallScope | None) -> list:
        """The plan's rows through the scheduler, waiting in this thread."""
        if not plan.rows:
            return []
        with self.telemetry.waiting(plan.rows):  # queue wait and forward: metrics, log line, spans
            return self.batcher.wait(self.submit(caller, plan, scope), scope)

    def drain(self, timeout: float | None = None) -> bool:
        """Stop admitting inference (UNAVAILABLE) and wait for what was admitted; False if
        ``timeout`` passed first. Not ready from the start (hub/observe/health.py)."""
        self.health.draining()
        return self.batcher.drain(self.settings.shutdown_grace_s if timeout is None else timeout)

    def close(self, drain: bool = True) -> None:
        """Stop taking inference rows; finish (``drain``) or fail the queued ones."""
        self.batcher.close(drain=drain, timeout=self.settings.shutdown_grace_s)
        self.maintenance.close()
        self.cache.close()
        self.plugin_work.close()

    def headroom(self, caller: Caller) -> Headroom | None:
        """The caller's rate-limit headroom now (None: nothing to report: fifo, the operator)."""
        return self.batcher.headroom(caller.tenant) if caller.tenant else None

    def queue_status(self, caller: Caller) -> QueueStatus:
        """The scheduler's numbers: a tenant sees its own row, the operator every row."""
        return queue_status(caller, self.batcher)

    def _served(
        self, record: VersionRecord, task: str, pipeline: TaskPipeline, prepared: Sequence[Prepared], scores: list
    ) -> Served:
        """Scores -> answers on the one path evaluation uses too (hub.tasks.answers)."""
        head = record.manifest.task(task)
        assert head is not None
        with span("decode", task=task):
            predictions = self.plugin_work.answers(pipeline, head, prepared, scores)
        return Served(reference_name(record.tenant, record.name), record.version, task, head.head_kind, predictions)

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

    # ---- adapters -----------------------------------------------------------------------
    def upload(self, caller: Caller, header: UploadHeader, files: dict[str, bytes]) -> VersionRecord:
        tenant, name = self.domains.owner(caller, header.name, write=True)  # DOMAIN:NAME: the operator's
        limits = ArtifactLimits(max_total_bytes=self.settings.max_upload_bytes, max_rank=self.settings.max_adapter_rank)
        info = UploadInfo(header.task, header.labels, header.description)
        artifact = build_artifact(files, info, self.runtime.spec, self.tasks.contract, limits)
        if self.plugins is not None and (problems := self.plugins.validate_adapter(artifact.manifest)):
            raise InvalidArtifact(problems)
        self.domains.check_upload(caller, tenant, artifact.manifest, header.name)
        self._check_quota(tenant, name, self.registry.added_bytes(tenant, artifact))
        record = self.registry.publish(tenant, name, artifact, header.idempotency_key)
        self.cache.expire(tenant, name)  # `latest` moved: re-read on next use
        self._recheck_quota(tenant, record)
        return record

    def quota(self, tenant: str) -> tuple[int, int]:
        """(max bytes, max adapters) for the tenant: its own quota, else the server's default
        (a domain's too)."""
        try:
            record = self.tenants.get(tenant)
        except (NotFound, InvalidArgument):
            return self.settings.quota_bytes, self.settings.quota_adapters
        return (
            record.max_bytes or self.settings.quota_bytes,
            record.max_adapters or self.settings.quota_adapters,
        )

    def _check_quota(self, tenant: str, name: str, size: int) -> None:
        """Would ``name`` with ``size`` more bytes fit the tenant's quota? (After publishing,
        ``size`` is 0: what is stored already counts.)"""
        max_bytes, max_adapters = self.quota(tenant)
        used, names = self.registry.usage(tenant)
        if used + size > max_bytes:
            raise ResourceExhausted(
                f"storage quota exceeded: {used} bytes used + {size} new > {max_bytes}; "
                "delete old versions (their bytes count until garbage collection reclaims them, "
                f"{self.settings.gc_grace_s:.0f} s after the delete at the earliest) or ask the operator for more"
            )
        if len({*names, name}) > max_adapters:
            raise ResourceExhausted(f"adapter quota exceeded: {len(names)} of {max_adapters} adapters")

    def _recheck_quota(self, tenant: str, record: VersionRecord) -> None:
        """Uploads racing through any server can each pass the check before any of them is
        stored. Counting again once ours is stored closes that: of racers that together go over,
        the last to count sees them all and withdraws (so may an earlier one, if it counts after
        the other's publish), so the quota is never exceeded; a withdrawn upload was never
        acknowledged, and its number is tombstoned like any deleted version."""
        try:
            self._check_quota(tenant, record.name, 0)
        except ResourceExhausted as exc:
            self.registry.delete(tenant, record.name, str(record.version), withdrawn=True)
            self.cache.drop(tenant, record.name, [record.version])
            raise ResourceExhausted(
                f"{exc.message} (uploads arriving at the same time); {record.name} was not stored: try again"
            ) from None

    def list_adapters(self, caller: Caller, domain: str = "") -> list[AdapterListing]:
        """The caller's adapters, or (``domain``) a domain's."""
        return self.registry.listings(self.domains.domain_owner(caller, domain) if domain else caller.namespace())

    def get_adapter(self, caller: Caller, name: str, ref: str) -> tuple[VersionRecord, list[str]]:
        owner, name = self.domains.owner(caller, name)
        record = self.registry.resolve(owner, name, ref)
        aliases = self.registry.aliases(owner, name)
        return record, sorted(a for a, v in aliases.items() if v == record.version)

    def adapter_files(self, caller: Caller, name: str, ref: str) -> dict[str, bytes]:
        """Every file of one version (hub_adapter.json too), to a caller who may read it."""
        owner, name = self.domains.owner(caller, name)
        return self.registry.read_files(self.registry.resolve(owner, name, ref))

    def delete_adapter(self, caller: Caller, name: str, ref: str) -> list[int]:
        owner, name = self.domains.owner(caller, name, write=True)
        deleted = self.registry.delete(owner, name, ref)
        self.cache.drop(owner, name, deleted)
        return deleted

    def set_alias(self, caller: Caller, name: str, ref: str, alias: str) -> tuple[int | None, int]:
        owner, name = self.domains.owner(caller, name, write=True)
        moved = self.registry.set_alias(owner, name, alias, ref)
        self.cache.expire(owner, name)  # this server sees the move at once, others within alias_ttl_s
        return moved

    # ---- admin --------------------------------------------------------------------------
    def server_info(self, caller: Caller | None = None) -> ServerInfo:
        """The store's location only for the operator (None: an in-process caller, who is)."""
        store = self.registry.store.uri if caller is None or caller.admin else ""
        return describe_server(self.runtime.describe(), self.settings, store)

    def list_tasks(self) -> list[TaskSpec]:
        return self.tasks.all()

    def list_plugins(self) -> list[PluginInfo]:
        return self.plugins.plugins() if self.plugins is not None else []
