"""DomainService: who may read each domain's adapters (the operator), and the domains' catalog."""

from __future__ import annotations

import grpc

from hub.api.v1 import domains_pb2, domains_pb2_grpc
from hub.errors import InvalidArgument
from hub.transport import convert
from hub.transport.base import ServicerBase
from hub.transport.status import guarded


def _who(request: domains_pb2.DomainAccessRequest) -> str | None:
    if request.all == bool(request.tenant):
        raise InvalidArgument("name a tenant, or all (every tenant), not both and not neither")
    return request.tenant or None


class DomainServicer(ServicerBase, domains_pb2_grpc.DomainServiceServicer):
    @guarded
    def GrantDomain(self, request: domains_pb2.DomainAccessRequest, context: grpc.ServicerContext):
        caller = self.caller(context)
        access = self.service.domains.grant(caller, request.domain, _who(request))
        return convert.domain_access(access, caller.admin)

    @guarded
    def RevokeDomain(self, request: domains_pb2.DomainAccessRequest, context: grpc.ServicerContext):
        caller = self.caller(context)
        access = self.service.domains.revoke(caller, request.domain, _who(request))
        return convert.domain_access(access, caller.admin)

    @guarded
    def ListDomains(self, request: domains_pb2.ListDomainsRequest, context: grpc.ServicerContext):
        caller = self.caller(context)
        return convert.list_domains_response(self.service.domains.catalog(caller, self.service.registry.listings))
