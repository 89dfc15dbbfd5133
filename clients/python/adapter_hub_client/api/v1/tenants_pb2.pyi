from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TenantLimits(_message.Message):
    __slots__ = ("weight", "rps", "tps", "unlimited_rps", "unlimited_tps")
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    RPS_FIELD_NUMBER: _ClassVar[int]
    TPS_FIELD_NUMBER: _ClassVar[int]
    UNLIMITED_RPS_FIELD_NUMBER: _ClassVar[int]
    UNLIMITED_TPS_FIELD_NUMBER: _ClassVar[int]
    weight: float
    rps: float
    tps: float
    unlimited_rps: bool
    unlimited_tps: bool
    def __init__(self, weight: _Optional[float] = ..., rps: _Optional[float] = ..., tps: _Optional[float] = ..., unlimited_rps: _Optional[bool] = ..., unlimited_tps: _Optional[bool] = ...) -> None: ...

class SetTenantLimitsRequest(_message.Message):
    __slots__ = ("tenant", "limits")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    limits: TenantLimits
    def __init__(self, tenant: _Optional[str] = ..., limits: _Optional[_Union[TenantLimits, _Mapping]] = ...) -> None: ...

class Quota(_message.Message):
    __slots__ = ("max_bytes", "max_adapters")
    MAX_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_ADAPTERS_FIELD_NUMBER: _ClassVar[int]
    max_bytes: int
    max_adapters: int
    def __init__(self, max_bytes: _Optional[int] = ..., max_adapters: _Optional[int] = ...) -> None: ...

class CreateTenantRequest(_message.Message):
    __slots__ = ("tenant", "quota", "limits")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    quota: Quota
    limits: TenantLimits
    def __init__(self, tenant: _Optional[str] = ..., quota: _Optional[_Union[Quota, _Mapping]] = ..., limits: _Optional[_Union[TenantLimits, _Mapping]] = ...) -> None: ...

class CreateTenantResponse(_message.Message):
    __slots__ = ("tenant", "api_key", "key_id")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    api_key: str
    key_id: str
    def __init__(self, tenant: _Optional[str] = ..., api_key: _Optional[str] = ..., key_id: _Optional[str] = ...) -> None: ...

class ListTenantsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TenantInfo(_message.Message):
    __slots__ = ("tenant", "active_keys", "revoked_keys", "quota", "used_bytes", "adapters", "created_at", "weight", "rps", "tps")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_KEYS_FIELD_NUMBER: _ClassVar[int]
    REVOKED_KEYS_FIELD_NUMBER: _ClassVar[int]
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    ADAPTERS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    RPS_FIELD_NUMBER: _ClassVar[int]
    TPS_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    active_keys: int
    revoked_keys: int
    quota: Quota
    used_bytes: int
    adapters: int
    created_at: str
    weight: float
    rps: float
    tps: float
    def __init__(self, tenant: _Optional[str] = ..., active_keys: _Optional[int] = ..., revoked_keys: _Optional[int] = ..., quota: _Optional[_Union[Quota, _Mapping]] = ..., used_bytes: _Optional[int] = ..., adapters: _Optional[int] = ..., created_at: _Optional[str] = ..., weight: _Optional[float] = ..., rps: _Optional[float] = ..., tps: _Optional[float] = ...) -> None: ...

class ListTenantsResponse(_message.Message):
    __slots__ = ("tenants",)
    TENANTS_FIELD_NUMBER: _ClassVar[int]
    tenants: _containers.RepeatedCompositeFieldContainer[TenantInfo]
    def __init__(self, tenants: _Optional[_Iterable[_Union[TenantInfo, _Mapping]]] = ...) -> None: ...

class RevokeTenantRequest(_message.Message):
    __slots__ = ("tenant",)
    TENANT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    def __init__(self, tenant: _Optional[str] = ...) -> None: ...

class RevokeTenantResponse(_message.Message):
    __slots__ = ("tenant", "revoked_keys")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_KEYS_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    revoked_keys: int
    def __init__(self, tenant: _Optional[str] = ..., revoked_keys: _Optional[int] = ...) -> None: ...
