"""ResidencyService: thin servicer over ResidencyAdmin (hub/serving/residency_admin.py); each
action may read the store or load an adapter, so it runs on the front end's worker pool."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub.api.v1 import residency_pb2, residency_pb2_grpc
from hub.serving.auth import Caller
from hub.serving.residency_admin import Done, ResidencyAdmin
from hub.transport import convert
from hub.transport.base import ServicerBase, unary
from hub.transport.frontend import FrontEnd

Action = Callable[[Caller, str, str], Done]


class ResidencyServicer(ServicerBase, residency_pb2_grpc.ResidencyServiceServicer):
    def __init__(self, front: FrontEnd) -> None:
        super().__init__(front)
        self.admin = ResidencyAdmin(front.service)

    async def _act(self, action: Action, request: residency_pb2.ResidencyRequest, caller: Caller):
        target = convert.target(request.adapter)  # after authentication: an unknown caller learns nothing
        return convert.residency_done(await self.front.blocking(caller.tenant, action, caller, target.name, target.ref))

    @unary()
    async def Load(self, request: residency_pb2.ResidencyRequest, context: Any, caller: Caller):
        return await self._act(self.admin.load, request, caller)

    @unary()
    async def Unload(self, request: residency_pb2.ResidencyRequest, context: Any, caller: Caller):
        return await self._act(self.admin.unload, request, caller)

    @unary()
    async def Pin(self, request: residency_pb2.ResidencyRequest, context: Any, caller: Caller):
        return await self._act(self.admin.pin, request, caller)

    @unary()
    async def Unpin(self, request: residency_pb2.ResidencyRequest, context: Any, caller: Caller):
        return await self._act(self.admin.unpin, request, caller)

    @unary()
    async def Status(self, request: residency_pb2.ResidencyStatusRequest, context: Any, caller: Caller):
        return convert.residency_status(await self.front.blocking(caller.tenant, self.admin.status, caller))
