"""What every servicer shares: the service, the authenticator, and reading the caller."""

from __future__ import annotations

from collections.abc import Iterable

import grpc

from hub.observe.request_log import note_caller
from hub.observe.tracing import span
from hub.serving.auth import Authenticator, Caller
from hub.serving.service import HubService


def bearer_token(metadata: Iterable[tuple[str, str | bytes]]) -> str | None:
    """The credential of the last ``authorization: Bearer KEY`` header, or None."""
    token = None
    for key, value in metadata:
        if key == "authorization" and isinstance(value, str):
            scheme, _, credential = value.partition(" ")
            token = credential.strip() if scheme.lower() == "bearer" else None
    return token


class ServicerBase:
    def __init__(self, service: HubService, auth: Authenticator) -> None:
        self.service = service
        self.auth = auth

    def caller(self, context: grpc.ServicerContext) -> Caller:
        with span("authenticate"):
            caller = self.auth.authenticate(bearer_token(context.invocation_metadata()))
        note_caller(caller.tenant, caller.admin)
        return caller
