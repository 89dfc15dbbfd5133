from collections.abc import Iterable as _Iterable
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar

from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from google.protobuf.internal import containers as _containers

DESCRIPTOR: _descriptor.FileDescriptor

class Quota(_message.Message):
    __slots__ = ("max_adapters", "max_bytes")
    MAX_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_ADAPTERS_FIELD_NUMBER: _ClassVar[int]
    max_bytes: int
    max_adapters: int
    def __init__(self, max_bytes: int | None = ..., max_adapters: int | None = ...) -> None: ...

class CreateTenantRequest(_message.Message):
    __slots__ = ("quota", "tenant")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    quota: Quota
    def __init__(self, tenant: str | None = ..., quota: Quota | _Mapping | None = ...) -> None: ...

class CreateTenantResponse(_message.Message):
    __slots__ = ("api_key", "key_id", "tenant")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    api_key: str
    key_id: str
    def __init__(self, tenant: str | None = ..., api_key: str | None = ..., key_id: str | None = ...) -> None: ...

class ListTenantsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TenantInfo(_message.Message):
    __slots__ = ("active_keys", "adapters", "created_at", "quota", "revoked_keys", "tenant", "used_bytes")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_KEYS_FIELD_NUMBER: _ClassVar[int]
    REVOKED_KEYS_FIELD_NUMBER: _ClassVar[int]
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    ADAPTERS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    active_keys: int
    revoked_keys: int
    quota: Quota
    used_bytes: int
    adapters: int
    created_at: str
    def __init__(
        self,
        tenant: str | None = ...,
        active_keys: int | None = ...,
        revoked_keys: int | None = ...,
        quota: Quota | _Mapping | None = ...,
        used_bytes: int | None = ...,
        adapters: int | None = ...,
        created_at: str | None = ...,
    ) -> None: ...

class ListTenantsResponse(_message.Message):
    __slots__ = ("tenants",)
    TENANTS_FIELD_NUMBER: _ClassVar[int]
    tenants: _containers.RepeatedCompositeFieldContainer[TenantInfo]
    def __init__(self, tenants: _Iterable[TenantInfo | _Mapping] | None = ...) -> None: ...

class RevokeTenantRequest(_message.Message):
    __slots__ = ("tenant",)
    TENANT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    def __init__(self, tenant: str | None = ...) -> None: ...

class RevokeTenantResponse(_message.Message):
    __slots__ = ("revoked_keys", "tenant")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_KEYS_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    revoked_keys: int
    def __init__(self, tenant: str | None = ..., revoked_keys: int | None = ...) -> None: ...
