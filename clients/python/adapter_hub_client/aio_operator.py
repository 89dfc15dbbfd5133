"""``AsyncHubClient``'s residency, queue and tenant calls (hub/cli's operator commands use the
synchronous twins): a mixin over ``run``, which the client defines."""

from __future__ import annotations

from typing import TypeVar

from adapter_hub_client import calls
from adapter_hub_client import types as t
from adapter_hub_client.calls import Meta

T = TypeVar("T")


class AsyncOperatorCalls:
    async def run(
        self, call: calls.Call[T], timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> T:
        raise NotImplementedError

    # ---- residency -----------------------------------------------------------------------
    async def load(
        self,
        adapter: str,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> t.ResidencyChange:
        return await self.run(calls.residency("load", adapter), timeout, retries, metadata)

    async def unload(
        self,
        adapter: str,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> t.ResidencyChange:
        return await self.run(calls.residency("unload", adapter), timeout, retries, metadata)

    async def pin(
        self,
        adapter: str,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> t.ResidencyChange:
        return await self.run(calls.residency("pin", adapter), timeout, retries, metadata)

    async def unpin(
        self,
        adapter: str,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> t.ResidencyChange:
        return await self.run(calls.residency("unpin", adapter), timeout, retries, metadata)

    async def residency_status(
        self, *, timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> t.ResidencyStatus:
        return await self.run(calls.residency_status(), timeout, retries, metadata)

    async def queue_status(
        self, *, timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> t.QueueStatus:
        return await self.run(calls.queue_status(), timeout, retries, metadata)

    # ---- tenants (operator: the admin key) -----------------------------------------------
    async def create_tenant(
        self,
        tenant: str,
        max_bytes: int = 0,
        max_adapters: int = 0,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
        weight: float | None = None,
        rps: float | None = None,
        tps: float | None = None,
        unlimited_rps: bool = False,
        unlimited_tps: bool = False,
    ) -> t.NewTenantKey:
        call = calls.create_tenant(
            tenant, max_bytes, max_adapters, t.TenantLimits(weight, rps, tps, unlimited_rps, unlimited_tps)
        )
        return await self.run(call, timeout, retries, metadata)

    async def set_tenant_limits(
        self,
        tenant: str,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
        weight: float | None = None,
        rps: float | None = None,
        tps: float | None = None,
        unlimited_rps: bool = False,
        unlimited_tps: bool = False,
    ) -> t.TenantInfo:
        return await self.run(
            calls.set_tenant_limits(tenant, t.TenantLimits(weight, rps, tps, unlimited_rps, unlimited_tps)),
            timeout,
            retries,
            metadata,
        )

    async def list_tenants(
        self, *, timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> list[t.TenantInfo]:
        return await self.run(calls.list_tenants(), timeout, retries, metadata)

    async def revoke_tenant(
        self, tenant: str, *, timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> t.RevokedTenant:
        return await self.run(calls.revoke_tenant(tenant), timeout, retries, metadata)
