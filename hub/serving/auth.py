"""Who is calling. Transport-free: the gRPC layer passes the bearer token it received."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Protocol

from adapters_registry.tenants import TenantDirectory
from hub.errors import FailedPrecondition, PermissionDenied, Unauthenticated

LOCAL_TENANT = "local"


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: a tenant (whose namespace scopes every name), the operator, or both."""

    tenant: str
    admin: bool = False
    keyed: bool = True  # False: auth is off, nothing was checked (the local tenant and operator)

    def check_keys_are_checked(self) -> None:
        """Before making an API key: a key from a hub that checks none would protect nothing."""
        if not self.keyed:
            raise FailedPrecondition(
                "auth is off on this hub, so API keys would not be checked: start it with an admin key "
                "(ADAPTER_HUB_ADMIN_KEY, which turns auth on) before creating tenants"
            )

    def namespace(self) -> str:
        if not self.tenant:
            raise PermissionDenied("the admin key has no adapters of its own: use a tenant's API key")
        return self.tenant


class Authenticator(Protocol):
    enabled: bool

    def authenticate(self, token: str | None) -> Caller: ...

    def authenticate_cached(self, token: str | None) -> Caller | None:
        """The caller from memory alone, or None when finding it needs a store read."""
        ...


class LocalAuthenticator:
    """Auth off: the embedded single-user default. Every call is the local tenant (and operator)."""

    enabled = False

    def authenticate(self, token: str | None) -> Caller:
        return Caller(LOCAL_TENANT, admin=True, keyed=False)

    def authenticate_cached(self, token: str | None) -> Caller | None:
        return self.authenticate(token)


class KeyAuthenticator:
    """API keys: the operator's admin key from settings, tenant keys from the TenantDirectory."""

    enabled = True

    def __init__(self, tenants: TenantDirectory, admin_key: str) -> None:
        self.tenants = tenants
        self.admin_key = admin_key

    def authenticate(self, token: str | None) -> Caller:
        return self._operator(token) or Caller(self.tenants.authenticate(str(token)))

    def authenticate_cached(self, token: str | None) -> Caller | None:
        caller = self._operator(token)
        if caller is not None:
            return caller
        tenant = self.tenants.authenticate_cached(str(token))
        return Caller(tenant) if tenant is not None else None

    def _operator(self, token: str | None) -> Caller | None:
        """The operator's caller for the admin key; None for any other token."""
        if not token:
            raise Unauthenticated("missing credentials: send 'authorization: Bearer <api key>'")
        if self.admin_key and hmac.compare_digest(token.encode(), self.admin_key.encode()):
            return Caller(tenant="", admin=True)
        return None
