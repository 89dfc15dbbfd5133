from adapter_hub_client.api.v1 import adapters_pb2 as _adapters_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DomainAccessRequest(_message.Message):
    __slots__ = ("domain", "tenant", "all")
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    domain: str
    tenant: str
    all: bool
    def __init__(self, domain: _Optional[str] = ..., tenant: _Optional[str] = ..., all: _Optional[bool] = ...) -> None: ...

class DomainAccess(_message.Message):
    __slots__ = ("domain", "everyone", "tenants", "granted", "readable")
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    EVERYONE_FIELD_NUMBER: _ClassVar[int]
    TENANTS_FIELD_NUMBER: _ClassVar[int]
    GRANTED_FIELD_NUMBER: _ClassVar[int]
    READABLE_FIELD_NUMBER: _ClassVar[int]
    domain: str
    everyone: bool
    tenants: _containers.RepeatedScalarFieldContainer[str]
    granted: int
    readable: bool
    def __init__(self, domain: _Optional[str] = ..., everyone: _Optional[bool] = ..., tenants: _Optional[_Iterable[str]] = ..., granted: _Optional[int] = ..., readable: _Optional[bool] = ...) -> None: ...

class DomainAdapterUsers(_message.Message):
    __slots__ = ("name", "version", "users")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    USERS_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    users: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., users: _Optional[int] = ...) -> None: ...

class DomainInfo(_message.Message):
    __slots__ = ("access", "adapters", "users")
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    ADAPTERS_FIELD_NUMBER: _ClassVar[int]
    USERS_FIELD_NUMBER: _ClassVar[int]
    access: DomainAccess
    adapters: _containers.RepeatedCompositeFieldContainer[_adapters_pb2.AdapterSummary]
    users: _containers.RepeatedCompositeFieldContainer[DomainAdapterUsers]
    def __init__(self, access: _Optional[_Union[DomainAccess, _Mapping]] = ..., adapters: _Optional[_Iterable[_Union[_adapters_pb2.AdapterSummary, _Mapping]]] = ..., users: _Optional[_Iterable[_Union[DomainAdapterUsers, _Mapping]]] = ...) -> None: ...

class ListDomainsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListDomainsResponse(_message.Message):
    __slots__ = ("domains",)
    DOMAINS_FIELD_NUMBER: _ClassVar[int]
    domains: _containers.RepeatedCompositeFieldContainer[DomainInfo]
    def __init__(self, domains: _Optional[_Iterable[_Union[DomainInfo, _Mapping]]] = ...) -> None: ...
