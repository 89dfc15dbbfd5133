"""The wire contract's generated code, as the server imports it.

protos/ is generated once, into the client distribution (clients/python, package
``adapter_hub_client.api.v1``; `make protos`); the server depends on that distribution and
re-exports the modules here so its code keeps importing ``hub.api.v1``.

The generated messages say they live in ``hub.api.v1.<name>_pb2`` (the protos' package), so each
module is also registered under that name: pickling a message (Ray Serve passes them between
its proxy and the replicas) looks its class up there.
"""

import sys

from adapter_hub_client.api.v1 import (
    adapters_pb2,
    adapters_pb2_grpc,
    admin_pb2,
    admin_pb2_grpc,
    common_pb2,
    common_pb2_grpc,
    domains_pb2,
    domains_pb2_grpc,
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
    "domains_pb2",
    "domains_pb2_grpc",
    "inference_pb2",
    "inference_pb2_grpc",
    "residency_pb2",
    "residency_pb2_grpc",
    "tenants_pb2",
    "tenants_pb2_grpc",
]

for _module in (adapters_pb2, admin_pb2, common_pb2, domains_pb2, inference_pb2, residency_pb2, tenants_pb2):
    sys.modules.setdefault(f"{__name__}.{_module.__name__.rpartition('.')[2]}", _module)
