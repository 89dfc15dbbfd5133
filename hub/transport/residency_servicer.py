"""ResidencyService: thin servicer over ResidencyAdmin (hub/serving/residency_admin.py)."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from hub.api.v1 import residency_pb2, residency_pb2_grpc
from hub.serving.auth import Authenticator, Caller
from hub.serving.residency_admin import Done, ResidencyAdmin
from hub.serving.service import HubService
from hub.transport import convert
from hub.transport.base import ServicerBase
from hub.transport.status import guarded

Action = Callable[[Caller, str, str], Done]


class ResidencyServicer(ServicerBase, residency_pb2_grpc.ResidencyServiceServicer):
    def __init__(self, service: HubService, auth: Authenticator) -> None:
        super().__init__(service, auth)
        self.admin = ResidencyAdmin(service)

    def _act(self, action: Action, request: residency_pb2.ResidencyRequest, context: grpc.ServicerContext):
        caller = self.caller(context)  # first: an unknown caller learns nothing about the request
        target = convert.target(request.adapter)
        return convert.residency_done(action(caller, target.name, target.ref))

    @guarded
    def Load(self, request: residency_pb2.ResidencyRequest, context: grpc.ServicerContext):
        return self._act(self.admin.load, request, context)

    @guarded
    def Unload(self, request: residency_pb2.ResidencyRequest, context: grpc.ServicerContext):
        return self._act(self.admin.unload, request, context)

    @guarded
    def Pin(self, request: residency_pb2.ResidencyRequest, context: grpc.ServicerContext):
        return self._act(self.admin.pin, request, context)

    @guarded
    def Unpin(self, request: residency_pb2.ResidencyRequest, context: grpc.ServicerContext):
        return self._act(self.admin.unpin, request, context)

    @guarded
    def Status(self, request: residency_pb2.ResidencyStatusRequest, context: grpc.ServicerContext):
        return convert.residency_status(self.admin.status(self.caller(context)))
