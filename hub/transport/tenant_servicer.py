"""TenantService: the operator's tenant and key management (admin key only)."""

from __future__ import annotations

import grpc

from hub.api.v1 import tenants_pb2, tenants_pb2_grpc
from hub.transport import convert
from hub.transport.base import ServicerBase
from hub.transport.status import guarded


class TenantServicer(ServicerBase, tenants_pb2_grpc.TenantServiceServicer):
    @guarded
    def CreateTenant(self, request: tenants_pb2.CreateTenantRequest, context: grpc.ServicerContext):
        caller = self.caller(context)
        name, limits = convert.tenant_name(request.tenant, new=True), convert.limits_change(request.limits)
        quota = request.quota
        key, key_id = self.service.create_tenant(caller, name, quota.max_bytes, quota.max_adapters, limits)
        return convert.tenant_created(name, key, key_id)

    @guarded
    def ListTenants(self, request: tenants_pb2.ListTenantsRequest, context: grpc.ServicerContext):
        return convert.list_tenants_response(self.service.list_tenants(self.caller(context)))

    @guarded
    def RevokeTenant(self, request: tenants_pb2.RevokeTenantRequest, context: grpc.ServicerContext):
        revoked = self.service.revoke_tenant(self.caller(context), convert.tenant_name(request.tenant))
        return convert.tenant_revoked(request.tenant, revoked)

    @guarded
    def SetTenantLimits(self, request: tenants_pb2.SetTenantLimitsRequest, context: grpc.ServicerContext):
        caller = self.caller(context)
        name, limits = convert.tenant_name(request.tenant), convert.limits_change(request.limits)
        usage = self.service.set_tenant_limits(caller, name, limits)
        return convert.tenant_info(usage)
