"""Thin gRPC servicers: unpack the request, call HubService, pack the answer."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from hub import __version__
from hub.api.v1 import (
    adapters_pb2,
    adapters_pb2_grpc,
    admin_pb2,
    admin_pb2_grpc,
    inference_pb2,
    inference_pb2_grpc,
)
from hub.errors import InvalidArgument
from hub.serving.auth import Authenticator, Caller
from hub.serving.service import HubService, Target
from hub.serving.upload import UploadAssembler, UploadHeader
from hub.transport import convert
from hub.transport.deadlines import call_scope, request_scope
from hub.transport.status import abort, guarded
from hub.transport.stream import answer_stream


class _Base:
    def __init__(self, service: HubService, auth: Authenticator) -> None:
        self.service = service
        self.auth = auth

    def caller(self, context: grpc.ServicerContext) -> Caller:
        token = None
        for key, value in context.invocation_metadata():
            if key == "authorization" and isinstance(value, str):
                scheme, _, credential = value.partition(" ")
                token = credential.strip() if scheme.lower() == "bearer" else None
        return self.auth.authenticate(token)


def _target(ref: object, task: str) -> Target:
    name = getattr(ref, "name", "")
    if not name:
        raise InvalidArgument("adapter.name is required")
    return Target(name, getattr(ref, "version", ""), task)


class InferenceServicer(_Base, inference_pb2_grpc.InferenceServiceServicer):
    @guarded
    def Predict(self, request: inference_pb2.PredictRequest, context: grpc.ServicerContext):
        caller = self.caller(context)
        target = _target(request.adapter, request.task)
        served = self.service.predict(caller, target, list(request.texts), call_scope(context))
        return convert.predict_response(served)

    def PredictStream(self, requests: Iterator[inference_pb2.PredictStreamRequest], context: grpc.ServicerContext):
        try:
            caller = self.caller(context)
        except Exception as exc:  # noqa: BLE001 - reported as the call's status
            abort(context, exc)

        scope = call_scope(context)

        def run_one(item: inference_pb2.PredictStreamRequest) -> inference_pb2.PredictResponse:
            request, own = item.request, request_scope(scope, item)
            try:
                target = _target(request.adapter, request.task)
                return convert.predict_response(self.service.predict(caller, target, list(request.texts), own))
            finally:
                own.release()

        yield from answer_stream(requests, run_one, context, self.service.settings.max_batch_size)

    @guarded
    def FanOut(self, request: inference_pb2.FanOutRequest, context: grpc.ServicerContext):
        caller = self.caller(context)
        targets = [_target(t.adapter, t.task) for t in request.targets]
        served = self.service.fan_out(caller, request.text, targets, call_scope(context))
        return inference_pb2.FanOutResponse(results=[convert.fanout_result(s) for s in served])


class AdapterServicer(_Base, adapters_pb2_grpc.AdapterServiceServicer):
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
                    h = part.header
                    assembler.add_header(UploadHeader(h.name, h.task, tuple(h.labels), h.description))
                else:
                    assembler.add_chunk(part.chunk.path, part.chunk.data)
            header, files = assembler.finish()
            record = self.service.upload(caller, header, files)
            return adapters_pb2.UploadAdapterResponse(adapter=convert.version_info(record, ["latest"]))
        except Exception as exc:  # noqa: BLE001 - reported, not swallowed
            abort(context, exc)

    @guarded
    def ListAdapters(self, request: adapters_pb2.ListAdaptersRequest, context: grpc.ServicerContext):
        listings = self.service.list_adapters(self.caller(context))
        return adapters_pb2.ListAdaptersResponse(adapters=[convert.adapter_summary(x) for x in listings])

    @guarded
    def GetAdapter(self, request: adapters_pb2.GetAdapterRequest, context: grpc.ServicerContext):
        target = _target(request.adapter, "")
        record, aliases = self.service.get_adapter(self.caller(context), target.name, target.ref)
        return convert.version_info(record, aliases)

    @guarded
    def DeleteAdapter(self, request: adapters_pb2.DeleteAdapterRequest, context: grpc.ServicerContext):
        target = _target(request.adapter, "")
        deleted = self.service.delete_adapter(self.caller(context), target.name, target.ref)
        return adapters_pb2.DeleteAdapterResponse(deleted_versions=[str(v) for v in deleted])

    @guarded
    def SetAlias(self, request: adapters_pb2.SetAliasRequest, context: grpc.ServicerContext):
        caller = self.caller(context)
        previous, version = self.service.set_alias(caller, request.name, request.version, request.alias)
        return adapters_pb2.SetAliasResponse(
            name=request.name,
            alias=request.alias,
            version=str(version),
            previous_version="" if previous is None else str(previous),
        )


class AdminServicer(_Base, admin_pb2_grpc.AdminServiceServicer):
    @guarded
    def ServerInfo(self, request: admin_pb2.ServerInfoRequest, context: grpc.ServicerContext):
        self.caller(context)
        info = self.service.server_info()
        s = self.service.settings
        versions = {k: str(info[k]) for k in ("torch", "transformers", "peft", "python")}
        versions |= {"hub": __version__, "grpcio": grpc.__version__}
        return admin_pb2.ServerInfoResponse(
            backbone_name=str(info["backbone_name"]),
            backbone_fingerprint=str(info["fingerprint"]),
            device=str(info["device"]),
            dtype=str(info["dtype"]),
            backbone_parameters=int(info["parameters"]),
            hidden_size=int(info["hidden_size"]),
            versions=versions,
            limits=admin_pb2.Limits(
                max_texts_per_request=s.max_texts_per_request,
                max_text_chars=s.max_text_chars,
                max_tokens_per_text=s.max_tokens_per_text,
                max_fanout_targets=s.max_fanout_targets,
                max_upload_bytes=s.max_upload_bytes,
            ),
            store=self.service.registry.store.uri,
            auth_enabled=self.auth.enabled,
        )

    @guarded
    def ListTasks(self, request: admin_pb2.ListTasksRequest, context: grpc.ServicerContext):
        self.caller(context)
        return admin_pb2.ListTasksResponse(tasks=[convert.task_info(t) for t in self.service.list_tasks()])

    @guarded
    def QueueStatus(self, request: admin_pb2.QueueStatusRequest, context: grpc.ServicerContext):
        return convert.queue_status(self.service.queue_status(self.caller(context)))

    @guarded
    def ListPlugins(self, request: admin_pb2.ListPluginsRequest, context: grpc.ServicerContext):
        self.caller(context)
        return admin_pb2.ListPluginsResponse(
            plugins=[convert.plugin_info(p) for p in self.service.list_plugins()],
            tasks=[convert.task_info(t) for t in self.service.list_tasks()],
        )
