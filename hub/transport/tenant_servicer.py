"""TenantService: the operator's tenant and key management (admin key only)."""

from __future__ import annotations

import grpc

from hub.api.v1 import tenants_pb2, tenants_pb2_grpc
from hub.transport import convert
from hub.transport.servicer import _Base
from hub.transport.status import guarded


class TenantServicer(_Base, tenants_pb2_grpc.TenantServiceServicer):
    @guarded
    def CreateTenant(self, request: tenants_pb2.CreateTenantRequest, context: grpc.ServicerContext):
        caller = self.caller(context)
        limits = convert.limits_change(request.limits)
        key, key_id = self.service.create_tenant(
            caller, request.tenant, request.quota.max_bytes, request.quota.max_adapters, limits
        )
        return tenants_pb2.CreateTenantResponse(tenant=request.tenant, api_key=key, key_id=key_id)

    @guarded
    def ListTenants(self, request: tenants_pb2.ListTenantsRequest, context: grpc.ServicerContext):
        tenants = [convert.tenant_info(usage) for usage in self.service.list_tenants(self.caller(context))]
        return tenants_pb2.ListTenantsResponse(tenants=tenants)

    @guarded
    def RevokeTenant(self, request: tenants_pb2.RevokeTenantRequest, context: grpc.ServicerContext):
        revoked = self.service.revoke_tenant(self.caller(context), request.tenant)
        return tenants_pb2.RevokeTenantResponse(tenant=request.tenant, revoked_keys=revoked)

    @guarded
    def SetTenantLimits(self, request: tenants_pb2.SetTenantLimitsRequest, context: grpc.ServicerContext):
        caller = self.caller(context)
        usage = self.service.set_tenant_limits(caller, request.tenant, convert.limits_change(request.limits))
        return convert.tenant_info(usage)
