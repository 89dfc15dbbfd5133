from adapter_hub_client.api.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ResidencyRequest(_message.Message):
    __slots__ = ("adapter",)
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    adapter: _common_pb2.AdapterRef
    def __init__(self, adapter: _Optional[_Union[_common_pb2.AdapterRef, _Mapping]] = ...) -> None: ...

class ResidentAdapter(_message.Message):
    __slots__ = ("name", "version", "tiers", "pinned", "device_bytes", "file_bytes")
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
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., tiers: _Optional[_Iterable[str]] = ..., pinned: _Optional[bool] = ..., device_bytes: _Optional[int] = ..., file_bytes: _Optional[int] = ...) -> None: ...

class ResidencyResponse(_message.Message):
    __slots__ = ("adapter", "elapsed_ms")
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_MS_FIELD_NUMBER: _ClassVar[int]
    adapter: ResidentAdapter
    elapsed_ms: float
    def __init__(self, adapter: _Optional[_Union[ResidentAdapter, _Mapping]] = ..., elapsed_ms: _Optional[float] = ...) -> None: ...

class ResidencyStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TierStatus(_message.Message):
    __slots__ = ("name", "count", "bytes", "budget_bytes", "pinned", "pinned_bytes", "hits", "misses", "evictions", "loads", "load_p50_ms", "load_p99_ms")
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
    def __init__(self, name: _Optional[str] = ..., count: _Optional[int] = ..., bytes: _Optional[int] = ..., budget_bytes: _Optional[int] = ..., pinned: _Optional[int] = ..., pinned_bytes: _Optional[int] = ..., hits: _Optional[int] = ..., misses: _Optional[int] = ..., evictions: _Optional[int] = ..., loads: _Optional[int] = ..., load_p50_ms: _Optional[float] = ..., load_p99_ms: _Optional[float] = ...) -> None: ...

class StoreHealth(_message.Message):
    __slots__ = ("breaker", "consecutive_failures", "retry_in_s", "failures", "rejected", "last_error")
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
    def __init__(self, breaker: _Optional[str] = ..., consecutive_failures: _Optional[int] = ..., retry_in_s: _Optional[float] = ..., failures: _Optional[int] = ..., rejected: _Optional[int] = ..., last_error: _Optional[str] = ...) -> None: ...

class ResidencyStatusResponse(_message.Message):
    __slots__ = ("tiers", "store", "adapters", "draining", "alias_ttl_s", "stale_served", "label_drift")
    TIERS_FIELD_NUMBER: _ClassVar[int]
    STORE_FIELD_NUMBER: _ClassVar[int]
    ADAPTERS_FIELD_NUMBER: _ClassVar[int]
    DRAINING_FIELD_NUMBER: _ClassVar[int]
    ALIAS_TTL_S_FIELD_NUMBER: _ClassVar[int]
    STALE_SERVED_FIELD_NUMBER: _ClassVar[int]
    LABEL_DRIFT_FIELD_NUMBER: _ClassVar[int]
    tiers: _containers.RepeatedCompositeFieldContainer[TierStatus]
    store: StoreHealth
    adapters: _containers.RepeatedCompositeFieldContainer[ResidentAdapter]
    draining: int
    alias_ttl_s: float
    stale_served: int
    label_drift: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, tiers: _Optional[_Iterable[_Union[TierStatus, _Mapping]]] = ..., store: _Optional[_Union[StoreHealth, _Mapping]] = ..., adapters: _Optional[_Iterable[_Union[ResidentAdapter, _Mapping]]] = ..., draining: _Optional[int] = ..., alias_ttl_s: _Optional[float] = ..., stale_served: _Optional[int] = ..., label_drift: _Optional[_Iterable[str]] = ...) -> None: ...
