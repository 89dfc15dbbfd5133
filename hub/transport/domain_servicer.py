"""DomainService: who may read each domain's adapters (the operator), and the domains' catalog."""

from __future__ import annotations

from typing import Any

from hub.api.v1 import domains_pb2, domains_pb2_grpc
from hub.errors import InvalidArgument
from hub.serving.auth import Caller
from hub.transport import convert
from hub.transport.base import ServicerBase, unary


def _who(request: domains_pb2.DomainAccessRequest) -> str | None:
    if request.all == bool(request.tenant):
        raise InvalidArgument("name a tenant, or all (every tenant), not both and not neither")
    return request.tenant or None


class DomainServicer(ServicerBase, domains_pb2_grpc.DomainServiceServicer):
    @unary()
    async def GrantDomain(self, request: domains_pb2.DomainAccessRequest, context: Any, caller: Caller):
        grant = self.service.domains.grant
        access = await self.front.blocking(caller.tenant, grant, caller, request.domain, _who(request))
        return convert.domain_access(access, caller.admin)

    @unary()
    async def RevokeDomain(self, request: domains_pb2.DomainAccessRequest, context: Any, caller: Caller):
        revoke = self.service.domains.revoke
        access = await self.front.blocking(caller.tenant, revoke, caller, request.domain, _who(request))
        return convert.domain_access(access, caller.admin)

    @unary()
    async def ListDomains(self, request: domains_pb2.ListDomainsRequest, context: Any, caller: Caller):
        catalog = self.service.domains.catalog
        listed = await self.front.blocking(caller.tenant, catalog, caller, self.service.registry.listings)
        return convert.list_domains_response(listed)
