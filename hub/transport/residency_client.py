"""Client calls of ResidencyService, over a HubClient's channel and credentials."""

from __future__ import annotations

from hub.api.v1 import residency_pb2, residency_pb2_grpc
from hub.transport.client import HubClient, parse_ref


class ResidencyClient:
    def __init__(self, client: HubClient) -> None:
        self.client = client
        self.stub = residency_pb2_grpc.ResidencyServiceStub(client.channel)

    def _call(self, name: str, adapter: str) -> residency_pb2.ResidencyResponse:
        request = residency_pb2.ResidencyRequest(adapter=parse_ref(adapter))
        return getattr(self.stub, name)(request, timeout=self.client.timeout, metadata=self.client.metadata)

    def load(self, adapter: str) -> residency_pb2.ResidencyResponse:
        return self._call("Load", adapter)

    def unload(self, adapter: str) -> residency_pb2.ResidencyResponse:
        return self._call("Unload", adapter)

    def pin(self, adapter: str) -> residency_pb2.ResidencyResponse:
        return self._call("Pin", adapter)

    def unpin(self, adapter: str) -> residency_pb2.ResidencyResponse:
        return self._call("Unpin", adapter)

    def status(self) -> residency_pb2.ResidencyStatusResponse:
        request = residency_pb2.ResidencyStatusRequest()
        return self.stub.Status(request, timeout=self.client.timeout, metadata=self.client.metadata)
