"""A light client for Adapter Hub: synchronous and asyncio, typed results, no torch.

    from adapter_hub_client import HubClient

    with HubClient("127.0.0.1:50051", api_key="ahk_...") as hub:
        for p in hub.predict("sentiment@prod", ["great product", "awful support"]):
            print(p.served_by, p.predicted, p.labels[0].score)

Depends only on grpcio and protobuf. The wire contract is protos/hub/api/v1 (package
``hub.api.v1``); its generated code is ``adapter_hub_client.api.v1``.
"""

from adapter_hub_client.aio import AsyncHubClient, AsyncStreamCall
from adapter_hub_client.config import DEFAULT_TARGET, ClientConfig
from adapter_hub_client.errors import (
    AlreadyExists,
    Cancelled,
    DeadlineExceeded,
    FailedPrecondition,
    HubError,
    Internal,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
)
from adapter_hub_client.streaming import StreamCall
from adapter_hub_client.sync import HubClient
from adapter_hub_client.types import (
    Adapter,
    AdapterVersion,
    AliasChange,
    Batch,
    DomainAccess,
    DomainAdapterUsers,
    DomainInfo,
    Entity,
    LabelScore,
    Limits,
    NewTenantKey,
    PluginInfo,
    Plugins,
    Prediction,
    QueueStatus,
    ResidencyChange,
    ResidencyStatus,
    ResidentAdapter,
    RevokedTenant,
    Segment,
    ServerInfo,
    StreamItem,
    StreamRequest,
    TaskHead,
    TaskInfo,
    TenantInfo,
    TenantLimits,
    TenantQueue,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_TARGET",
    "Adapter",
    "AdapterVersion",
    "AliasChange",
    "AlreadyExists",
    "AsyncHubClient",
    "AsyncStreamCall",
    "Batch",
    "Cancelled",
    "ClientConfig",
    "DeadlineExceeded",
    "DomainAccess",
    "DomainAdapterUsers",
    "DomainInfo",
    "Entity",
    "FailedPrecondition",
    "HubClient",
    "HubError",
    "Internal",
    "InvalidArgument",
    "LabelScore",
    "Limits",
    "NewTenantKey",
    "NotFound",
    "PermissionDenied",
    "PluginInfo",
    "Plugins",
    "Prediction",
    "QueueStatus",
    "ResidencyChange",
    "ResidencyStatus",
    "ResidentAdapter",
    "ResourceExhausted",
    "RevokedTenant",
    "Segment",
    "ServerInfo",
    "StreamCall",
    "StreamItem",
    "StreamRequest",
    "TaskHead",
    "TaskInfo",
    "TenantInfo",
    "TenantLimits",
    "TenantQueue",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
]
