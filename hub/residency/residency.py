"""Adapter residency: where each adapter version lives, and getting it to the engine once.

Tiers, fastest first: ``device`` (the packed adapter the engine consumes), ``host`` (verified
file bytes in memory), ``disk`` (verified file bytes by sha256, survives restarts), and the
object store. Each memory tier has a byte budget and evicts least recently used, unpinned
entries; an adapter that cannot fit the device tier even then is refused with
RESOURCE_EXHAUSTED before it is kept. A miss is filled from the nearest tier below and the
upper tiers are filled on the way up. Loads are single-flight per version: concurrent requests
for the same cold adapter share one fetch and one pack.

Versions are immutable, so a tier entry never goes stale; what changes is which version a
name resolves to (CachedResolver). A request resolves once and holds the packed adapter it got
for its whole life, so it finishes on the version it started on even if that version is
retired meanwhile: a retired adapter leaves the tiers at once and its memory is freed when
the last request holding it drops it (``draining`` until then).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from adapters_registry.manifest import MANIFEST_FILE, Manifest
from adapters_registry.registry import AdapterRegistry, VersionRecord
from adapters_registry.storage.base import StoreUnavailable
from hub.errors import ResourceExhausted, Unavailable
from hub.observe.tracing import span
from hub.residency.breaker import BreakerState, GuardedStore
from hub.residency.disk import DiskCache
from hub.residency.names import NameJournal
from hub.residency.resolver import CachedResolver
from hub.residency.tier import LatencyWindow, MemoryTier, TierFull, TierStats

log = logging.getLogger("hub.residency")


class Packed(Protocol):
    @property
    def nbytes(self) -> int: ...


P = TypeVar("P", bound=Packed)
Packer = Callable[[str, dict[str, bytes], Manifest], P]


class CacheObserver(Protocol):
    """Told when an adapter enters or leaves the device tier (the plugins' event hooks)."""

    def loaded(self, key: str, record: VersionRecord) -> None: ...

    def evicted(self, key: str, reason: str) -> None: ...


def min_packed_bytes(record: VersionRecord) -> int:
    """A lower bound of the packed size: tensors stored in 32 bits may be served in 16."""
    return sum(f.size for path, f in record.manifest.files.items() if path.endswith(".safetensors")) // 2


def version_key(record: VersionRecord) -> str:
    return f"{record.tenant}/{record.name}@{record.version}"


def split_key(key: str) -> tuple[str, str, int]:
    tenant, _, rest = key.partition("/")
    name, _, version = rest.rpartition("@")
    return tenant, name, int(version)


@dataclass(frozen=True)
class ResidencyConfig:
    device_bytes: int = 2 << 30
    host_bytes: int = 2 << 30
    alias_ttl_s: float = 5.0


@dataclass(frozen=True)
class Resident:
    """One adapter version as residency sees it."""

    tenant: str
    name: str
    version: int
    tiers: tuple[str, ...]  # where it is now: device, host, disk
    pinned: bool
    device_bytes: int
    file_bytes: int


@dataclass(frozen=True)
class ResidencyStatus:
    tiers: list[TierStats]  # device, host, disk (when configured), store
    store: BreakerState | None
    adapters: list[Resident]
    draining: int  # retired or evicted packed adapters still held by in-flight requests
    alias_ttl_s: float
    stale_served: int  # resolutions answered from cache because the store was unreachable
    # stored adapters whose labels differ from their task's (hub.serving.label_drift), described
    label_drift: list[str] = field(default_factory=list)


class Residency:
    def __init__(
        self,
        registry: AdapterRegistry,
        config: ResidencyConfig | None = None,
        disk: DiskCache | None = None,
        observer: CacheObserver | None = None,
    ) -> None:
        config = config or ResidencyConfig()
        self.registry = registry
        self.config = config
        self.observer = observer
        journal = NameJournal(disk.root) if disk is not None else None
        self.resolver = CachedResolver(registry, config.alias_ttl_s, on_retired=self._retire, journal=journal)
        self.device: MemoryTier[Any] = MemoryTier("device", config.device_bytes, "ADAPTER_HUB_DEVICE_CACHE_BYTES")
        self.host: MemoryTier[dict[str, bytes]] = MemoryTier("host", config.host_bytes, "ADAPTER_HUB_HOST_CACHE_BYTES")
        self.disk = disk
        self.store_latency = LatencyWindow()
        self.store_fetches = self.store_failures = 0
        self._flights: dict[str, Future[Any]] = {}
        self._pins: dict[str, VersionRecord] = {}
        self._records: dict[str, VersionRecord] = {}  # records of what the memory tiers hold
        self._draining: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()
        # bounded: an outage can tie up at most this many threads (each call has its own timeouts)
        self._fetchers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="adapter-fetch")

    # ---- the request path ---------------------------------------------------------------
    def resolve(self, tenant: str, name: str, ref: str = "") -> VersionRecord:
        return self.resolver.resolve(tenant, name, ref)

    def get(self, record: VersionRecord, pack: Packer[P]) -> P:
        """The packed adapter for this exact version, loading it (once) if needed."""
        key = version_key(record)
        packed = self.device.lookup(key)
        if packed is not None:
            return packed
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = Future()
        if not leader:
            return flight.result()
        try:
            with span("adapter.load", tier="device", adapter=key):  # children: the tiers it came from
                packed = self._load(record, key, pack)
            flight.set_result(packed)
            return packed
        except BaseException as exc:
            flight.set_exception(exc)
            raise
        finally:
            with self._lock:
                self._flights.pop(key, None)

    def _load(self, record: VersionRecord, key: str, pack: Packer[P]) -> P:
        started = time.perf_counter()
        what = f"adapter {record.name}@{record.version}"
        packed = self.device.peek(key)  # loaded meanwhile
        if packed is None:
            packed = self._draining.get(key)  # evicted or retired, but still held by a request
        if packed is None:
            self.device.check_room(key, min_packed_bytes(record), what)  # refuse before fetching
            files = self._files(record, key)
            packed = pack(key, files, record.manifest)
        evicted = self.device.put(key, packed, packed.nbytes, what)
        self.device.latency.add(time.perf_counter() - started)
        self._draining.pop(key, None)
        with self._lock:
            self._records[key] = record
        for gone, value in evicted:
            self._drain(gone, value)
        if self.observer is not None:
            self.observer.loaded(key, record)
            for gone, _ in evicted:
                self.observer.evicted(gone, "capacity")
        return packed

    def _files(self, record: VersionRecord, key: str) -> dict[str, bytes]:
        files = self.host.lookup(key)
        if files is not None:
            return files
        started = time.perf_counter()
        files = None
        if self.disk is not None:
            with span("adapter.load", tier="disk", adapter=key):
                files = self.disk.read_version(record)
        if files is None:
            with span("adapter.load", tier="store", adapter=key):
                files = self._fetch(record)
            if self.disk is not None:
                self.disk.write_version(record, files)
                self.disk.latency.add(time.perf_counter() - started)
        try:
            self.host.put(key, files, sum(len(v) for v in files.values()), f"adapter {record.name}@{record.version}")
        except TierFull as exc:  # the host tier is a cache: serve without keeping the bytes
            log.info("host tier: not keeping %s: %s", key, exc.message)
        self.host.latency.add(time.perf_counter() - started)
        return files

    def _fetch(self, record: VersionRecord) -> dict[str, bytes]:
        """Every file of the version from the store, fetched in parallel, each sha256-verified."""
        started = time.perf_counter()
        paths = list(record.manifest.files)
        try:
            blobs = list(self._fetchers.map(lambda path: self.registry.read_file(record, path), paths))
        except StoreUnavailable as exc:
            with self._lock:
                self.store_failures += 1
            raise Unavailable(
                f"adapter {record.name}@{record.version} is not resident on this server and the object store "
                f"cannot be reached: {exc.message}"
            ) from None
        files = dict(zip(paths, blobs, strict=True))
        files[MANIFEST_FILE] = record.manifest.dumps()
        self.store_latency.add(time.perf_counter() - started)
        with self._lock:
            self.store_fetches += 1
        return files

    def _drain(self, key: str, value: Any) -> None:
        """A packed adapter left the device tier; requests may still hold it until they finish."""
        with contextlib.suppress(TypeError):  # not weakly referenceable: nothing to track
            self._draining[key] = value

    # ---- changes ------------------------------------------------------------------------
    def _retire(self, tenant: str, name: str, version: int, reason: str) -> None:
        """No name leads to this version any more (alias moved, version deleted): release it."""
        key = f"{tenant}/{name}@{version}"
        if reason == "deleted":
            self._unpin_key(key)
        elif key in self._pins:
            return  # pinned explicitly: stays until unpinned
        self._release(key, reason)

    def _release(self, key: str, reason: str) -> bool:
        packed = self.device.remove(key)
        files = self.host.remove(key)
        if packed is not None:
            self._drain(key, packed)
            if self.observer is not None:
                self.observer.evicted(key, reason)
        return packed is not None or files is not None

    def demote(self, name: str, reason: str) -> list[str]:
        """Take every unpinned version called ``name`` (any tenant) off the device tier, keeping
        the host copy: a cluster's router stopped sending that name to this replica
        (hub/cluster/routes.py). The keys demoted."""
        with self._lock:
            pinned = set(self._pins)
        demoted, resident = [], self.device.keys()
        for key in resident:
            if split_key(key)[1] == name and key not in pinned and (packed := self.device.remove(key)) is not None:
                self._drain(key, packed)
                demoted.append(key)
                if self.observer is not None:
                    self.observer.evicted(key, reason)
        return demoted

    def drop(self, tenant: str, name: str, versions: list[int]) -> None:
        """Versions deleted through this server: forget them everywhere, pinned or not."""
        self.resolver.forget_versions(tenant, name, versions)
        for version in versions:
            key = f"{tenant}/{name}@{version}"
            self._unpin_key(key)
            self._release(key, "deleted")

    def close(self) -> None:
        """Stop the fetch threads (at shutdown)."""
        self._fetchers.shutdown(wait=False, cancel_futures=True)

    def expire(self, tenant: str, name: str) -> None:
        """An upload or alias move through this server: its aliases are re-read on next use."""
        self.resolver.expire(tenant, name)

    # ---- admin --------------------------------------------------------------------------
    def load(self, record: VersionRecord, pack: Packer[P]) -> Resident:
        self.get(record, pack)
        return self.describe(record)

    def pin(self, record: VersionRecord, pack: Packer[P], tenant_limit: int | None = None) -> Resident:
        """Load and keep resident until unpinned. ``tenant_limit`` caps the file bytes one tenant
        may hold pinned (tenants' own pins; the operator's pass None), so no tenant can take the
        whole device tier from the others."""
        key = version_key(record)
        with self._lock:
            fresh = key not in self._pins
            if fresh and tenant_limit is not None:
                self._check_pin_limit(record, tenant_limit)
            self._pins[key] = record
        if fresh:
            self.device.pin(key)
            if self.disk is not None:
                self.disk.pin(record)
        try:
            self.get(record, pack)
        except BaseException:
            if fresh:
                self._unpin_key(key)
            raise
        return self.describe(record)

    def _check_pin_limit(self, record: VersionRecord, limit: int) -> None:
        held = sum(r.size_bytes for r in self._pins.values() if r.tenant == record.tenant)
        if held + record.size_bytes > limit:
            raise ResourceExhausted(
                f"pinning {record.name}@{record.version} ({record.size_bytes} bytes) would make your "
                f"pinned adapters {held + record.size_bytes} bytes; a tenant may pin {limit} "
                "(ADAPTER_HUB_TENANT_PIN_BYTES): unpin others first"
            )

    def unpin(self, record: VersionRecord) -> Resident:
        self._unpin_key(version_key(record))
        return self.describe(record)

    def unload(self, record: VersionRecord) -> Resident:
        key = version_key(record)
        self._unpin_key(key)
        self._release(key, "unloaded")
        return self.describe(record)

    def _unpin_key(self, key: str) -> None:
        with self._lock:
            record = self._pins.pop(key, None)
        if record is not None:
            self.device.unpin(key)
            if self.disk is not None:
                self.disk.unpin(record)

    def describe(self, record: VersionRecord) -> Resident:
        key = version_key(record)
        tiers = [name for name, tier in (("device", self.device), ("host", self.host)) if key in tier]
        if self.disk is not None and self.disk.has_version(record):
            tiers.append("disk")
        with self._lock:
            pinned = key in self._pins
        return Resident(
            record.tenant,
            record.name,
            record.version,
            tuple(tiers),
            pinned,
            self.device.size_of(key),
            record.size_bytes,
        )

    def status(self, tenant: str | None = None) -> ResidencyStatus:
        """Every tier's counters, and the adapters resident here (of ``tenant``, or all)."""
        resident = set(self.device.keys()) | set(self.host.keys())
        records = {version_key(r): r for r in self.resolver.known(tenant)}
        with self._lock:
            for key in [k for k in self._records if k not in resident and k not in self._pins]:
                del self._records[key]
            records |= self._records | self._pins
        keys = resident | set(records)
        adapters = []
        for key in sorted(keys):
            record = records.get(key)
            if record is None or (tenant is not None and record.tenant != tenant):
                continue
            found = self.describe(record)
            if found.tiers or found.pinned:
                adapters.append(found)
        return ResidencyStatus(
            self.tier_stats(),
            self.breaker_state(),
            adapters,
            len(self._draining),
            self.resolver.ttl_s,
            self.resolver.stale_served,
        )

    def tier_stats(self) -> list[TierStats]:
        """Each tier's counters, fastest first: device, host, disk (when configured), store."""
        disk = [self.disk.stats()] if self.disk is not None else []
        return [self.device.stats(), self.host.stats(), *disk, self._store_stats()]

    def breaker_state(self) -> BreakerState | None:
        store = self.registry.store
        return store.breaker.snapshot() if isinstance(store, GuardedStore) else None

    def _store_stats(self) -> TierStats:
        p50, p99 = self.store_latency.percentiles_ms()
        with self._lock:
            fetches, failures = self.store_fetches, self.store_failures
        return TierStats("store", 0, 0, 0, 0, 0, fetches, failures, 0, self.store_latency.count, p50, p99)
