"""Thin asyncio servicers for inference and admin: read the caller, await the front end
(hub/transport/frontend.py), convert the answer (hub/transport/convert.py).

Errors are raised, never handled here: ``unary`` / ``streaming`` (hub/transport/base.py) map
them through the one status table.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from hub.api.v1 import admin_pb2, admin_pb2_grpc, inference_pb2, inference_pb2_grpc
from hub.serving.auth import Caller
from hub.transport import convert, headroom
from hub.transport.base import ServicerBase, streaming, unary
from hub.transport.deadlines import call_scope, request_scope
from hub.transport.frontend import Flow, FrontEnd
from hub.transport.observe import stream_request
from hub.transport.stream import answer_stream


class InferenceServicer(ServicerBase, inference_pb2_grpc.InferenceServiceServicer):
    def __init__(self, front: FrontEnd) -> None:
        super().__init__(front)
        self.stopping = asyncio.Event()  # set at shutdown: streams stop reading (hub/transport/server.py)

    @unary()
    async def Predict(self, request: inference_pb2.PredictRequest, context: Any, caller: Caller):
        target = convert.target(request.adapter, request.task)
        with headroom.reported(context, self.service, caller):
            served = await self.front.predict(caller, target, list(request.texts), call_scope(context))
        return convert.predict_response(served)

    @streaming
    async def PredictStream(
        self, requests: AsyncIterator[inference_pb2.PredictStreamRequest], context: Any, caller: Caller
    ) -> AsyncIterator[inference_pb2.PredictStreamResponse]:
        scope = call_scope(context)

        async def run_one(item: inference_pb2.PredictStreamRequest, flow: Flow) -> inference_pb2.PredictResponse:
            request, own = item.request, request_scope(scope, item)
            try:
                with stream_request(self.service.telemetry, item.request_id):
                    target = convert.target(request.adapter, request.task)
                    served = await self.front.predict(caller, target, list(request.texts), own, flow)
                    return convert.predict_response(served)
            finally:
                own.release()

        settings = self.service.settings
        per_answer = getattr(context, "trailers_per_message", False)  # a cluster replica's (hub/cluster/context.py)
        with headroom.reported(context, self.service, caller):  # the tenant's headroom as the stream ends
            async for answer in answer_stream(
                requests, run_one, settings.max_batch_size, settings.stream_idle_timeout_s, self.stopping
            ):
                if per_answer:
                    headroom.attach(context, self.service, caller)
                yield answer

    @unary()
    async def FanOut(self, request: inference_pb2.FanOutRequest, context: Any, caller: Caller):
        targets = [convert.target(t.adapter, t.task) for t in request.targets]
        with headroom.reported(context, self.service, caller):
            served = await self.front.fan_out(caller, request.text, targets, call_scope(context))
        return convert.fanout_response(served)


class AdminServicer(ServicerBase, admin_pb2_grpc.AdminServiceServicer):
    @unary()
    async def ServerInfo(self, request: admin_pb2.ServerInfoRequest, context: Any, caller: Caller):
        info = await self.front.blocking(caller.tenant, self.service.server_info, caller)
        return convert.server_info(info, auth_enabled=self.auth.enabled)

    @unary()
    async def ListTasks(self, request: admin_pb2.ListTasksRequest, context: Any, caller: Caller):
        return convert.list_tasks_response(self.service.list_tasks())

    @unary()
    async def QueueStatus(self, request: admin_pb2.QueueStatusRequest, context: Any, caller: Caller):
        return convert.queue_status(self.service.queue_status(caller))

    @unary()
    async def CollectGarbage(self, request: admin_pb2.CollectGarbageRequest, context: Any, caller: Caller):
        report = await self.front.blocking(caller.tenant, self.service.collect_garbage, caller, request.dry_run)
        return convert.gc_response(report)

    @unary()
    async def VerifyStore(self, request: admin_pb2.VerifyStoreRequest, context: Any, caller: Caller):
        report = await self.front.blocking(caller.tenant, self.service.verify_store, caller, request.quarantine)
        return convert.verify_response(report)

    @unary()
    async def ListPlugins(self, request: admin_pb2.ListPluginsRequest, context: Any, caller: Caller):
        return convert.list_plugins_response(self.service.list_plugins(), self.service.list_tasks())
