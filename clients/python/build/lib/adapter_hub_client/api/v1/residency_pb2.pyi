from collections.abc import Iterable as _Iterable
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar

from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from google.protobuf.internal import containers as _containers

from adapter_hub_client.api.v1 import common_pb2 as _common_pb2

DESCRIPTOR: _descriptor.FileDescriptor

class ResidencyRequest(_message.Message):
    __slots__ = ("adapter",)
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    adapter: _common_pb2.AdapterRef
    def __init__(self, adapter: _common_pb2.AdapterRef | _Mapping | None = ...) -> None: ...

class ResidentAdapter(_message.Message):
    __slots__ = ("device_bytes", "file_bytes", "name", "pinned", "tiers", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TIERS_FIELD_NUMBER: _ClassVar[int]
    PINNED_FIELD_NUMBER: _ClassVar[int]
    DEVICE_BYTES_FIELD_NUMBER: _ClassVar[int]
    FILE_BYTES_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    tiers: _containers.RepeatedScalarFieldContainer[str]
    pinned: bool
    device_bytes: int
    file_bytes: int
    def __init__(
        self,
        name: str | None = ...,
        version: str | None = ...,
        tiers: _Iterable[str] | None = ...,
        pinned: bool | None = ...,
        device_bytes: int | None = ...,
        file_bytes: int | None = ...,
    ) -> None: ...

class ResidencyResponse(_message.Message):
    __slots__ = ("adapter", "elapsed_ms")
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_MS_FIELD_NUMBER: _ClassVar[int]
    adapter: ResidentAdapter
    elapsed_ms: float
    def __init__(self, adapter: ResidentAdapter | _Mapping | None = ..., elapsed_ms: float | None = ...) -> None: ...

class ResidencyStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TierStatus(_message.Message):
    __slots__ = (
        "budget_bytes",
        "bytes",
        "count",
        "evictions",
        "hits",
        "load_p50_ms",
        "load_p99_ms",
        "loads",
        "misses",
        "name",
        "pinned",
        "pinned_bytes",
    )
    NAME_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    BUDGET_BYTES_FIELD_NUMBER: _ClassVar[int]
    PINNED_FIELD_NUMBER: _ClassVar[int]
    PINNED_BYTES_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    MISSES_FIELD_NUMBER: _ClassVar[int]
    EVICTIONS_FIELD_NUMBER: _ClassVar[int]
    LOADS_FIELD_NUMBER: _ClassVar[int]
    LOAD_P50_MS_FIELD_NUMBER: _ClassVar[int]
    LOAD_P99_MS_FIELD_NUMBER: _ClassVar[int]
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
    def __init__(
        self,
        name: str | None = ...,
        count: int | None = ...,
        bytes: int | None = ...,
        budget_bytes: int | None = ...,
        pinned: int | None = ...,
        pinned_bytes: int | None = ...,
        hits: int | None = ...,
        misses: int | None = ...,
        evictions: int | None = ...,
        loads: int | None = ...,
        load_p50_ms: float | None = ...,
        load_p99_ms: float | None = ...,
    ) -> None: ...

class StoreHealth(_message.Message):
    __slots__ = ("breaker", "consecutive_failures", "failures", "last_error", "rejected", "retry_in_s")
    BREAKER_FIELD_NUMBER: _ClassVar[int]
    CONSECUTIVE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    RETRY_IN_S_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    breaker: str
    consecutive_failures: int
    retry_in_s: float
    failures: int
    rejected: int
    last_error: str
    def __init__(
        self,
        breaker: str | None = ...,
        consecutive_failures: int | None = ...,
        retry_in_s: float | None = ...,
        failures: int | None = ...,
        rejected: int | None = ...,
        last_error: str | None = ...,
    ) -> None: ...

class ResidencyStatusResponse(_message.Message):
    __slots__ = ("adapters", "alias_ttl_s", "draining", "stale_served", "store", "tiers")
    TIERS_FIELD_NUMBER: _ClassVar[int]
    STORE_FIELD_NUMBER: _ClassVar[int]
    ADAPTERS_FIELD_NUMBER: _ClassVar[int]
    DRAINING_FIELD_NUMBER: _ClassVar[int]
    ALIAS_TTL_S_FIELD_NUMBER: _ClassVar[int]
    STALE_SERVED_FIELD_NUMBER: _ClassVar[int]
    tiers: _containers.RepeatedCompositeFieldContainer[TierStatus]
    store: StoreHealth
    adapters: _containers.RepeatedCompositeFieldContainer[ResidentAdapter]
    draining: int
    alias_ttl_s: float
    stale_served: int
    def __init__(
        self,
        tiers: _Iterable[TierStatus | _Mapping] | None = ...,
        store: StoreHealth | _Mapping | None = ...,
        adapters: _Iterable[ResidentAdapter | _Mapping] | None = ...,
        draining: int | None = ...,
        alias_ttl_s: float | None = ...,
        stale_served: int | None = ...,
    ) -> None: ...
