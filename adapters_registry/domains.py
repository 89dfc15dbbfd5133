"""Domain adapters: the operator's per-domain catalog that tenants read, and who may read it.

A domain (a plugin's namespace: ``medical``, ``finance``, ...) owns adapters the way a tenant
does, under its own prefix beside the tenants' (``domains/<domain>/``, the same layout as
``tenants/<tenant>/``). Inside the hub a domain is named by its *owner string*
``domain:<domain>``, which no tenant name can spell (tenant names have no ``:``), so every
per-owner table (the registry, residency, caches) keeps domain and tenant entries apart.

References name a domain adapter explicitly, ``DOMAIN:NAME[@VERSION]``
(``medical:ncbi-disease@3``): a tenant's own names never collide with a domain's.

Who may read a domain is stored in the object store next to the tenant records
(``_system/domains/<domain>.json``): every tenant (the default, no record) or a list.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from adapters_registry.manifest import Manifest
from adapters_registry.storage.base import ConditionFailed, ObjectNotFound, ObjectStore
from hub.errors import Conflict, FailedPrecondition, InvalidArgument

OWNER_PREFIX = "domain:"
DOMAIN_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")  # a plugin namespace (hub/plugins/namespaces.py)
_ROOT = "_system/domains/"
_CACHE_SECONDS = 5.0


def check_domain(domain: str) -> str:
    if not DOMAIN_PATTERN.match(domain):
        raise InvalidArgument(
            f"invalid domain {domain!r}: a domain is a plugin namespace (lowercase letters, digits and _, "
            "starting with a letter), e.g. medical"
        )
    return domain


def domain_owner(domain: str) -> str:
    """The owner string the registry and every per-owner table use for ``domain``."""
    return OWNER_PREFIX + check_domain(domain)


def owner_domain(owner: str) -> str | None:
    """The domain an owner string names, or None for a tenant."""
    return owner[len(OWNER_PREFIX) :] if owner.startswith(OWNER_PREFIX) else None


def split_reference(name: str) -> tuple[str, str]:
    """``"medical:ncbi-disease"`` -> ("medical", "ncbi-disease"); a plain name -> ("", name)."""
    domain, sep, rest = name.partition(":")
    return (check_domain(domain), rest) if sep else ("", name)


def reference_name(owner: str, name: str) -> str:
    """How a caller names an adapter of ``owner``: ``DOMAIN:NAME`` for a domain's, else NAME."""
    domain = owner_domain(owner)
    return f"{domain}:{name}" if domain is not None else name


def content_digest(manifest: Manifest) -> str:
    """What identifies a version's content: ``sha256:`` + the sha256 of the sorted lines
    ``<path> <sha256 of the file>`` of every file its manifest records (the LoRA weights, its
    config, the heads, the card). Versions are immutable, so this changes only if the stored
    record does (damage, or a version restored from elsewhere)."""
    lines = "".join(f"{path} {rec.sha256}\n" for path, rec in sorted(manifest.files.items()))
    return "sha256:" + hashlib.sha256(lines.encode()).hexdigest()


@dataclass
class DomainAccess:
    """Who may read a domain's adapters: every tenant (``everyone``), or the ``tenants`` listed."""

    domain: str
    everyone: bool = True
    tenants: list[str] = field(default_factory=list)

    def readable_by(self, tenant: str) -> bool:
        return self.everyone or tenant in self.tenants

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> DomainAccess:
        raw = json.loads(data)
        return cls(str(raw["domain"]), bool(raw.get("everyone", True)), [str(t) for t in raw.get("tenants", [])])


class DomainDirectory:
    """Read access per domain, stored durably; reads cached briefly (other servers see a change
    within a few seconds, this one at once)."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._cache: dict[str, tuple[float, DomainAccess]] = {}
        self._lock = threading.Lock()

    def _key(self, domain: str) -> str:
        return f"{_ROOT}{check_domain(domain)}.json"

    def get(self, domain: str) -> DomainAccess:
        try:
            return DomainAccess.from_json(self.store.get(self._key(domain)).data)
        except ObjectNotFound:
            return DomainAccess(domain)  # no record: open to every tenant

    def cached(self, domain: str) -> DomainAccess:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(domain)
            if hit is not None and now - hit[0] < _CACHE_SECONDS:
                return hit[1]
        access = self.get(domain)
        with self._lock:
            self._cache[domain] = (now, access)
        return access

    def grant(self, domain: str, tenant: str | None) -> DomainAccess:
        """``tenant`` may read ``domain`` (a domain open to every tenant becomes a list of one);
        None: every tenant may."""

        def change(access: DomainAccess) -> None:
            if tenant is None:
                access.everyone, access.tenants = True, []
            else:
                if access.everyone:
                    access.everyone, access.tenants = False, []
                if tenant not in access.tenants:
                    access.tenants = sorted([*access.tenants, tenant])

        return self._update(domain, change)

    def revoke(self, domain: str, tenant: str | None) -> DomainAccess:
        """``tenant`` may no longer read ``domain``; None: nobody may (an empty list)."""

        def change(access: DomainAccess) -> None:
            if tenant is None:
                access.everyone, access.tenants = False, []
            elif access.everyone:
                raise FailedPrecondition(
                    f"domain {domain!r} is open to every tenant: name who may read it with "
                    f"`adapter-hub domain grant {domain} TENANT`, or close it with `domain revoke {domain} --all`"
                )
            else:
                access.tenants = [t for t in access.tenants if t != tenant]

        return self._update(domain, change)

    def _update(self, domain: str, change: Callable[[DomainAccess], None]) -> DomainAccess:
        key = self._key(domain)
        for _ in range(20):
            try:
                current = self.store.get(key)
                access, etag = DomainAccess.from_json(current.data), current.etag
            except ObjectNotFound:
                access, etag = DomainAccess(domain), None
            change(access)
            try:
                if etag is None:
                    self.store.put(key, access.to_json(), if_none_match=True)
                else:
                    self.store.put(key, access.to_json(), if_match=etag)
            except ConditionFailed:
                continue
            with self._lock:
                self._cache[domain] = (time.monotonic(), access)
            return access
        raise Conflict(f"domain {domain!r} access is being changed concurrently; try again")
