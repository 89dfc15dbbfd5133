"""Thin gRPC servicers: read the caller, call HubService, convert the answer (hub/transport/convert.py).

Errors are raised, never handled here: ``guarded`` maps them through the one status table.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from hub.api.v1 import (
    adapters_pb2,
    adapters_pb2_grpc,
    admin_pb2,
    admin_pb2_grpc,
    inference_pb2,
    inference_pb2_grpc,
)
from hub.serving.upload import UploadAssembler
from hub.transport import convert, headroom
from hub.transport.base import ServicerBase
from hub.transport.deadlines import call_scope, request_scope
from hub.transport.observe import in_this_context, stream_request
from hub.transport.status import abort, guarded
from hub.transport.stream import answer_stream


class InferenceServicer(ServicerBase, inference_pb2_grpc.InferenceServiceServicer):
    @guarded
    def Predict(self, request: inference_pb2.PredictRequest, context: grpc.ServicerContext):
        caller = self.caller(context)
        target = convert.target(request.adapter, request.task)
        with headroom.reported(context, self.service, caller):
            served = self.service.predict(caller, target, list(request.texts), call_scope(context))
        return convert.predict_response(served)

    def PredictStream(self, requests: Iterator[inference_pb2.PredictStreamRequest], context: grpc.ServicerContext):
        try:
            caller = self.caller(context)
        except Exception as exc:  # noqa: BLE001 - reported as the call's status
            abort(context, exc)

        scope = call_scope(context)

        @in_this_context  # each request on the stream's pool: a child of this call's record and span
        def run_one(item: inference_pb2.PredictStreamRequest) -> inference_pb2.PredictResponse:
            request, own = item.request, request_scope(scope, item)
            try:
                with stream_request(self.service.telemetry, item.request_id):
                    target = convert.target(request.adapter, request.task)
                    return convert.predict_response(self.service.predict(caller, target, list(request.texts), own))
            finally:
                own.release()

        yield from answer_stream(requests, run_one, context, self.service.settings.max_batch_size)

    @guarded
    def FanOut(self, request: inference_pb2.FanOutRequest, context: grpc.ServicerContext):
        caller = self.caller(context)
        targets = [convert.target(t.adapter, t.task) for t in request.targets]
        with headroom.reported(context, self.service, caller):
            served = self.service.fan_out(caller, request.text, targets, call_scope(context))
        return convert.fanout_response(served)


class AdapterServicer(ServicerBase, adapters_pb2_grpc.AdapterServiceServicer):
    def UploadAdapter(
        self,
        request_iterator: Iterator[adapters_pb2.UploadAdapterRequest],
        context: grpc.ServicerContext,
    ) -> adapters_pb2.UploadAdapterResponse:
        try:
            caller = self.caller(context)
            assembler = UploadAssembler(max_bytes=self.service.settings.max_upload_bytes)
            for part in request_iterator:
                if part.HasField("header"):
                    assembler.add_header(convert.upload_header(part.header))
                else:
                    assembler.add_chunk(part.chunk.path, part.chunk.data)
            header, files = assembler.finish()
            return convert.upload_response(self.service.upload(caller, header, files))
        except Exception as exc:  # noqa: BLE001 - reported, not swallowed
            abort(context, exc)

    @guarded
    def ListAdapters(self, request: adapters_pb2.ListAdaptersRequest, context: grpc.ServicerContext):
        return convert.list_adapters_response(self.service.list_adapters(self.caller(context), request.domain))

    @guarded
    def GetAdapter(self, request: adapters_pb2.GetAdapterRequest, context: grpc.ServicerContext):
        caller = self.caller(context)  # first: a caller without a valid key learns nothing
        target = convert.target(request.adapter)
        record, aliases = self.service.get_adapter(caller, target.name, target.ref)
        return convert.version_info(record, aliases)

    def DownloadAdapter(self, request: adapters_pb2.GetAdapterRequest, context: grpc.ServicerContext):
        try:
            target = convert.target(request.adapter)
            files = self.service.adapter_files(self.caller(context), target.name, target.ref)
        except Exception as exc:  # noqa: BLE001 - reported, not swallowed
            abort(context, exc)
        yield from convert.file_chunks(files)

    @guarded
    def DeleteAdapter(self, request: adapters_pb2.DeleteAdapterRequest, context: grpc.ServicerContext):
        caller = self.caller(context)
        target = convert.target(request.adapter)
        return convert.delete_response(self.service.delete_adapter(caller, target.name, target.ref))

    @guarded
    def SetAlias(self, request: adapters_pb2.SetAliasRequest, context: grpc.ServicerContext):
        caller = self.caller(context)
        name, ref, alias = convert.alias_request(request)
        previous, version = self.service.set_alias(caller, name, ref, alias)
        return convert.alias_response(name, alias, previous, version)


class AdminServicer(ServicerBase, admin_pb2_grpc.AdminServiceServicer):
    @guarded
    def ServerInfo(self, request: admin_pb2.ServerInfoRequest, context: grpc.ServicerContext):
        info = self.service.server_info(self.caller(context))
        return convert.server_info(info, auth_enabled=self.auth.enabled)

    @guarded
    def ListTasks(self, request: admin_pb2.ListTasksRequest, context: grpc.ServicerContext):
        self.caller(context)
        return convert.list_tasks_response(self.service.list_tasks())

    @guarded
    def QueueStatus(self, request: admin_pb2.QueueStatusRequest, context: grpc.ServicerContext):
        return convert.queue_status(self.service.queue_status(self.caller(context)))

    @guarded
    def ListPlugins(self, request: admin_pb2.ListPluginsRequest, context: grpc.ServicerContext):
        self.caller(context)
        return convert.list_plugins_response(self.service.list_plugins(), self.service.list_tasks())
