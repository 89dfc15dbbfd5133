"""Domain adapters in the service: whose namespace a name is in, who may read or write it, the
base a stacked tenant adapter names, and how many tenants use each domain adapter.

A name ``DOMAIN:NAME`` is a domain adapter (adapters_registry/domains.py); any other name is
the caller's own. Tenants read domain adapters (predict, fan-out, show, list) when the domain's
access allows them; only the operator writes them. A tenant adapter stacked on a domain adapter
names the base's exact version and content digest in its manifest; the base is checked on
upload and on every use (cached resolutions, like every name): deleted, changed or no longer
readable, the stacked adapter is refused with FAILED_PRECONDITION (PERMISSION_DENIED for a
revoked grant) naming the base.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from adapters_registry.domains import (
    DomainAccess,
    DomainDirectory,
    content_digest,
    domain_owner,
    owner_domain,
    split_reference,
)
from adapters_registry.manifest import BaseAdapter, Manifest
from adapters_registry.registry import AdapterListing, VersionRecord, check_name
from hub.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from hub.serving.auth import Caller

if TYPE_CHECKING:
    from hub.plugins.manager import HubPlugins
    from hub.residency import Residency
    from hub.tasks.specs import TaskRegistry


@dataclass(frozen=True)
class DomainAdapterUse:
    name: str
    version: int
    users: int  # distinct tenants served by it (directly or as a base) on this server since start


@dataclass(frozen=True)
class DomainInfo:
    domain: str
    everyone: bool  # open to every tenant
    readable: bool  # by the caller
    tenants: list[str]  # the granted list: the operator only (empty for a tenant)
    granted: int  # how many tenants are listed
    adapters: list[AdapterListing]  # readable ones only
    uses: list[DomainAdapterUse]


class DomainGate:
    def __init__(self, directory: DomainDirectory, cache: Residency, offered: Callable[[], Iterable[str]]) -> None:
        self.directory = directory
        self.cache = cache
        self._offered = offered  # the plugin namespaces this server knows
        self._users: defaultdict[tuple[str, str, int], set[str]] = defaultdict(set)
        self._lock = threading.Lock()

    # ---- names and access ------------------------------------------------------------
    def domains(self) -> list[str]:
        return sorted(set(self._offered()))

    def check_domain(self, domain: str) -> str:
        if domain not in self.domains():
            raise NotFound(f"no domain {domain!r}: the domains are {', '.join(self.domains()) or 'none'}")
        return domain

    def owner(self, caller: Caller, name: str, write: bool = False) -> tuple[str, str]:
        """(owner, adapter name) for ``name`` (``DOMAIN:NAME`` or the caller's own): refused when
        the caller may not read (or, ``write``, change) it."""
        domain, plain = split_reference(name)
        check_name("adapter name", plain)
        if not domain:
            return caller.namespace(), plain
        return self.domain_owner(caller, domain, write), plain

    def domain_owner(self, caller: Caller, domain: str, write: bool = False) -> str:
        self.check_domain(domain)
        if write:
            if not caller.admin:
                raise PermissionDenied(
                    f"domain {domain!r} adapters are published by the operator; tenants only read them"
                )
        elif not caller.admin and not self.directory.cached(domain).readable_by(caller.namespace()):
            raise PermissionDenied(
                f"tenant {caller.tenant!r} may not read domain {domain!r}: the operator grants it "
                f"(adapter-hub domain grant {domain} {caller.tenant})"
            )
        return domain_owner(domain)

    # ---- stacking --------------------------------------------------------------------
    def base_record(self, caller: Caller, base: BaseAdapter, what: str) -> VersionRecord:
        """The base a stacked adapter names, as it names it; refused otherwise, naming it."""
        owner = self.domain_owner(caller, base.domain)
        try:
            record = self.cache.resolve(owner, base.name, str(base.version))
        except NotFound:
            raise FailedPrecondition(
                f"{what} is stacked on {base.reference}, which no longer exists: retrain it on a published "
                "version of the domain adapter"
            ) from None
        digest = content_digest(record.manifest)
        if digest != base.digest:
            raise FailedPrecondition(
                f"{what} is stacked on {base.reference} with digest {base.digest[:19]}..., but that version's "
                f"content is {digest[:19]}...: refusing to serve it on other weights"
            )
        return record

    def check_upload(self, caller: Caller, owner: str, manifest: Manifest, what: str) -> None:
        if manifest.base is None:
            return
        if owner_domain(owner) is not None:
            raise InvalidArgument(f"{what}: a domain adapter cannot be stacked on another (its manifest names a base)")
        self.base_record(caller, manifest.base, what)

    # ---- use counts --------------------------------------------------------------------
    def note_use(self, tenant: str, record: VersionRecord) -> None:
        domain = owner_domain(record.tenant)
        if domain is not None:
            with self._lock:
                self._users[(domain, record.name, record.version)].add(tenant)

    # ---- the operator's access control, and the catalog -------------------------------
    def grant(self, caller: Caller, domain: str, tenant: str | None) -> DomainAccess:
        self._operator(caller)
        return self.directory.grant(self.check_domain(domain), check_name("tenant", tenant) if tenant else None)

    def revoke(self, caller: Caller, domain: str, tenant: str | None) -> DomainAccess:
        self._operator(caller)
        return self.directory.revoke(self.check_domain(domain), check_name("tenant", tenant) if tenant else None)

    def catalog(self, caller: Caller, listings: Callable[[str], list[AdapterListing]]) -> list[DomainInfo]:
        """Every domain: its access (tenant names to the operator only), and to a caller who
        may read it, its adapters and how many tenants use each."""
        infos = []
        for domain in self.domains():
            access = self.directory.cached(domain)
            readable = caller.admin or access.readable_by(caller.tenant)
            adapters = listings(domain_owner(domain)) if readable else []
            with self._lock:
                uses = [DomainAdapterUse(n, v, len(t)) for (d, n, v), t in sorted(self._users.items()) if d == domain]
            shown = list(access.tenants) if caller.admin else []
            infos.append(
                DomainInfo(
                    domain, access.everyone, readable, shown, len(access.tenants), adapters, uses if readable else []
                )
            )
        return infos

    @staticmethod
    def _operator(caller: Caller) -> None:
        if not caller.admin:
            raise PermissionDenied("this call needs the operator's admin key")


def offered_domains(plugins: HubPlugins | None, tasks: TaskRegistry) -> list[str]:
    """The domains: the loaded plugins' namespaces (without plugins: the tasks' namespaces)."""
    if plugins is None:
        return [spec.name.partition(".")[0] for spec in tasks.all()]
    namespaces = plugins.catalog.namespaces
    return [name for name, owner in namespaces.owners.items() if owner in namespaces.loaded]
