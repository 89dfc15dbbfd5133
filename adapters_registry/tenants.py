"""Tenants and their API keys, kept in the object store next to the adapters.

An API key is ``ahk_<key id>_<secret>``. The store keeps, per key, only the sha256 of the
secret (secrets are 256 random bits, so a fast hash is enough) and an index from key id to
tenant; checking a key is two small reads (cached briefly) and a constant-time comparison.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from adapters_registry.journal import Journal
from adapters_registry.registry import check_name
from adapters_registry.storage.base import ConditionFailed, ObjectNotFound, ObjectStore
from hub.errors import Conflict, NotFound, Unauthenticated, Unavailable

KEY_PREFIX = "ahk_"
_ROOT = "_system"
_CACHE_SECONDS = 5.0
# ahk_<16 hex digits>_<token_urlsafe(32): 43 characters of the URL-safe base64 alphabet>; a
# little slack on the secret's length, none on the key id (it becomes part of a storage key)
_KEY_SHAPE = re.compile(r"ahk_([0-9a-f]{16})_([A-Za-z0-9_-]{32,64})")


@dataclass
class KeyRecord:
    key_id: str
    sha256: str
    created_at: str
    revoked: bool = False


@dataclass
class TenantRecord:
    name: str
    created_at: str
    max_bytes: int = 0  # 0: the server's default quota
    max_adapters: int = 0
    keys: list[KeyRecord] = field(default_factory=list)
    # serving share and rate limits (hub/scheduling/fair.py); 0: no limit. Records written before
    # these fields existed read as weight 1, unlimited.
    weight: float = 1.0
    rps: float = 0.0
    tps: float = 0.0

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> TenantRecord:
        raw = json.loads(data)
        raw["keys"] = [KeyRecord(**k) for k in raw.get("keys", [])]
        return cls(**raw)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TenantDirectory:
    def __init__(self, store: ObjectStore, journal: Journal | None = None) -> None:
        self.store = store
        # key owners and tenant records as last read, for a server restarted while the store
        # is unreachable (known keys keep working; a revocation removes the tenant's entry)
        self.journal = journal
        self._cache: dict[str, tuple[float, TenantRecord]] = {}
        self._key_owner: dict[str, str] = {}  # key id -> tenant; never changes once written
        self._lock = threading.Lock()

    def _tenant_key(self, name: str) -> str:
        return f"{_ROOT}/tenants/{check_name('tenant', name)}.json"

    def _index_key(self, key_id: str) -> str:
        return f"{_ROOT}/keys/{key_id}.json"

    def get(self, name: str) -> TenantRecord:
        try:
            return TenantRecord.from_json(self.store.get(self._tenant_key(name)).data)
        except ObjectNotFound:
            raise NotFound(f"tenant {name!r} not found") from None

    def list(self) -> list[TenantRecord]:
        prefix = f"{_ROOT}/tenants/"
        return [TenantRecord.from_json(self.store.get(k).data) for k in self.store.list(prefix)]

    def create_key(self, name: str, max_bytes: int = 0, max_adapters: int = 0) -> tuple[str, str]:
        """Add a key to tenant ``name`` (creating the tenant); return (api_key, key_id)."""
        key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        self.store.put(self._index_key(key_id), json.dumps({"tenant": name}).encode(), if_none_match=True)
        now = datetime.now(UTC).isoformat(timespec="seconds")

        def change(record: TenantRecord | None) -> TenantRecord:
            record = record or TenantRecord(name=name, created_at=now)
            record.max_bytes = max_bytes or record.max_bytes
            record.max_adapters = max_adapters or record.max_adapters
            record.keys.append(KeyRecord(key_id, _hash(secret), now))
            return record

        self._update(name, change)
        return f"{KEY_PREFIX}{key_id}_{secret}", key_id

    def set_limits(self, name: str, change: Callable[[TenantRecord], None]) -> TenantRecord:
        """Apply ``change`` to an existing tenant's record (weight, rate limits) and store it;
        this process sees it at once, other servers within the cache time."""
        updated: TenantRecord | None = None

        def apply(record: TenantRecord | None) -> TenantRecord:
            nonlocal updated
            if record is None:
                raise NotFound(f"tenant {name!r} not found: create it first (adapter-hub tenant add)")
            change(record)
            updated = record
            return record

        self._update(name, apply)
        assert updated is not None
        with self._lock:
            self._cache[name] = (time.monotonic(), updated)
        return updated

    def forget_cached(self) -> None:
        """Drop the cached records: the next look-up of each reads the store (a reload)."""
        with self._lock:
            self._cache.clear()

    def cached(self, name: str) -> TenantRecord | None:
        """The tenant's record as last read (re-read every few seconds); None if no such
        tenant (auth off: the local tenant has no record)."""
        try:
            return self._cached(name)
        except NotFound:
            return None

    def revoke(self, name: str) -> int:
        """Revoke every active key of the tenant; return how many."""
        revoked = 0

        def change(record: TenantRecord | None) -> TenantRecord:
            nonlocal revoked
            if record is None:
                raise NotFound(f"tenant {name!r} not found")
            revoked = sum(1 for k in record.keys if not k.revoked)
            for k in record.keys:
                k.revoked = True
            return record

        self._update(name, change)
        with self._lock:
            self._cache.pop(name, None)
        if self.journal is not None:
            self.journal.remove(("records", name))
        return revoked

    def _update(self, name: str, change: Callable[[TenantRecord | None], TenantRecord]) -> None:
        key = self._tenant_key(name)
        for _ in range(20):
            try:
                current = self.store.get(key)
                record, etag = TenantRecord.from_json(current.data), current.etag
            except ObjectNotFound:
                record, etag = None, None
            data = change(record).to_json()
            try:
                if etag is None:
                    self.store.put(key, data, if_none_match=True)
                else:
                    self.store.put(key, data, if_match=etag)
                return
            except ConditionFailed:
                continue
        raise Conflict(f"tenant {name!r} is being changed concurrently; try again")

    def authenticate(self, api_key: str) -> str:
        """Return the tenant owning this key; Unauthenticated for anything else."""
        refused = Unauthenticated("invalid or revoked API key")
        shape = _KEY_SHAPE.fullmatch(api_key)
        if shape is None:  # only the shape create_key makes reaches the store as a key id
            raise refused
        key_id, secret = shape.groups()
        tenant = self._key_owner.get(key_id) or self._read_owner(key_id)
        if tenant is None:
            raise refused
        self._key_owner[key_id] = tenant
        record = self._cached(tenant)
        if not any(k.key_id == key_id for k in record.keys):
            record = self._cached(tenant, fresh=True)  # a key newer than the cached record
        for key in record.keys:
            if key.key_id == key_id and not key.revoked and hmac.compare_digest(key.sha256, _hash(secret)):
                return tenant
        raise refused

    def authenticate_cached(self, api_key: str) -> str | None:
        """``authenticate`` from memory alone: the tenant, Unauthenticated, or None when the
        answer needs the store (an unknown key id, a record older than the cache's seconds),
        which the caller then reads off its event loop."""
        shape = _KEY_SHAPE.fullmatch(api_key)
        if shape is None:
            raise Unauthenticated("invalid or revoked API key")
        key_id, secret = shape.groups()
        tenant = self._key_owner.get(key_id)
        with self._lock:
            hit = self._cache.get(tenant) if tenant is not None else None
        if tenant is None or hit is None or time.monotonic() - hit[0] >= _CACHE_SECONDS:
            return None
        for key in hit[1].keys:
            if key.key_id == key_id:
                if not key.revoked and hmac.compare_digest(key.sha256, _hash(secret)):
                    return tenant
                raise Unauthenticated("invalid or revoked API key")
        return None  # a key newer than the cached record

    def revoked_now(self, tenant: str) -> bool:
        """Whether every key of ``tenant`` is revoked (or the tenant is gone), read from the
        store now (the cache is refreshed with it); False while the store is unreachable."""
        try:
            record = self._cached(tenant, fresh=True)
        except NotFound:
            return True
        except Unavailable:
            return False
        return all(key.revoked for key in record.keys)

    def _read_owner(self, key_id: str) -> str | None:
        """The tenant a key id belongs to, from the store (or, while it is unreachable, from the
        journal); None for an unknown key id."""
        data: bytes | None
        try:
            data = self.store.get(self._index_key(key_id)).data
        except ObjectNotFound:
            return None
        except Unavailable:
            data = self.journal.read(("keys", key_id)) if self.journal is not None else None
            if data is None:
                raise
        else:
            if self.journal is not None:
                self.journal.write(("keys", key_id), data)
        try:
            return str(json.loads(data)["tenant"])
        except (ValueError, KeyError, TypeError):
            return None

    def _cached(self, tenant: str, fresh: bool = False) -> TenantRecord:
        """The tenant's record, re-read at most every few seconds (revocations take that long
        to reach other server processes; this process forgets at once). While the store is
        unreachable the last record read keeps serving, so known keys keep working."""
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(tenant)
            if hit and not fresh and now - hit[0] < _CACHE_SECONDS:
                return hit[1]
        try:
            record = self.get(tenant)
        except Unavailable:
            last = hit[1] if hit is not None else self._journaled(tenant)
            if last is None:
                raise
            return last  # the store is unreachable: keep the last record read (stale-if-error)
        with self._lock:
            self._cache[tenant] = (now, record)
        if self.journal is not None and (hit is None or hit[1] != record):
            self.journal.write(("records", tenant), record.to_json())
        return record

    def _journaled(self, tenant: str) -> TenantRecord | None:
        data = self.journal.read(("records", tenant)) if self.journal is not None else None
        try:
            return TenantRecord.from_json(data) if data is not None else None
        except (ValueError, KeyError, TypeError):
            return None
