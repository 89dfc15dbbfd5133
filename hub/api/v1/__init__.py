"""The wire contract's generated code, as the server imports it.

protos/ is generated once, into the client distribution (clients/python, package
``adapter_hub_client.api.v1``; `make protos`); the server depends on that distribution and
re-exports the modules here so its code keeps importing ``hub.api.v1``.
"""

from adapter_hub_client.api.v1 import (
    adapters_pb2,
    adapters_pb2_grpc,
    admin_pb2,
    admin_pb2_grpc,
    common_pb2,
    common_pb2_grpc,
    inference_pb2,
    inference_pb2_grpc,
    residency_pb2,
    residency_pb2_grpc,
    tenants_pb2,
    tenants_pb2_grpc,
)

__all__ = [
    "adapters_pb2",
    "adapters_pb2_grpc",
    "admin_pb2",
    "admin_pb2_grpc",
    "common_pb2",
    "common_pb2_grpc",
    "inference_pb2",
    "inference_pb2_grpc",
    "residency_pb2",
    "residency_pb2_grpc",
    "tenants_pb2",
    "tenants_pb2_grpc",
]
