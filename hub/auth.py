"""Who is calling. Transport-free: the gRPC layer passes the bearer token it received."""

from __future__ import annotations

from typing import Protocol

from hub.service import Caller

LOCAL_TENANT = "local"


class Authenticator(Protocol):
    enabled: bool

    def authenticate(self, token: str | None) -> Caller: ...


class LocalAuthenticator:
    """Auth off: the embedded single-user default. Every call acts as the local tenant."""

    enabled = False

    def authenticate(self, token: str | None) -> Caller:
        return Caller(LOCAL_TENANT)
