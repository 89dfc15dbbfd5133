"""Adapters packed for the engine, kept by exact version with least-recently-used eviction.

A seam for the residency tiers to come: today one in-memory tier in front of the store.
Loads are single-flight per version: concurrent requests for the same cold adapter wait
for one fetch and one pack.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from adapters_registry.manifest import Manifest
from adapters_registry.registry import AdapterRegistry, VersionRecord

Packer = Callable[[str, dict[str, bytes], Manifest], Any]


class CacheObserver(Protocol):
    """Told of loads and evictions, outside the cache's lock (e.g. the plugins' event hooks)."""

    def loaded(self, key: str, record: VersionRecord) -> None: ...

    def evicted(self, key: str, reason: str) -> None: ...


def version_key(record: VersionRecord) -> str:
    return f"{record.tenant}/{record.name}@{record.version}"


class AdapterCache:
    def __init__(self, registry: AdapterRegistry, capacity: int, observer: CacheObserver | None = None) -> None:
        self.registry = registry
        self.observer = observer
        self.capacity = max(1, capacity)
        self._entries: OrderedDict[str, Any] = OrderedDict()
        self._loading: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = self.evictions = 0

    def get(self, record: VersionRecord, pack: Packer) -> Any:
        key = version_key(record)
        with self._lock:
            if key in self._entries:
                self.hits += 1
                self._entries.move_to_end(key)
                return self._entries[key]
            load_lock = self._loading.setdefault(key, threading.Lock())
        with load_lock:
            with self._lock:
                if key in self._entries:  # another caller loaded it while we waited
                    self.hits += 1
                    return self._entries[key]
                self.misses += 1
            packed = pack(key, self.registry.read_files(record), record.manifest)
            evicted = []
            with self._lock:
                self._entries[key] = packed
                self._loading.pop(key, None)
                while len(self._entries) > self.capacity:
                    evicted.append(self._entries.popitem(last=False)[0])
                    self.evictions += 1
        if self.observer is not None:
            self.observer.loaded(key, record)
            for gone in evicted:
                self.observer.evicted(gone, "capacity")
        return packed

    def drop(self, tenant: str, name: str, versions: list[int]) -> None:
        dropped = []
        with self._lock:
            for version in versions:
                if self._entries.pop(f"{tenant}/{name}@{version}", None) is not None:
                    dropped.append(f"{tenant}/{name}@{version}")
        if self.observer is not None:
            for key in dropped:
                self.observer.evicted(key, "deleted")

    def __len__(self) -> int:
        return len(self._entries)
