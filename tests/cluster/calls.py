"""A call as Ray Serve's gRPC proxy hands it to a replica, without Ray running.

``CallerContext`` implements the ``grpc.ServicerContext`` methods that Serve's own
``RayServegRPCContext`` reads when the proxy builds it, and records what Serve copies back onto
the call when the replica's method returns (``RayServegRPCContext._set_on_grpc_context``). The
``RayServegRPCContext`` the tests use is Serve's real one, built around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc
from ray.serve.grpc_util import RayServegRPCContext


class CallerContext:
    """The proxy's side of one call: what the client sent, and the status it gets back."""

    def __init__(self, metadata: Sequence[tuple[str, str]] = ()) -> None:
        self.metadata = list(metadata)
        self.sent_code: grpc.StatusCode | None = None
        self.sent_details: str | None = None
        self.sent_trailing: list[tuple[str, str]] = []

    # read by RayServegRPCContext.__init__
    def auth_context(self) -> dict[str, Any]:
        return {}

    def code(self) -> grpc.StatusCode | None:
        return None

    def details(self) -> str | None:
        return None

    def invocation_metadata(self) -> list[tuple[str, str]]:
        return self.metadata

    def peer(self) -> str:
        return "ipv4:127.0.0.1:40000"

    def peer_identities(self) -> None:
        return None

    def peer_identity_key(self) -> None:
        return None

    def trailing_metadata(self) -> list[tuple[str, str]]:
        return [("request_id", "req-1")]

    # what Serve sets on the real call once the replica answered
    def set_code(self, code: grpc.StatusCode) -> None:
        self.sent_code = code

    def set_details(self, details: str) -> None:
        self.sent_details = details

    def set_trailing_metadata(self, metadata: list[tuple[str, str]]) -> None:
        self.sent_trailing = list(metadata)

    def set_compression(self, compression: Any) -> None:
        pass


def serve_call(metadata: Sequence[tuple[str, str]] = ()) -> tuple[CallerContext, RayServegRPCContext]:
    """A caller and the RayServegRPCContext Serve's proxy would pass to the replica."""
    caller = CallerContext(metadata)
    return caller, RayServegRPCContext(caller)


def deliver(caller: CallerContext, serve_context: RayServegRPCContext) -> None:
    """What Serve does after the replica's method returned: copy its status onto the call."""
    serve_context._set_on_grpc_context(caller)  # type: ignore[arg-type]
