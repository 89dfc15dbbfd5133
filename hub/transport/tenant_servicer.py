"""TenantService: the operator's tenant and key management (admin key only). Each operation
reads or writes the store, so it runs on the front end's worker pool."""

from __future__ import annotations

from typing import Any

from hub.api.v1 import tenants_pb2, tenants_pb2_grpc
from hub.serving.auth import Caller
from hub.transport import convert
from hub.transport.base import ServicerBase, unary


class TenantServicer(ServicerBase, tenants_pb2_grpc.TenantServiceServicer):
    @unary()
    async def CreateTenant(self, request: tenants_pb2.CreateTenantRequest, context: Any, caller: Caller):
        name, limits = convert.tenant_name(request.tenant, new=True), convert.limits_change(request.limits)
        quota, create = request.quota, self.service.create_tenant
        key, key_id = await self.front.blocking(
            caller.tenant, create, caller, name, quota.max_bytes, quota.max_adapters, limits
        )
        return convert.tenant_created(name, key, key_id)

    @unary()
    async def ListTenants(self, request: tenants_pb2.ListTenantsRequest, context: Any, caller: Caller):
        return convert.list_tenants_response(
            await self.front.blocking(caller.tenant, self.service.list_tenants, caller)
        )

    @unary()
    async def RevokeTenant(self, request: tenants_pb2.RevokeTenantRequest, context: Any, caller: Caller):
        name = convert.tenant_name(request.tenant)
        revoked = await self.front.blocking(caller.tenant, self.service.revoke_tenant, caller, name)
        return convert.tenant_revoked(request.tenant, revoked)

    @unary()
    async def SetTenantLimits(self, request: tenants_pb2.SetTenantLimitsRequest, context: Any, caller: Caller):
        name, change = convert.tenant_name(request.tenant), convert.limits_change(request.limits)
        usage = await self.front.blocking(caller.tenant, self.service.set_tenant_limits, caller, name, change)
        return convert.tenant_info(usage)
