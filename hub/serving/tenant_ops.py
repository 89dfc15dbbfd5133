"""The operator's tenant management, as part of HubService (kept here for the module's size)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from adapters_registry.gc import GcReport
from adapters_registry.registry import AdapterRegistry, check_name
from adapters_registry.tenants import TenantDirectory, TenantRecord
from adapters_registry.verify import VerifyReport
from hub.errors import InvalidArgument, PermissionDenied
from hub.serving.auth import Caller
from hub.serving.fairness import LimitsChange, TenantPolicies
from hub.serving.maintenance import Maintenance
from hub.serving.types import TenantUsage

if TYPE_CHECKING:
    from hub.config.settings import Settings


class TenantOperations:
    """Create, list, limit and revoke tenants (operator only). Revoking tells the
    ``revocation_listeners`` (the front end ends the tenant's open calls)."""

    settings: Settings
    registry: AdapterRegistry
    tenants: TenantDirectory
    policies: TenantPolicies
    revocation_listeners: list[Callable[[str], None]]
    maintenance: Maintenance  # recovery, GC, verify (hub/serving/maintenance.py)

    if TYPE_CHECKING:

        def quota(self, tenant: str) -> tuple[int, int]: ...  # HubService's

    # ---- the store's upkeep (operator only) ---------------------------------------------
    def collect_garbage(self, caller: Caller, dry_run: bool) -> GcReport:
        """Reclaim what no live version needs (adapters_registry/gc.py); operator only."""
        self._operator(caller)
        return self.maintenance.collect(dry_run)

    def verify_store(self, caller: Caller, quarantine: bool) -> VerifyReport:
        """Check every blob and version record (adapters_registry/verify.py); operator only."""
        self._operator(caller)
        return self.maintenance.verify(quarantine)

    # ---- tenants (operator only) --------------------------------------------------------
    def create_tenant(
        self, caller: Caller, name: str, max_bytes: int = 0, max_adapters: int = 0, limits: LimitsChange | None = None
    ) -> tuple[str, str]:
        self._operator(caller)
        caller.check_keys_are_checked()
        if max_bytes < 0 or max_adapters < 0:
            raise InvalidArgument("quotas must not be negative")
        if limits is not None:
            limits.check()  # before anything is stored
        created = self.tenants.create_key(check_name("tenant", name), max_bytes, max_adapters)
        if limits is not None and not limits.empty:
            self.set_tenant_limits(caller, name, limits)
        return created

    def set_tenant_limits(self, caller: Caller, name: str, change: LimitsChange) -> TenantUsage:
        """Change a tenant's weight and rate limits: this server applies them at once, others
        within a few seconds."""
        self._operator(caller)
        change.check()
        record = self.tenants.set_limits(check_name("tenant", name), change.apply)
        self.policies.changed(record)
        return self._usage(record)

    def list_tenants(self, caller: Caller) -> list[TenantUsage]:
        self._operator(caller)
        return [self._usage(record) for record in self.tenants.list()]

    def _usage(self, record: TenantRecord) -> TenantUsage:
        used, names = self.registry.usage(record.name)
        max_bytes, max_adapters = self.quota(record.name)
        return TenantUsage(record, used, len(names), max_bytes, max_adapters)

    def revoke_tenant(self, caller: Caller, name: str) -> int:
        self._operator(caller)
        revoked = self.tenants.revoke(check_name("tenant", name))
        for listener in self.revocation_listeners:  # the front end ends the tenant's open calls
            listener(name)
        return revoked

    def revoked_elsewhere(self, tenants: list[str]) -> list[str]:
        """Of ``tenants`` (those with calls open here), the ones whose keys were revoked, read
        from the store now: a revocation made through another server (blocking: store reads)."""
        return [name for name in tenants if name and self.tenants.revoked_now(name)]

    @staticmethod
    def _operator(caller: Caller) -> None:
        if not caller.admin:
            raise PermissionDenied("this call needs the operator's admin key")
