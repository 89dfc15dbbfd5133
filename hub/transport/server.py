"""Start, serve and drain the asyncio gRPC server; health says SERVING only once the backbone is loaded."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import threading
import time
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
from hub.transport.adapter_servicer import AdapterServicer
from hub.transport.domain_servicer import DomainServicer
from hub.transport.frontend import FrontEnd
from hub.transport.observe import CallObserver
from hub.transport.residency_servicer import ResidencyServicer
from hub.transport.servicer import AdminServicer, InferenceServicer
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


def hub_servicers(front: FrontEnd) -> list[Any]:
    """One servicer per service of SERVICES, in that order: what the server serves, and
    what each replica of a Ray Serve cluster serves behind Serve's proxy (hub/cluster)."""
    return [
        InferenceServicer(front),
        AdapterServicer(front),
        AdminServicer(front),
        TenantServicer(front),
        ResidencyServicer(front),
        DomainServicer(front),
    ]


async def _settle() -> None:
    """Let the loop's other pending tasks (the health servicer's last changes) finish, briefly."""
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    if others:
        await asyncio.wait(others, timeout=1)


class _LoopHealth:
    """The aio HealthServicer as hub/transport/health.py's ``follow`` sets it: from any thread,
    each change scheduled on the server's loop (its ``set`` is a coroutine there)."""

    def __init__(self, servicer: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.servicer, self.loop = servicer, loop

    def set(self, name: str, status: int) -> None:
        if self.loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self.loop.create_task(self.servicer.set(name, status))
        else:
            asyncio.run_coroutine_threadsafe(self.servicer.set(name, status), self.loop)


class HubServer:
    """The asyncio gRPC server around one HubService, on an event loop of its own thread, so
    that starting, stopping and waiting stay plain calls for the CLI and the tests."""

    def __init__(self, service: HubService, auth: Authenticator, tracer_provider: Any = None) -> None:
        """``tracer_provider``: an OpenTelemetry TracerProvider for the calls' spans (None: off;
        ``hub.observe.tracing.build_tracer_provider`` makes one from OTEL_* variables)."""
        self.service = service
        self.front = FrontEnd(service, auth)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="hub-loop", daemon=True)
        self._thread.start()
        self.front.bind(self.loop)
        self.metrics: MetricsServer | None = None
        self._stopped = threading.Event()
        self._finished = threading.Event()
        try:
            self.port, self.certificates = self._on_loop(self._build(tracer_provider))
        except BaseException:
            self._close_loop()
            raise
        if self.port == 0:
            self._close_loop()
            raise OSError(f"cannot listen on {service.settings.address}")

    async def _build(self, tracer_provider: Any) -> tuple[int, Any]:
        settings = self.service.settings
        self.server = grpc.aio.server(
            interceptors=[CallObserver(self.service.telemetry, tracer_of(tracer_provider))],
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                *server_options(settings),
            ],
        )
        self.servicers = hub_servicers(self.front)
        for add, servicer in zip(ADD_SERVICERS, self.servicers, strict=True):
            add(servicer, self.server)
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection((*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), self.server)
        probes.follow(_LoopHealth(self.health, self.loop), self.service.health, SERVICE_NAMES)  # liveness, readiness
        return add_listener(self.server, settings)  # TLS, or plaintext where allowed

    def _on_loop(self, coroutine: Any, timeout: float | None = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def start(self, load_backbone: bool = True) -> None:
        """Listen now; load the backbone in the background and then report SERVING."""
        settings = self.service.settings
        if settings.metrics_port:
            self.metrics = self.service.telemetry.serve_http(settings.host, settings.metrics_port)
        # The engine thread gives the GIL up at every torch op and, while other threads run
        # Python (the event loop's refusals and answers), waited up to Python's 5 ms switch
        # interval to get it back each time. At 1 ms, under a flood on 2 cores (two A/B pairs),
        # batches were ~15% faster and a quiet tenant's p50 fell 7-35%.
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_S))
        self._on_loop(self.server.start())
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
        """Drain within ``grace`` seconds (shutdown_grace_s by default): readiness NOT_SERVING
        (liveness stays SERVING), new calls refused (UNAVAILABLE with a retry hint), open streams
        stop reading and end once their requests in flight are answered, admitted work finishes;
        at the grace whatever is still open is cancelled, and liveness goes NOT_SERVING too.
        Returns within the grace (plus a moment to close)."""
        if self._stopped.is_set():
            self._finished.wait()
            return
        self._stopped.set()
        self.service.health.draining()  # before anything else: probes and balancers look away
        grace = self.service.settings.shutdown_grace_s if grace is None else grace
        end = time.monotonic() + grace
        try:
            self._on_loop(self._begin_drain(), timeout=max(grace, 1.0))
            if not self.service.drain(grace):
                log.warning("shutdown grace of %.1f s passed with inference still queued: failing it", grace)
            self._on_loop(self.server.stop(max(end - time.monotonic(), 0.0)), timeout=grace + 5)
        finally:
            self.service.close(drain=False)  # anything left fails with UNAVAILABLE; release the worker
            self.service.health.stopped()
            self.front.close()  # first: its revocation watch is a task the settling below would wait for
            with contextlib.suppress(Exception):  # the health changes just scheduled reach the servicer
                self._on_loop(_settle(), timeout=2)
            if self.metrics is not None:
                self.metrics.stop()
            self._close_loop()
            self._finished.set()

    async def _begin_drain(self) -> None:
        self.front.limits.draining = True
        for servicer in self.servicers:
            if isinstance(servicer, InferenceServicer):
                servicer.stopping.set()

    def _close_loop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)

    def wait(self) -> None:
        self._finished.wait()

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
