from collections.abc import Iterable as _Iterable
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar

from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from google.protobuf.internal import containers as _containers

from adapter_hub_client.api.v1 import common_pb2 as _common_pb2

DESCRIPTOR: _descriptor.FileDescriptor

class UploadHeader(_message.Message):
    __slots__ = ("description", "labels", "name", "task")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    task: str
    labels: _containers.RepeatedScalarFieldContainer[str]
    description: str
    def __init__(
        self,
        name: str | None = ...,
        task: str | None = ...,
        labels: _Iterable[str] | None = ...,
        description: str | None = ...,
    ) -> None: ...

class FileChunk(_message.Message):
    __slots__ = ("data", "path")
    PATH_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    path: str
    data: bytes
    def __init__(self, path: str | None = ..., data: bytes | None = ...) -> None: ...

class UploadAdapterRequest(_message.Message):
    __slots__ = ("chunk", "header")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: UploadHeader
    chunk: FileChunk
    def __init__(
        self, header: UploadHeader | _Mapping | None = ..., chunk: FileChunk | _Mapping | None = ...
    ) -> None: ...

class FileInfo(_message.Message):
    __slots__ = ("path", "sha256", "size_bytes")
    PATH_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    path: str
    size_bytes: int
    sha256: str
    def __init__(self, path: str | None = ..., size_bytes: int | None = ..., sha256: str | None = ...) -> None: ...

class AdapterVersionInfo(_message.Message):
    __slots__ = (
        "aliases",
        "backbone_fingerprint",
        "created_at",
        "description",
        "files",
        "lora_alpha",
        "metrics_json",
        "name",
        "rank",
        "size_bytes",
        "target_modules",
        "tasks",
        "version",
    )
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    BACKBONE_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    LORA_ALPHA_FIELD_NUMBER: _ClassVar[int]
    TARGET_MODULES_FIELD_NUMBER: _ClassVar[int]
    METRICS_JSON_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    aliases: _containers.RepeatedScalarFieldContainer[str]
    tasks: _containers.RepeatedCompositeFieldContainer[_common_pb2.TaskHead]
    size_bytes: int
    backbone_fingerprint: str
    created_at: str
    description: str
    files: _containers.RepeatedCompositeFieldContainer[FileInfo]
    rank: int
    lora_alpha: float
    target_modules: _containers.RepeatedScalarFieldContainer[str]
    metrics_json: str
    def __init__(
        self,
        name: str | None = ...,
        version: str | None = ...,
        aliases: _Iterable[str] | None = ...,
        tasks: _Iterable[_common_pb2.TaskHead | _Mapping] | None = ...,
        size_bytes: int | None = ...,
        backbone_fingerprint: str | None = ...,
        created_at: str | None = ...,
        description: str | None = ...,
        files: _Iterable[FileInfo | _Mapping] | None = ...,
        rank: int | None = ...,
        lora_alpha: float | None = ...,
        target_modules: _Iterable[str] | None = ...,
        metrics_json: str | None = ...,
    ) -> None: ...

class UploadAdapterResponse(_message.Message):
    __slots__ = ("adapter",)
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    adapter: AdapterVersionInfo
    def __init__(self, adapter: AdapterVersionInfo | _Mapping | None = ...) -> None: ...

class ListAdaptersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AdapterSummary(_message.Message):
    __slots__ = ("aliases", "name", "versions")
    class AliasesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: str | None = ..., value: str | None = ...) -> None: ...

    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    name: str
    versions: _containers.RepeatedCompositeFieldContainer[AdapterVersionInfo]
    aliases: _containers.ScalarMap[str, str]
    def __init__(
        self,
        name: str | None = ...,
        versions: _Iterable[AdapterVersionInfo | _Mapping] | None = ...,
        aliases: _Mapping[str, str] | None = ...,
    ) -> None: ...

class ListAdaptersResponse(_message.Message):
    __slots__ = ("adapters",)
    ADAPTERS_FIELD_NUMBER: _ClassVar[int]
    adapters: _containers.RepeatedCompositeFieldContainer[AdapterSummary]
    def __init__(self, adapters: _Iterable[AdapterSummary | _Mapping] | None = ...) -> None: ...

class GetAdapterRequest(_message.Message):
    __slots__ = ("adapter",)
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    adapter: _common_pb2.AdapterRef
    def __init__(self, adapter: _common_pb2.AdapterRef | _Mapping | None = ...) -> None: ...

class DeleteAdapterRequest(_message.Message):
    __slots__ = ("adapter",)
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    adapter: _common_pb2.AdapterRef
    def __init__(self, adapter: _common_pb2.AdapterRef | _Mapping | None = ...) -> None: ...

class DeleteAdapterResponse(_message.Message):
    __slots__ = ("deleted_versions",)
    DELETED_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    deleted_versions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, deleted_versions: _Iterable[str] | None = ...) -> None: ...

class SetAliasRequest(_message.Message):
    __slots__ = ("alias", "name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    alias: str
    def __init__(self, name: str | None = ..., version: str | None = ..., alias: str | None = ...) -> None: ...

class SetAliasResponse(_message.Message):
    __slots__ = ("alias", "name", "previous_version", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    alias: str
    version: str
    previous_version: str
    def __init__(
        self,
        name: str | None = ...,
        alias: str | None = ...,
        version: str | None = ...,
        previous_version: str | None = ...,
    ) -> None: ...
