from collections.abc import Iterable as _Iterable
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar

from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from google.protobuf.internal import containers as _containers

from adapter_hub_client.api.v1 import common_pb2 as _common_pb2

DESCRIPTOR: _descriptor.FileDescriptor

class ServerInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Limits(_message.Message):
    __slots__ = (
        "max_fanout_targets",
        "max_text_chars",
        "max_texts_per_request",
        "max_tokens_per_text",
        "max_upload_bytes",
    )
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
    def __init__(
        self,
        max_texts_per_request: int | None = ...,
        max_text_chars: int | None = ...,
        max_tokens_per_text: int | None = ...,
        max_fanout_targets: int | None = ...,
        max_upload_bytes: int | None = ...,
    ) -> None: ...

class ServerInfoResponse(_message.Message):
    __slots__ = (
        "auth_enabled",
        "backbone_fingerprint",
        "backbone_name",
        "backbone_parameters",
        "device",
        "dtype",
        "hidden_size",
        "limits",
        "store",
        "versions",
    )
    class VersionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: str | None = ..., value: str | None = ...) -> None: ...

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
    def __init__(
        self,
        backbone_name: str | None = ...,
        backbone_fingerprint: str | None = ...,
        device: str | None = ...,
        dtype: str | None = ...,
        backbone_parameters: int | None = ...,
        hidden_size: int | None = ...,
        versions: _Mapping[str, str] | None = ...,
        limits: Limits | _Mapping | None = ...,
        store: str | None = ...,
        auth_enabled: bool | None = ...,
    ) -> None: ...

class ListTasksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TaskInfo(_message.Message):
    __slots__ = (
        "description",
        "head_kind",
        "labels",
        "metric",
        "name",
        "plugin",
        "postprocessor",
        "preprocessors",
        "reader",
        "segmenter",
    )
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
    def __init__(
        self,
        name: str | None = ...,
        head_kind: _common_pb2.HeadKind | str | None = ...,
        labels: _Iterable[str] | None = ...,
        description: str | None = ...,
        plugin: str | None = ...,
        preprocessors: _Iterable[str] | None = ...,
        segmenter: str | None = ...,
        metric: str | None = ...,
        reader: str | None = ...,
        postprocessor: bool | None = ...,
    ) -> None: ...

class ListTasksResponse(_message.Message):
    __slots__ = ("tasks",)
    TASKS_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[TaskInfo]
    def __init__(self, tasks: _Iterable[TaskInfo | _Mapping] | None = ...) -> None: ...

class ListPluginsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PluginInfo(_message.Message):
    __slots__ = (
        "builtin",
        "distribution",
        "enabled",
        "hooks",
        "metrics",
        "name",
        "note",
        "preprocessors",
        "readers",
        "segmenters",
        "tasks",
        "version",
    )
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
    def __init__(
        self,
        name: str | None = ...,
        distribution: str | None = ...,
        version: str | None = ...,
        builtin: bool | None = ...,
        enabled: bool | None = ...,
        note: str | None = ...,
        hooks: _Iterable[str] | None = ...,
        tasks: _Iterable[str] | None = ...,
        preprocessors: _Iterable[str] | None = ...,
        segmenters: _Iterable[str] | None = ...,
        readers: _Iterable[str] | None = ...,
        metrics: _Iterable[str] | None = ...,
    ) -> None: ...

class ListPluginsResponse(_message.Message):
    __slots__ = ("plugins", "tasks")
    PLUGINS_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    plugins: _containers.RepeatedCompositeFieldContainer[PluginInfo]
    tasks: _containers.RepeatedCompositeFieldContainer[TaskInfo]
    def __init__(
        self, plugins: _Iterable[PluginInfo | _Mapping] | None = ..., tasks: _Iterable[TaskInfo | _Mapping] | None = ...
    ) -> None: ...
