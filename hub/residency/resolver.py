"""Name resolution with a time-to-live: how alias moves and deletions reach every server.

``name@alias`` and ``name@N`` resolve to an immutable VersionRecord. Each answer is trusted
for ``ttl_s`` seconds; after that the next request re-reads it from the store (one caller
refreshes while the others keep the answer they have). So an alias moved, or a version
deleted, through any server is seen by every server within ``ttl_s``, without a restart.
When the store cannot be reached, the last answer keeps serving (stale-if-error); only a name
never resolved here fails, with UNAVAILABLE. When an alias is seen to move, or a version to
vanish, ``on_retired`` is told, so the version no request names any more can be released.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from adapters_registry.registry import LATEST, AdapterRegistry, VersionRecord, check_alias
from hub.errors import NotFound, Unavailable
from hub.residency.names import NameJournal

Retired = Callable[[str, str, int, str], None]  # tenant, name, version, reason


@dataclass
class _Seen:
    version: int
    checked: float


@dataclass
class _Record:
    record: VersionRecord
    checked: float


class CachedResolver:
    def __init__(
        self,
        registry: AdapterRegistry,
        ttl_s: float,
        on_retired: Retired | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 100_000,
        journal: NameJournal | None = None,
    ) -> None:
        self.registry = registry
        self.journal = journal  # last-known answers on disk, for a restart during an outage
        self.ttl_s = max(0.0, ttl_s)
        self.on_retired = on_retired
        self.clock = clock
        self.max_entries = max_entries
        self._aliases: OrderedDict[tuple[str, str, str], _Seen] = OrderedDict()
        self._records: OrderedDict[tuple[str, str, int], _Record] = OrderedDict()
        self._refreshing: set[tuple[str, str, str] | tuple[str, str, int]] = set()
        self._lock = threading.Lock()
        self.stale_served = 0
        self.refreshes = 0

    def resolve(self, tenant: str, name: str, ref: str = "") -> VersionRecord:
        ref = ref or LATEST
        if ref.isdigit():
            return self._by_number(tenant, name, int(ref))
        return self._by_alias(tenant, name, check_alias(ref))

    def known(self, tenant: str | None = None) -> list[VersionRecord]:
        """Records resolved here (of one tenant, or all)."""
        with self._lock:
            return [r.record for (t, _, _), r in self._records.items() if tenant is None or t == tenant]

    def _fresh(self, checked: float) -> bool:
        return self.clock() - checked < self.ttl_s

    def _by_alias(self, tenant: str, name: str, alias: str) -> VersionRecord:
        key = (tenant, name, alias)
        with self._lock:
            seen = self._aliases.get(key)
            cached = self._records.get((tenant, name, seen.version)) if seen else None
            if seen and cached and (self._fresh(seen.checked) or key in self._refreshing):
                return cached.record
            self._refreshing.add(key)
        try:
            record = self.registry.resolve(tenant, name, alias)
        except NotFound:
            with self._lock:
                self._aliases.pop(key, None)
            if self.journal is not None:
                self.journal.forget(tenant, name, alias)
            if seen is not None:
                self._moved(tenant, name, seen.version)
            raise
        except Unavailable as exc:
            return self._stale(cached.record if cached else None, (tenant, name, alias), exc)
        finally:
            with self._lock:
                self._refreshing.discard(key)
        now = self.clock()
        with self._lock:
            self.refreshes += 1
            self._remember(self._aliases, key, _Seen(record.version, now))
            self._remember(self._records, (tenant, name, record.version), _Record(record, now))
        if self.journal is not None and (seen is None or seen.version != record.version):
            self.journal.remember(alias, record)
            self.journal.remember(str(record.version), record)  # name@N resolves without the alias
        if seen is not None and seen.version != record.version:
            self._moved(tenant, name, seen.version)
        return record

    def _stale(self, last: VersionRecord | None, ref: tuple[str, str, str], exc: Unavailable) -> VersionRecord:
        """During a store outage, answer with what was resolved last (counted): from memory, else
        from the journal on disk; if neither knows the name, the caller gets UNAVAILABLE."""
        tenant, name, alias_or_number = ref
        if last is None and self.journal is not None:
            last = self.journal.recall(tenant, name, alias_or_number)
        if last is None:
            raise Unavailable(f"cannot resolve {name}@{alias_or_number}: {exc.message}") from None
        with self._lock:
            self.stale_served += 1
        return last

    def _by_number(self, tenant: str, name: str, version: int) -> VersionRecord:
        key = (tenant, name, version)
        with self._lock:
            cached = self._records.get(key)
            if cached and (self._fresh(cached.checked) or key in self._refreshing):
                return cached.record
            self._refreshing.add(key)
        try:
            record = self.registry.get_version(tenant, name, version)
        except NotFound:
            with self._lock:
                self._records.pop(key, None)
            if self.journal is not None:
                self.journal.forget(tenant, name, str(version))
            if cached is not None and self.on_retired is not None:
                self.on_retired(tenant, name, version, "deleted")
            raise
        except Unavailable as exc:
            return self._stale(cached.record if cached else None, (tenant, name, str(version)), exc)
        finally:
            with self._lock:
                self._refreshing.discard(key)
        with self._lock:
            self.refreshes += 1
            self._remember(self._records, key, _Record(record, self.clock()))
        if self.journal is not None and cached is None:
            self.journal.remember(str(version), record)
        return record

    def _remember(self, table: OrderedDict, key: object, value: object) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > self.max_entries:
            table.popitem(last=False)

    def _moved(self, tenant: str, name: str, old: int) -> None:
        """An alias left version ``old``: retire it unless another alias seen here still names it."""
        with self._lock:
            still = any(t == tenant and n == name and s.version == old for (t, n, _), s in self._aliases.items())
        if not still and self.on_retired is not None:
            self.on_retired(tenant, name, old, "superseded")

    def expire(self, tenant: str, name: str) -> None:
        """This server changed the adapter (upload, alias move): re-read its aliases next time."""
        with self._lock:
            for (t, n, _), seen in self._aliases.items():
                if t == tenant and n == name:
                    seen.checked = float("-inf")

    def forget_versions(self, tenant: str, name: str, versions: list[int]) -> None:
        with self._lock:
            for version in versions:
                self._records.pop((tenant, name, version), None)
            for (t, n, _), seen in self._aliases.items():
                if t == tenant and n == name:
                    seen.checked = float("-inf")
