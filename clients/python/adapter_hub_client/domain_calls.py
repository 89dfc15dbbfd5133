"""The domain calls of both clients (DOMAIN:NAME references, who may read a domain, downloads):
mixins over ``run``, which each client defines."""

from __future__ import annotations

from typing import TypeVar

from adapter_hub_client import calls
from adapter_hub_client import types as t
from adapter_hub_client.calls import Meta

T = TypeVar("T")


class DomainCalls:
    def run(
        self, call: calls.Call[T], timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> T:
        raise NotImplementedError

    def download_adapter(
        self, adapter: str, *, timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> dict[str, bytes]:
        """Every file of ``name[@version]`` or ``DOMAIN:NAME[@VERSION]``: path -> bytes."""
        return self.run(calls.download_adapter(adapter), timeout, retries, metadata)

    def grant_domain(
        self,
        domain: str,
        tenant: str = "",
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> t.DomainAccess:
        """Operator: ``tenant`` may read ``domain`` (no tenant: every tenant may)."""
        return self.run(calls.grant_domain(domain, tenant), timeout, retries, metadata)

    def revoke_domain(
        self,
        domain: str,
        tenant: str = "",
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> t.DomainAccess:
        """Operator: ``tenant`` may no longer read ``domain`` (no tenant: nobody may)."""
        return self.run(calls.revoke_domain(domain, tenant), timeout, retries, metadata)

    def list_domains(
        self, *, timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> list[t.DomainInfo]:
        """Every domain's access, and the adapters (with user counts) of those you may read."""
        return self.run(calls.list_domains(), timeout, retries, metadata)


class AsyncDomainCalls:
    async def run(
        self, call: calls.Call[T], timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> T:
        raise NotImplementedError

    async def download_adapter(
        self, adapter: str, *, timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> dict[str, bytes]:
        """Every file of ``name[@version]`` or ``DOMAIN:NAME[@VERSION]``: path -> bytes."""
        return await self.run(calls.download_adapter(adapter), timeout, retries, metadata)

    async def grant_domain(
        self,
        domain: str,
        tenant: str = "",
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> t.DomainAccess:
        """Operator: ``tenant`` may read ``domain`` (no tenant: every tenant may)."""
        return await self.run(calls.grant_domain(domain, tenant), timeout, retries, metadata)

    async def revoke_domain(
        self,
        domain: str,
        tenant: str = "",
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> t.DomainAccess:
        """Operator: ``tenant`` may no longer read ``domain`` (no tenant: nobody may)."""
        return await self.run(calls.revoke_domain(domain, tenant), timeout, retries, metadata)

    async def list_domains(
        self, *, timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> list[t.DomainInfo]:
        """Every domain's access, and the adapters (with user counts) of those you may read."""
        return await self.run(calls.list_domains(), timeout, retries, metadata)
