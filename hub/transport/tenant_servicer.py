"""TenantService: the operator's tenant and key management (admin key only)."""

from __future__ import annotations

import grpc

from hub.api.v1 import tenants_pb2, tenants_pb2_grpc
from hub.transport.servicer import _Base
from hub.transport.status import guarded


class TenantServicer(_Base, tenants_pb2_grpc.TenantServiceServicer):
    @guarded
    def CreateTenant(self, request: tenants_pb2.CreateTenantRequest, context: grpc.ServicerContext):
        caller = self.caller(context)
        key, key_id = self.service.create_tenant(
            caller, request.tenant, request.quota.max_bytes, request.quota.max_adapters
        )
        return tenants_pb2.CreateTenantResponse(tenant=request.tenant, api_key=key, key_id=key_id)

    @guarded
    def ListTenants(self, request: tenants_pb2.ListTenantsRequest, context: grpc.ServicerContext):
        tenants = []
        for usage in self.service.list_tenants(self.caller(context)):
            record = usage.record
            tenants.append(
                tenants_pb2.TenantInfo(
                    tenant=record.name,
                    active_keys=sum(1 for k in record.keys if not k.revoked),
                    revoked_keys=sum(1 for k in record.keys if k.revoked),
                    quota=tenants_pb2.Quota(max_bytes=usage.max_bytes, max_adapters=usage.max_adapters),
                    used_bytes=usage.used_bytes,
                    adapters=usage.adapters,
                    created_at=record.created_at,
                )
            )
        return tenants_pb2.ListTenantsResponse(tenants=tenants)

    @guarded
    def RevokeTenant(self, request: tenants_pb2.RevokeTenantRequest, context: grpc.ServicerContext):
        revoked = self.service.revoke_tenant(self.caller(context), request.tenant)
        return tenants_pb2.RevokeTenantResponse(tenant=request.tenant, revoked_keys=revoked)
