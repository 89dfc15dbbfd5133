"""One hub per Ray Serve replica, behind Serve's gRPC proxy.

A replica is the whole single-process hub minus its listener: HubService (engine, residency
tiers, fair batcher) and the same servicers as hub/transport/server.py. Its Serve methods are
made from the protos' service descriptors, one per RPC of the five services, so every RPC works
through the proxy and a new RPC needs nothing here. Each method awaits its (asyncio) servicer on
the replica's event loop (hub/cluster/bridge.py), so concurrent calls meet in the fair queue and
share forwards across adapters and tenants. Every call is authenticated by the replica from its own
``authorization`` metadata; the routing key (``multiplexed_model_id``) only picks the replica.

Calls that put an adapter on this replica (``ROUTED``) register their routing key with Serve's
multiplexing, kept in step with the residency by hub/cluster/routes.py. Each replica reports
what it holds to the cluster directory (hub/cluster/directory.py) every second.

A replica is as observable as a single hub: every call goes through the server's own call
observer (hub/transport/observe.py: request id, metrics, span, one log line in the configured
format on the replica's stderr, which Ray sends to the driver's log); and the replica serves
/metrics, /livez and /readyz on a port of its own (``metrics_port``, or any free port when that
is 0 or taken by another replica on the node), reported in the directory so that `cluster status`
and the Prometheus target file name every replica. Readiness goes false when Serve begins to
stop the replica (``begin_drain``, hub/cluster/proxy.py), before its calls are drained.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping
from typing import Any

from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message_factory import GetMessageClass
from ray import serve

from hub.cluster.bridge import run_stream_out, run_unary
from hub.cluster.context import ServeCallContext
from hub.cluster.directory import REPORT_EVERY_S, directory
from hub.cluster.routes import ChainedObserver, Route, RouteBook
from hub.config.settings import Settings
from hub.config.settings_schema import ENV_PREFIX
from hub.observe.logs import configure_logging
from hub.observe.probes import ProbeServer
from hub.observe.tracing import build_tracer_provider, tracer_of
from hub.residency.residency import split_key
from hub.serving.app import build_authenticator, build_service
from hub.transport.frontend import FrontEnd
from hub.transport.observe import CallObserver
from hub.transport.server import SERVICES, hub_servicers

log = logging.getLogger("hub.cluster")

ROUTED = frozenset({"Predict", "Load", "Pin"})  # calls that leave their adapter on the replica


class ReplicaBase:
    """The replica's state; the RPC methods are added by ``replica_class``."""

    def __init__(self, environ: Mapping[str, str], namespace: str) -> None:
        settings = Settings.from_env(replica_environ(environ))
        configure_logging(settings.log_format, "INFO", route_native=settings.log_format == "json")
        self.service = build_service(settings)
        self.auth = build_authenticator(settings, self.service)
        self.service.load_backbone()
        self.front = FrontEnd(self.service, self.auth)
        self.tracer_provider = build_tracer_provider()  # OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set
        self.observer = CallObserver(self.service.telemetry, tracer_of(self.tracer_provider))
        self.metrics = serve_metrics(self.service, settings)
        self.methods: dict[str, Callable[..., Any]] = {}
        for descriptor, servicer in zip(SERVICES, hub_servicers(self.front), strict=True):
            for method in descriptor.methods:
                self.methods[method.name] = getattr(servicer, method.name)
        self.routes = RouteBook(self, self.service.cache)
        self.service.cache.observer = ChainedObserver(self.service.cache.observer, self.routes)
        self.replica_id = serve.get_replica_context().replica_id.unique_id
        self.directory = directory(namespace)
        self._stop = threading.Event()
        threading.Thread(target=self._report_loop, name="cluster-report", daemon=True).start()
        log.info("replica %s serving (pid %d)", self.replica_id, os.getpid())

    def context(self, serve_context: Any) -> ServeCallContext:
        if self.front.loop is None:  # the replica's loop: revocations from worker threads reach it
            self.front.bind(asyncio.get_running_loop())
        return ServeCallContext(serve_context)

    def scope(self, service: str, method: str) -> Callable[[ServeCallContext], Any]:
        """The call's observation, as the single-process server's interceptor makes it."""
        observer = self.observer
        return lambda context: observer.observe_call(service, method, tuple(context.invocation_metadata()), context)

    async def follow_route(self, method: str, context: ServeCallContext) -> None:
        """After a call that left its adapter here: tell Serve this replica holds its routing key."""
        key = serve.get_multiplexed_model_id()
        if key and method in ROUTED and not context.aborted:
            self.routes.loop = asyncio.get_running_loop()
            await self.route(key)  # type: ignore[attr-defined]

    # ---- reporting -----------------------------------------------------------------------
    def report(self) -> dict[str, Any]:
        cache = self.service.cache
        device = cache.device.stats()
        forwards, mixed = _forward_counts(self.service.telemetry.batch_adapters)
        return {
            "id": self.replica_id,
            "pid": os.getpid(),
            "node": socket.gethostname(),
            "metrics": self.metrics_address,
            "ready": self.service.health.ready,
            "resident": sorted(f"{name}@{version}" for _, name, version in map(split_key, cache.device.keys())),
            "loads": device.loads,
            "queued": self.service.batcher.queued,
            "routes": sorted(self.routes.serve_keys()),
            "forwards": forwards,
            "mixed_forwards": mixed,
            "hits": device.hits,
            "misses": device.misses,
        }

    def _report_loop(self) -> None:
        while not self._stop.wait(REPORT_EVERY_S):
            try:
                self.directory.report.remote(self.report())
            except Exception:
                log.warning("report to the cluster directory failed", exc_info=True)

    def check_health(self) -> None:
        """Serve's health probe: a replica whose backbone is not loaded is restarted."""
        if not self.service.ready:
            raise RuntimeError("backbone not loaded")

    @property
    def metrics_address(self) -> str:
        return f"{_reachable(self.service.settings.host)}:{self.metrics.port}"

    def begin_drain(self) -> None:
        """Serve began to stop this replica (it routes no new call here and waits for the ongoing
        ones): readiness false now, /readyz 503 and ``adapter_hub_ready`` 0 while they finish."""
        log.info("replica %s: draining", self.replica_id)
        self.service.health.draining()

    def __del__(self) -> None:
        """Serve's graceful stop: answer what was admitted, then leave the directory."""
        if getattr(self, "_stop", None) is None or self._stop.is_set():
            return
        self._stop.set()
        self.service.drain(self.service.settings.shutdown_grace_s)
        self.service.close(drain=False)
        self.front.close()
        self.metrics.stop()
        if self.tracer_provider is not None:
            self.tracer_provider.shutdown()  # flush the spans still batched
        try:
            self.directory.leave.remote(self.replica_id)
        except Exception:
            log.debug("leaving the cluster directory failed", exc_info=True)


def replica_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """A replica's settings: ``environ`` (the application's) over the ADAPTER_HUB_* variables of
    the replica's own process. Secrets (the admin key) reach the replicas of a real cluster this
    way, from the nodes' environment (a Kubernetes Secret), never through Serve's stored config."""
    inherited = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}
    return inherited | dict(environ)


def serve_metrics(service: Any, settings: Settings) -> ProbeServer:
    """/metrics, /livez, /readyz on ``metrics_port``; on any free port when that is 0, or taken
    (another replica on this node has it): the directory reports where each replica's is."""
    try:
        return service.telemetry.serve_http(settings.host, settings.metrics_port)
    except OSError:
        if not settings.metrics_port:
            raise
        log.warning("metrics port %d is taken on this node: using a free one", settings.metrics_port)
        return service.telemetry.serve_http(settings.host, 0)


def _reachable(host: str) -> str:
    """The address others scrape: the node's own for a wildcard listener."""
    if host in ("", "0.0.0.0", "::"):
        import ray

        host = ray.util.get_node_ip_address()
    return f"[{host}]" if ":" in host else host


def _forward_counts(histogram: Any) -> tuple[int, int]:
    """(forwards, forwards with more than one adapter) from the distinct-adapters histogram."""
    total = single = 0
    for metric in histogram.collect():
        for sample in metric.samples:
            if sample.name.endswith("_count"):
                total = int(sample.value)
            elif sample.name.endswith("_bucket") and sample.labels.get("le") == "1.0":
                single = int(sample.value)
    return total, total - single


def empty_response(method: str) -> Any:
    """The default reply of RPC ``method``: what a call that ended with a status returns."""
    for service in SERVICES:
        if method in service.methods_by_name:
            return GetMessageClass(service.methods_by_name[method].output_type)()
    raise KeyError(method)


def _serve_method(method: MethodDescriptor) -> Callable[..., Any]:
    """The Serve method for one RPC, by its streaming kind."""
    name = method.name  # the closures below capture names only: Ray pickles them
    service = method.containing_service.full_name

    if method.client_streaming and method.server_streaming:

        async def bidi(self: ReplicaBase, request: Any, grpc_context: Any) -> Any:
            context = self.context(grpc_context)
            async for answer in run_stream_out(self.methods[name], request, context, self.scope(service, name)):
                yield answer

        return bidi
    if method.client_streaming:

        async def stream_in(self: ReplicaBase, request: Any, grpc_context: Any) -> Any:
            context = self.context(grpc_context)
            scope = self.scope(service, name)
            return await run_unary(self.methods[name], request, context, empty_response(name), scope)

        return stream_in
    if method.server_streaming:

        async def stream_out(self: ReplicaBase, request: Any, grpc_context: Any) -> Any:
            context = self.context(grpc_context)
            async for answer in run_stream_out(self.methods[name], request, context, self.scope(service, name)):
                yield answer

        return stream_out

    async def unary(self: ReplicaBase, request: Any, grpc_context: Any) -> Any:
        context = self.context(grpc_context)
        answer = await run_unary(self.methods[name], request, context, empty_response(name), self.scope(service, name))
        await self.follow_route(name, context)
        return answer

    return unary


def replica_class(models_per_replica: int) -> type[ReplicaBase]:
    """The replica's class: a Serve method per RPC, and the multiplexed loader whose LRU holds
    ``models_per_replica`` routing keys (hub/cluster/routes.py keeps it in step with residency)."""

    @serve.multiplexed(max_num_models_per_replica=models_per_replica)
    async def route(self: ReplicaBase, key: str) -> Route:
        return Route(key, self.routes)

    methods: dict[str, Any] = {m.name: _serve_method(m) for s in SERVICES for m in s.methods}
    return type("HubReplica", (ReplicaBase,), {**methods, "route": route, "__module__": __name__})
