"""ResidencyService: thin servicer over ResidencyAdmin (hub/residency/admin.py)."""

from __future__ import annotations

import grpc

from hub.api.v1 import residency_pb2, residency_pb2_grpc
from hub.errors import InvalidArgument
from hub.residency.residency import Resident
from hub.serving.auth import Authenticator
from hub.serving.residency_admin import Done, ResidencyAdmin
from hub.serving.service import HubService
from hub.transport.servicer import _Base
from hub.transport.status import guarded


def resident_pb(r: Resident) -> residency_pb2.ResidentAdapter:
    return residency_pb2.ResidentAdapter(
        name=r.name,
        version=str(r.version),
        tiers=list(r.tiers),
        pinned=r.pinned,
        device_bytes=r.device_bytes,
        file_bytes=r.file_bytes,
    )


def _done(done: Done) -> residency_pb2.ResidencyResponse:
    return residency_pb2.ResidencyResponse(adapter=resident_pb(done.adapter), elapsed_ms=done.elapsed_ms)


def _ref(request: residency_pb2.ResidencyRequest) -> tuple[str, str]:
    if not request.adapter.name:
        raise InvalidArgument("adapter.name is required")
    return request.adapter.name, request.adapter.version


class ResidencyServicer(_Base, residency_pb2_grpc.ResidencyServiceServicer):
    def __init__(self, service: HubService, auth: Authenticator) -> None:
        super().__init__(service, auth)
        self.admin = ResidencyAdmin(service)

    @guarded
    def Load(self, request: residency_pb2.ResidencyRequest, context: grpc.ServicerContext):
        return _done(self.admin.load(self.caller(context), *_ref(request)))

    @guarded
    def Unload(self, request: residency_pb2.ResidencyRequest, context: grpc.ServicerContext):
        return _done(self.admin.unload(self.caller(context), *_ref(request)))

    @guarded
    def Pin(self, request: residency_pb2.ResidencyRequest, context: grpc.ServicerContext):
        return _done(self.admin.pin(self.caller(context), *_ref(request)))

    @guarded
    def Unpin(self, request: residency_pb2.ResidencyRequest, context: grpc.ServicerContext):
        return _done(self.admin.unpin(self.caller(context), *_ref(request)))

    @guarded
    def Status(self, request: residency_pb2.ResidencyStatusRequest, context: grpc.ServicerContext):
        status = self.admin.status(self.caller(context))
        store = status.store
        return residency_pb2.ResidencyStatusResponse(
            tiers=[
                residency_pb2.TierStatus(
                    name=t.name,
                    count=t.count,
                    bytes=t.bytes,
                    budget_bytes=t.budget,
                    pinned=t.pinned,
                    pinned_bytes=t.pinned_bytes,
                    hits=t.hits,
                    misses=t.misses,
                    evictions=t.evictions,
                    loads=t.loads,
                    load_p50_ms=t.load_p50_ms,
                    load_p99_ms=t.load_p99_ms,
                )
                for t in status.tiers
            ],
            store=residency_pb2.StoreHealth(
                breaker=store.state,
                consecutive_failures=store.consecutive_failures,
                retry_in_s=store.retry_in_s,
                failures=store.failures,
                rejected=store.rejected,
                last_error=store.last_error,
            )
            if store is not None
            else None,
            adapters=[resident_pb(a) for a in status.adapters],
            draining=status.draining,
            alias_ttl_s=status.alias_ttl_s,
            stale_served=status.stale_served,
        )
