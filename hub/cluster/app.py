"""The Ray Serve application: N hub replicas behind Serve's gRPC proxy.

``build_app`` makes it from a ``ClusterConfig`` (what `adapter-hub cluster up` does);
``app_builder`` makes it from a Serve config file's ``args`` (deploy/ray/serve.yaml). The
proxy's options (port, the hub's five services) come from ``grpc_options``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ray import serve
from ray.serve.config import gRPCOptions

from hub.cluster.replica import replica_class

APPLICATION = "adapter-hub"  # the `application` metadata the client sends
DEPLOYMENT = "hub"
SERVICER_FUNCTIONS = [
    f"adapter_hub_client.api.v1.{module}_pb2_grpc.add_{service}Servicer_to_server"
    for module, service in (
        ("inference", "InferenceService"),
        ("adapters", "AdapterService"),
        ("admin", "AdminService"),
        ("tenants", "TenantService"),
        ("residency", "ResidencyService"),
    )
]


@dataclass(frozen=True)
class ClusterConfig:
    """What a cluster runs. ``environ``: the hub's settings (ADAPTER_HUB_* names) every replica
    starts with; the store among them must be one every replica reaches (S3, a shared directory)."""

    replicas: int = 2
    port: int = 50051  # the gRPC proxy's
    host: str = "127.0.0.1"  # where the proxy listens (hub/cluster/proxy.py)
    environ: Mapping[str, str] = field(default_factory=dict)
    models_per_replica: int = 2048  # Serve's multiplex LRU (routing keys) per replica: see routes_for
    # Calls a replica takes at once. Large, so that calls wait in the replica's fair queue (per
    # tenant, weighted; its own bounds refuse with a retry hint), not first in, first out in
    # Serve's router: a flood of one tenant then cannot hold a quiet tenant's call behind it.
    max_ongoing_requests: int = 1024
    max_queued_requests: int = 256  # calls waiting for a replica beyond that: RESOURCE_EXHAUSTED
    replica_cpus: float = 1.0
    max_replicas: int = 0  # > replicas: autoscale between the two on ongoing requests
    target_ongoing_requests: int = 16
    application: str = APPLICATION

    @property
    def autoscaled(self) -> bool:
        return self.max_replicas > self.replicas

    def deployment_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "name": DEPLOYMENT,
            "max_ongoing_requests": self.max_ongoing_requests,
            "max_queued_requests": self.max_queued_requests,
            "ray_actor_options": {"num_cpus": self.replica_cpus},
            "graceful_shutdown_timeout_s": 30,
        }
        if self.autoscaled:
            options["autoscaling_config"] = {
                "min_replicas": self.replicas,
                "max_replicas": self.max_replicas,
                "target_ongoing_requests": self.target_ongoing_requests,
            }
        else:
            options["num_replicas"] = self.replicas
        return options

    def grpc_options(self) -> gRPCOptions:
        return gRPCOptions(port=self.port, grpc_servicer_functions=SERVICER_FUNCTIONS)


def build_app(config: ClusterConfig) -> Any:
    """The application to ``serve.run``: one deployment of hub replicas."""
    deployment = serve.deployment(**config.deployment_options())(replica_class(config.models_per_replica))
    return deployment.bind(dict(config.environ), config.application)


def app_builder(args: dict[str, Any]) -> Any:
    """For a Serve config file: ``args`` may set ``environ`` (the hub's settings by ADAPTER_HUB_*
    name) and ``models_per_replica``; replicas, autoscaling and queue bounds are the config's
    ``deployments`` entry for ``hub``."""
    environ = {str(k): str(v) for k, v in (args.get("environ") or {}).items()}
    models = int(args.get("models_per_replica", ClusterConfig.models_per_replica))
    return serve.deployment(name=DEPLOYMENT)(replica_class(models)).bind(
        environ, str(args.get("application", APPLICATION))
    )
