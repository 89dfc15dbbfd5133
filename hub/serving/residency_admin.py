"""The residency admin operations as the transport calls them: tenant-scoped, transport-free."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from adapters_registry.registry import VersionRecord
from hub.residency.residency import ResidencyStatus, Resident
from hub.serving.auth import Caller
from hub.serving.service import HubService


@dataclass(frozen=True)
class Done:
    adapter: Resident
    elapsed_ms: float


class ResidencyAdmin:
    """Load / Unload / Pin / Unpin / Status on the service's residency, in the caller's namespace."""

    def __init__(self, service: HubService) -> None:
        self.service = service

    def _record(self, caller: Caller, name: str, ref: str, write: bool = False) -> VersionRecord:
        """``write``: a change others see (a domain adapter's: the operator only)."""
        owner, name = self.service.domains.owner(caller, name, write)
        return self.service.cache.resolve(owner, name, ref)

    def load(self, caller: Caller, name: str, ref: str = "") -> Done:
        started = time.perf_counter()
        record = self._record(caller, name, ref)
        return Done(self.service.cache.load(record, self.service.pack), _ms(started))

    def pin(self, caller: Caller, name: str, ref: str = "") -> Done:
        started = time.perf_counter()
        record = self._record(caller, name, ref, write=True)
        # a tenant's pins share the device tier with every other tenant's; the operator (and the
        # single local user when auth is off) may pin up to the whole budget
        limit = None if caller.admin else self.service.settings.tenant_pin_limit
        return Done(self.service.cache.pin(record, self.service.pack, tenant_limit=limit), _ms(started))

    def unpin(self, caller: Caller, name: str, ref: str = "") -> Done:
        started = time.perf_counter()
        return Done(self.service.cache.unpin(self._record(caller, name, ref, write=True)), _ms(started))

    def unload(self, caller: Caller, name: str, ref: str = "") -> Done:
        started = time.perf_counter()
        return Done(self.service.cache.unload(self._record(caller, name, ref, write=True)), _ms(started))

    def status(self, caller: Caller) -> ResidencyStatus:
        """Tier counters (server-wide) and the caller's resident adapters (the operator: all)."""
        tenant = None if caller.admin and not caller.tenant else caller.tenant
        drift = [d.describe() for d in self.service.label_drift if tenant is None or d.tenant == tenant]
        return dataclasses.replace(self.service.cache.status(tenant), label_drift=drift)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
