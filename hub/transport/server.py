"""Start, serve and drain the gRPC server; health says SERVING only once the backbone is loaded."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from concurrent import futures
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from hub.api.v1 import (
    adapters_pb2,
    adapters_pb2_grpc,
    admin_pb2,
    admin_pb2_grpc,
    domains_pb2,
    domains_pb2_grpc,
    inference_pb2,
    inference_pb2_grpc,
    residency_pb2,
    residency_pb2_grpc,
    tenants_pb2,
    tenants_pb2_grpc,
)
from hub.observe.telemetry import MetricsServer
from hub.observe.tracing import tracer_of
from hub.serving.auth import Authenticator
from hub.serving.service import HubService
from hub.transport import health as probes
from hub.transport.domain_servicer import DomainServicer
from hub.transport.observe import CallObserver
from hub.transport.residency_servicer import ResidencyServicer
from hub.transport.servicer import AdapterServicer, AdminServicer, InferenceServicer
from hub.transport.tenant_servicer import TenantServicer
from hub.transport.tls import add_listener, server_options

log = logging.getLogger("hub.server")

SERVICES = (  # the hub's six gRPC services: their descriptors list every RPC
    inference_pb2.DESCRIPTOR.services_by_name["InferenceService"],
    adapters_pb2.DESCRIPTOR.services_by_name["AdapterService"],
    admin_pb2.DESCRIPTOR.services_by_name["AdminService"],
    tenants_pb2.DESCRIPTOR.services_by_name["TenantService"],
    residency_pb2.DESCRIPTOR.services_by_name["ResidencyService"],
    domains_pb2.DESCRIPTOR.services_by_name["DomainService"],
)
SERVICE_NAMES = tuple(s.full_name for s in SERVICES)
ADD_SERVICERS = (
    inference_pb2_grpc.add_InferenceServiceServicer_to_server,
    adapters_pb2_grpc.add_AdapterServiceServicer_to_server,
    admin_pb2_grpc.add_AdminServiceServicer_to_server,
    tenants_pb2_grpc.add_TenantServiceServicer_to_server,
    residency_pb2_grpc.add_ResidencyServiceServicer_to_server,
    domains_pb2_grpc.add_DomainServiceServicer_to_server,
)
GIL_SWITCH_S = 0.001
MAX_MESSAGE_BYTES = 8 << 20  # upload chunks are 1 MiB; responses for 256 texts fit easily


def hub_servicers(service: HubService, auth: Authenticator) -> list[Any]:
    """One servicer per service of SERVICES, in that order: what the server serves, and
    what each replica of a Ray Serve cluster serves behind Serve's proxy (hub/cluster)."""
    return [
        InferenceServicer(service, auth),
        AdapterServicer(service, auth),
        AdminServicer(service, auth),
        TenantServicer(service, auth),
        ResidencyServicer(service, auth),
        DomainServicer(service, auth),
    ]


class HubServer:
    """The gRPC server around one HubService."""

    def __init__(self, service: HubService, auth: Authenticator, tracer_provider: Any = None) -> None:
        """``tracer_provider``: an OpenTelemetry TracerProvider for the calls' spans (None: off;
        ``hub.observe.tracing.build_tracer_provider`` makes one from OTEL_* variables)."""
        self.service = service
        settings = service.settings
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=settings.max_workers, thread_name_prefix="rpc"),
            interceptors=[CallObserver(service.telemetry, tracer_of(tracer_provider))],
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                *server_options(settings),
            ],
        )
        for add, servicer in zip(ADD_SERVICERS, hub_servicers(service, auth), strict=True):
            add(servicer, self.server)
        self.health = health.HealthServicer(experimental_non_blocking=True)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection((*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), self.server)
        probes.follow(self.health, service.health, SERVICE_NAMES)  # liveness, readiness (hub/transport/health.py)
        self.port, self.certificates = add_listener(self.server, settings)  # TLS, or plaintext where allowed
        if self.port == 0:
            raise OSError(f"cannot listen on {settings.address}")
        self.metrics: MetricsServer | None = None

    def start(self, load_backbone: bool = True) -> None:
        """Listen now; load the backbone in the background and then report SERVING."""
        settings = self.service.settings
        if settings.metrics_port:
            self.metrics = self.service.telemetry.serve_http(settings.host, settings.metrics_port)
        # The engine thread gives the GIL up at every torch op and, while request threads run
        # Python (refusals, answers), waited up to Python's 5 ms switch interval to get it back
        # each time. At 1 ms, under a flood on 2 cores (two A/B pairs), batches were ~15% faster
        # and a quiet tenant's p50 fell 7-35%.
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_S))
        self.server.start()
        log.info("listening on %s:%d (%s)", settings.host, self.port, "TLS" if self.certificates else "plaintext")
        if not self.service.ready and load_backbone:
            self.load_in_background()

    def load_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self._load, name="backbone-loader", daemon=True)
        thread.start()
        return thread

    def _load(self) -> None:
        try:
            self.service.load_backbone()
        except Exception:
            log.exception("loading the backbone failed; the server stays NOT_SERVING (liveness too)")
            self.service.health.failed()
            return
        log.info("backbone loaded: SERVING")

    def stop(self, grace: float | None = None) -> None:
        """Drain: readiness NOT_SERVING (liveness stays SERVING), inference admits nothing new
        (UNAVAILABLE, with a retry hint), what was admitted finishes (within ``grace`` seconds,
        shutdown_grace_s by default); then the server stops, giving calls still being answered
        the time left, and liveness goes NOT_SERVING too."""
        self.service.health.draining()  # before anything else: probes and balancers look away
        grace = self.service.settings.shutdown_grace_s if grace is None else grace
        end = time.monotonic() + grace
        if not self.service.drain(grace):
            log.warning("shutdown grace of %.1f s passed with inference still queued: failing it", grace)
        self.server.stop(max(end - time.monotonic(), 0.5)).wait()
        self.service.close(drain=False)  # anything left fails with UNAVAILABLE; release the worker
        self.service.health.stopped()
        self.health.enter_graceful_shutdown()
        if self.metrics is not None:
            self.metrics.stop()

    def wait(self) -> None:
        self.server.wait_for_termination()

    def reload(self) -> None:
        """SIGHUP: every known tenant's limits re-read from the store now (not within the
        policy TTL) and the TLS certificate files re-read (changed or not)."""
        tenants = self.service.policies.reload()
        tls = "" if self.certificates is None else ("; TLS certificate re-read" if self.certificates.reload() else "")
        log.info("reloaded on SIGHUP: limits of %d tenant(s) re-read%s", tenants, tls)

    def stop_on_signals(self) -> None:
        """SIGTERM, SIGINT: drain and stop. SIGHUP: ``reload``."""

        def handler(signum: int, _frame: object) -> None:
            log.info("signal %d: draining in-flight calls", signum)
            threading.Thread(target=self.stop, name="shutdown").start()

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, handler)
        signal.signal(signal.SIGHUP, lambda _s, _f: threading.Thread(target=self.reload, name="reload").start())
