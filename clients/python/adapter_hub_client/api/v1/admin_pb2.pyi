from adapter_hub_client.api.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CollectGarbageRequest(_message.Message):
    __slots__ = ("dry_run",)
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    def __init__(self, dry_run: _Optional[bool] = ...) -> None: ...

class CollectGarbageResponse(_message.Message):
    __slots__ = ("dry_run", "blobs", "blob_bytes", "temp_files", "temp_bytes", "kept_blobs", "skipped", "seconds")
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    BLOBS_FIELD_NUMBER: _ClassVar[int]
    BLOB_BYTES_FIELD_NUMBER: _ClassVar[int]
    TEMP_FILES_FIELD_NUMBER: _ClassVar[int]
    TEMP_BYTES_FIELD_NUMBER: _ClassVar[int]
    KEPT_BLOBS_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    blobs: int
    blob_bytes: int
    temp_files: int
    temp_bytes: int
    kept_blobs: int
    skipped: _containers.RepeatedScalarFieldContainer[str]
    seconds: float
    def __init__(self, dry_run: _Optional[bool] = ..., blobs: _Optional[int] = ..., blob_bytes: _Optional[int] = ..., temp_files: _Optional[int] = ..., temp_bytes: _Optional[int] = ..., kept_blobs: _Optional[int] = ..., skipped: _Optional[_Iterable[str]] = ..., seconds: _Optional[float] = ...) -> None: ...

class VerifyStoreRequest(_message.Message):
    __slots__ = ("quarantine",)
    QUARANTINE_FIELD_NUMBER: _ClassVar[int]
    quarantine: bool
    def __init__(self, quarantine: _Optional[bool] = ...) -> None: ...

class StoreDamage(_message.Message):
    __slots__ = ("namespace", "kind", "what", "quarantined")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    WHAT_FIELD_NUMBER: _ClassVar[int]
    QUARANTINED_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    kind: str
    what: str
    quarantined: bool
    def __init__(self, namespace: _Optional[str] = ..., kind: _Optional[str] = ..., what: _Optional[str] = ..., quarantined: _Optional[bool] = ...) -> None: ...

class VerifyStoreResponse(_message.Message):
    __slots__ = ("blobs", "records", "damaged")
    BLOBS_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    DAMAGED_FIELD_NUMBER: _ClassVar[int]
    blobs: int
    records: int
    damaged: _containers.RepeatedCompositeFieldContainer[StoreDamage]
    def __init__(self, blobs: _Optional[int] = ..., records: _Optional[int] = ..., damaged: _Optional[_Iterable[_Union[StoreDamage, _Mapping]]] = ...) -> None: ...

class QueueStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TenantQueue(_message.Message):
    __slots__ = ("tenant", "weight", "queued_requests", "queued_tokens", "served_requests", "served_tokens", "refusals")
    class RefusalsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    TENANT_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    QUEUED_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    QUEUED_TOKENS_FIELD_NUMBER: _ClassVar[int]
    SERVED_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    SERVED_TOKENS_FIELD_NUMBER: _ClassVar[int]
    REFUSALS_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    weight: float
    queued_requests: int
    queued_tokens: int
    served_requests: int
    served_tokens: int
    refusals: _containers.ScalarMap[str, int]
    def __init__(self, tenant: _Optional[str] = ..., weight: _Optional[float] = ..., queued_requests: _Optional[int] = ..., queued_tokens: _Optional[int] = ..., served_requests: _Optional[int] = ..., served_tokens: _Optional[int] = ..., refusals: _Optional[_Mapping[str, int]] = ...) -> None: ...

class QueueStatusResponse(_message.Message):
    __slots__ = ("scheduler", "tenants", "queued_requests", "queued_tokens", "max_requests", "max_tokens", "tenant_max_requests", "tenant_max_tokens", "tokens_per_s", "batch_ms")
    SCHEDULER_FIELD_NUMBER: _ClassVar[int]
    TENANTS_FIELD_NUMBER: _ClassVar[int]
    QUEUED_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    QUEUED_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MAX_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TENANT_MAX_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    TENANT_MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_PER_S_FIELD_NUMBER: _ClassVar[int]
    BATCH_MS_FIELD_NUMBER: _ClassVar[int]
    scheduler: str
    tenants: _containers.RepeatedCompositeFieldContainer[TenantQueue]
    queued_requests: int
    queued_tokens: int
    max_requests: int
    max_tokens: int
    tenant_max_requests: int
    tenant_max_tokens: int
    tokens_per_s: float
    batch_ms: float
    def __init__(self, scheduler: _Optional[str] = ..., tenants: _Optional[_Iterable[_Union[TenantQueue, _Mapping]]] = ..., queued_requests: _Optional[int] = ..., queued_tokens: _Optional[int] = ..., max_requests: _Optional[int] = ..., max_tokens: _Optional[int] = ..., tenant_max_requests: _Optional[int] = ..., tenant_max_tokens: _Optional[int] = ..., tokens_per_s: _Optional[float] = ..., batch_ms: _Optional[float] = ...) -> None: ...

class ServerInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Limits(_message.Message):
    __slots__ = ("max_texts_per_request", "max_text_chars", "max_tokens_per_text", "max_fanout_targets", "max_upload_bytes")
    MAX_TEXTS_PER_REQUEST_FIELD_NUMBER: _ClassVar[int]
    MAX_TEXT_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_PER_TEXT_FIELD_NUMBER: _ClassVar[int]
    MAX_FANOUT_TARGETS_FIELD_NUMBER: _ClassVar[int]
    MAX_UPLOAD_BYTES_FIELD_NUMBER: _ClassVar[int]
    max_texts_per_request: int
    max_text_chars: int
    max_tokens_per_text: int
    max_fanout_targets: int
    max_upload_bytes: int
    def __init__(self, max_texts_per_request: _Optional[int] = ..., max_text_chars: _Optional[int] = ..., max_tokens_per_text: _Optional[int] = ..., max_fanout_targets: _Optional[int] = ..., max_upload_bytes: _Optional[int] = ...) -> None: ...

class ServerInfoResponse(_message.Message):
    __slots__ = ("backbone_name", "backbone_fingerprint", "device", "dtype", "backbone_parameters", "hidden_size", "versions", "limits", "store", "auth_enabled")
    class VersionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BACKBONE_NAME_FIELD_NUMBER: _ClassVar[int]
    BACKBONE_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    BACKBONE_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_SIZE_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    STORE_FIELD_NUMBER: _ClassVar[int]
    AUTH_ENABLED_FIELD_NUMBER: _ClassVar[int]
    backbone_name: str
    backbone_fingerprint: str
    device: str
    dtype: str
    backbone_parameters: int
    hidden_size: int
    versions: _containers.ScalarMap[str, str]
    limits: Limits
    store: str
    auth_enabled: bool
    def __init__(self, backbone_name: _Optional[str] = ..., backbone_fingerprint: _Optional[str] = ..., device: _Optional[str] = ..., dtype: _Optional[str] = ..., backbone_parameters: _Optional[int] = ..., hidden_size: _Optional[int] = ..., versions: _Optional[_Mapping[str, str]] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ..., store: _Optional[str] = ..., auth_enabled: _Optional[bool] = ...) -> None: ...

class ListTasksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TaskInfo(_message.Message):
    __slots__ = ("name", "head_kind", "labels", "description", "plugin", "preprocessors", "segmenter", "metric", "reader", "postprocessor")
    NAME_FIELD_NUMBER: _ClassVar[int]
    HEAD_KIND_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PLUGIN_FIELD_NUMBER: _ClassVar[int]
    PREPROCESSORS_FIELD_NUMBER: _ClassVar[int]
    SEGMENTER_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    READER_FIELD_NUMBER: _ClassVar[int]
    POSTPROCESSOR_FIELD_NUMBER: _ClassVar[int]
    name: str
    head_kind: _common_pb2.HeadKind
    labels: _containers.RepeatedScalarFieldContainer[str]
    description: str
    plugin: str
    preprocessors: _containers.RepeatedScalarFieldContainer[str]
    segmenter: str
    metric: str
    reader: str
    postprocessor: bool
    def __init__(self, name: _Optional[str] = ..., head_kind: _Optional[_Union[_common_pb2.HeadKind, str]] = ..., labels: _Optional[_Iterable[str]] = ..., description: _Optional[str] = ..., plugin: _Optional[str] = ..., preprocessors: _Optional[_Iterable[str]] = ..., segmenter: _Optional[str] = ..., metric: _Optional[str] = ..., reader: _Optional[str] = ..., postprocessor: _Optional[bool] = ...) -> None: ...

class ListTasksResponse(_message.Message):
    __slots__ = ("tasks",)
    TASKS_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[TaskInfo]
    def __init__(self, tasks: _Optional[_Iterable[_Union[TaskInfo, _Mapping]]] = ...) -> None: ...

class ListPluginsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PluginInfo(_message.Message):
    __slots__ = ("name", "distribution", "version", "builtin", "enabled", "note", "hooks", "tasks", "preprocessors", "segmenters", "readers", "metrics")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    BUILTIN_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    HOOKS_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    PREPROCESSORS_FIELD_NUMBER: _ClassVar[int]
    SEGMENTERS_FIELD_NUMBER: _ClassVar[int]
    READERS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    name: str
    distribution: str
    version: str
    builtin: bool
    enabled: bool
    note: str
    hooks: _containers.RepeatedScalarFieldContainer[str]
    tasks: _containers.RepeatedScalarFieldContainer[str]
    preprocessors: _containers.RepeatedScalarFieldContainer[str]
    segmenters: _containers.RepeatedScalarFieldContainer[str]
    readers: _containers.RepeatedScalarFieldContainer[str]
    metrics: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., distribution: _Optional[str] = ..., version: _Optional[str] = ..., builtin: _Optional[bool] = ..., enabled: _Optional[bool] = ..., note: _Optional[str] = ..., hooks: _Optional[_Iterable[str]] = ..., tasks: _Optional[_Iterable[str]] = ..., preprocessors: _Optional[_Iterable[str]] = ..., segmenters: _Optional[_Iterable[str]] = ..., readers: _Optional[_Iterable[str]] = ..., metrics: _Optional[_Iterable[str]] = ...) -> None: ...

class ListPluginsResponse(_message.Message):
    __slots__ = ("plugins", "tasks")
    PLUGINS_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    plugins: _containers.RepeatedCompositeFieldContainer[PluginInfo]
    tasks: _containers.RepeatedCompositeFieldContainer[TaskInfo]
    def __init__(self, plugins: _Optional[_Iterable[_Union[PluginInfo, _Mapping]]] = ..., tasks: _Optional[_Iterable[_Union[TaskInfo, _Mapping]]] = ...) -> None: ...
