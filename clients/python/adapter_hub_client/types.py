"""What the hub answers, as plain frozen dataclasses: no protobuf for a caller to read.

Most classes mirror one message field by field (same names, same order; the client's tests
check that each covers its message exactly, so a field added to protos/ is added here too).
Enums arrive as lower-case names (``head_kind="token"``), maps as dicts, repeated fields as
lists. A ``Prediction`` is one text's answer plus what served it (adapter, version, task).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adapter_hub_client.store_types import GarbageCollection as GarbageCollection  # noqa: PLC0414 - re-exported
from adapter_hub_client.store_types import StoreDamage as StoreDamage  # noqa: PLC0414
from adapter_hub_client.store_types import StoreVerification as StoreVerification  # noqa: PLC0414


@dataclass(frozen=True)
class LabelScore:
    label: str
    score: float


@dataclass(frozen=True)
class Entity:
    """A span of the original text: ``text == original[start:end]``."""

    label: str
    start: int
    end: int
    text: str
    score: float


@dataclass(frozen=True)
class Segment:
    """One answered piece of a long text (a plugin's segmenter), with its own answer and
    offsets; ``kind`` is what the segmenter says it is ("" for none)."""

    start: int
    end: int
    text: str
    labels: list[LabelScore] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    predicted: list[str] = field(default_factory=list)
    kind: str = ""


@dataclass(frozen=True)
class Prediction:
    """One text's answer. ``labels`` (best first) and ``predicted`` for sequence and
    multi-label heads, ``entities`` for token heads; ``segments`` when a plugin split the text.
    ``adapter``, ``version`` and ``task`` name what served it (an alias resolved to its number)."""

    labels: list[LabelScore]
    entities: list[Entity]
    predicted: list[str]
    segments: list[Segment]
    adapter: str
    version: str
    task: str
    head_kind: str  # sequence | multi_label | token

    @property
    def served_by(self) -> str:
        """``adapter@version``."""
        return f"{self.adapter}@{self.version}"

    @property
    def label(self) -> str | None:
        """The best label (sequence heads), None for token heads or no label."""
        return self.predicted[0] if self.predicted else None


@dataclass(frozen=True)
class StreamRequest:
    """One request inside PredictStream; ``request_id`` (yours) comes back on its answer."""

    request_id: str
    adapter: str  # name or name@version
    texts: list[str]
    task: str | None = None
    timeout_s: float | None = None  # this request's own deadline (the call's still applies)


@dataclass(frozen=True)
class StreamItem:
    """One request's answer inside PredictStream, keyed by the caller's ``request_id``:
    the predictions, or the error the same request would raise from ``predict``."""

    request_id: str
    predictions: list[Prediction]
    error: Exception | None = None


@dataclass(frozen=True)
class Batch:
    """One batch of texts from ``predict_batches``, in input order: predictions or an error."""

    index: int
    texts: list[str]
    predictions: list[Prediction]
    error: Exception | None = None


@dataclass(frozen=True)
class TaskHead:
    task: str
    head_kind: str
    labels: list[str]
    threshold: float


@dataclass(frozen=True)
class FileInfo:
    path: str
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class AdapterVersion:
    name: str
    version: str
    aliases: list[str]
    tasks: list[TaskHead]
    size_bytes: int
    backbone_fingerprint: str
    created_at: str  # RFC 3339, UTC
    description: str
    files: list[FileInfo]
    rank: int
    lora_alpha: float
    target_modules: list[str]
    metrics_json: str
    base: str = ""  # stacked on this domain adapter, DOMAIN:NAME@VERSION ("" when not stacked)
    base_digest: str = ""

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class Adapter:
    """An adapter with every version and its aliases (alias -> version)."""

    name: str
    versions: list[AdapterVersion]
    aliases: dict[str, str]
    damaged_versions: list[str]  # left out: their stored record is damaged (see `adapter-hub verify`)


@dataclass(frozen=True)
class AliasChange:
    name: str
    alias: str
    version: str
    previous_version: str  # "" when the alias is new


@dataclass(frozen=True)
class Limits:
    max_texts_per_request: int
    max_text_chars: int
    max_tokens_per_text: int
    max_fanout_targets: int
    max_upload_bytes: int


@dataclass(frozen=True)
class ServerInfo:
    backbone_name: str
    backbone_fingerprint: str
    device: str
    dtype: str
    backbone_parameters: int
    hidden_size: int
    versions: dict[str, str]
    limits: Limits
    store: str
    auth_enabled: bool


@dataclass(frozen=True)
class TaskInfo:
    name: str
    head_kind: str
    labels: list[str]
    description: str
    plugin: str
    preprocessors: list[str]
    segmenter: str
    metric: str
    reader: str
    postprocessor: bool


@dataclass(frozen=True)
class PluginInfo:
    name: str
    distribution: str
    version: str
    builtin: bool
    enabled: bool
    note: str
    hooks: list[str]
    tasks: list[str]
    preprocessors: list[str]
    segmenters: list[str]
    readers: list[str]
    metrics: list[str]


@dataclass(frozen=True)
class Plugins:
    plugins: list[PluginInfo]
    tasks: list[TaskInfo]


@dataclass(frozen=True)
class ResidentAdapter:
    name: str
    version: str
    tiers: list[str]  # device, host, disk: where it is now
    pinned: bool
    device_bytes: int
    file_bytes: int


@dataclass(frozen=True)
class ResidencyChange:
    """What load / unload / pin / unpin left, and how long it took."""

    adapter: ResidentAdapter
    elapsed_ms: float


@dataclass(frozen=True)
class TierStatus:
    name: str
    count: int
    bytes: int
    budget_bytes: int
    pinned: int
    pinned_bytes: int
    hits: int
    misses: int
    evictions: int
    loads: int
    load_p50_ms: float
    load_p99_ms: float


@dataclass(frozen=True)
class StoreHealth:
    breaker: str
    consecutive_failures: int
    retry_in_s: float
    failures: int
    rejected: int
    last_error: str


@dataclass(frozen=True)
class ResidencyStatus:
    tiers: list[TierStatus]
    store: StoreHealth
    adapters: list[ResidentAdapter]
    draining: int
    alias_ttl_s: float
    stale_served: int
    label_drift: list[str]  # stored adapters whose labels differ from their task's, one line each


@dataclass(frozen=True)
class Quota:
    max_bytes: int  # 0: the server's default
    max_adapters: int


@dataclass(frozen=True)
class NewTenantKey:
    """A tenant's new API key: shown once, store it."""

    tenant: str
    api_key: str
    key_id: str


@dataclass(frozen=True)
class TenantLimits:
    """A tenant's serving policy to set: ``weight`` (its share while tenants compete, default 1),
    ``rps`` / ``tps`` (requests / input tokens per second); None leaves a value as it is,
    ``unlimited_rps`` / ``unlimited_tps`` remove a limit."""

    weight: float | None = None
    rps: float | None = None
    tps: float | None = None
    unlimited_rps: bool = False
    unlimited_tps: bool = False


@dataclass(frozen=True)
class TenantInfo:
    tenant: str
    active_keys: int
    revoked_keys: int
    quota: Quota
    used_bytes: int
    adapters: int
    created_at: str
    weight: float  # share of the hub while tenants compete (0 from an older server: 1)
    rps: float  # requests per second; 0: no limit
    tps: float  # input tokens per second; 0: no limit


@dataclass(frozen=True)
class RevokedTenant:
    tenant: str
    revoked_keys: int


@dataclass(frozen=True)
class TenantQueue:
    """One tenant's inference queue: queued and served work, refusals by reason."""

    tenant: str
    weight: float
    queued_requests: int
    queued_tokens: int
    served_requests: int
    served_tokens: int
    refusals: dict[str, int]


@dataclass(frozen=True)
class QueueStatus:
    """The scheduler's view: a tenant sees its own row, the operator every row and the totals,
    bounds and measured engine speed (zero for a tenant)."""

    scheduler: str  # fair | fifo
    tenants: list[TenantQueue]
    queued_requests: int
    queued_tokens: int
    max_requests: int
    max_tokens: int
    tenant_max_requests: int
    tenant_max_tokens: int
    tokens_per_s: float
    batch_ms: float


class Predictions(list[Prediction]):
    """``predict`` and ``fan_out``'s answer: a list of Prediction (one per text or target),
    with the call's ``request_id`` (the server's ``x-request-id``, in its log line) and
    ``ratelimit``: the tenant's headroom the server sent (``x-ratelimit-*``, ``x-queue-*``)."""

    def __init__(self, items: list[Prediction], request_id: str | None = None, ratelimit: dict[str, str] | None = None):
        super().__init__(items)
        self.request_id = request_id
        self.ratelimit = dict(ratelimit or {})


@dataclass(frozen=True)
class DomainAccess:
    """Who may read a domain's adapters: every tenant, or a list (names: the operator only)."""

    domain: str
    everyone: bool
    tenants: list[str]
    granted: int
    readable: bool  # by the caller


@dataclass(frozen=True)
class DomainAdapterUsers:
    name: str
    version: str
    users: int  # distinct tenants served by it (directly or as a base) on the server since start


@dataclass(frozen=True)
class DomainInfo:
    access: DomainAccess
    adapters: list[Adapter]
    users: list[DomainAdapterUsers]
