"""Adapter residency: tiers (device, host, disk, store), single-flight loads, hot swap, outages.

``build_residency`` wires it from settings; HubService keeps one as ``service.cache``.
"""

from __future__ import annotations

import os
from pathlib import Path

from adapters_registry.journal import Journal
from adapters_registry.registry import AdapterRegistry
from adapters_registry.storage.base import ObjectStore
from hub.residency.breaker import CircuitBreaker, GuardedStore
from hub.residency.disk import DiskCache
from hub.residency.residency import (
    CacheObserver,
    Residency,
    ResidencyConfig,
    ResidencyStatus,
    Resident,
    prefetch,
    version_key,
)
from hub.settings import Settings

__all__ = [
    "CacheObserver",
    "Residency",
    "ResidencyConfig",
    "ResidencyStatus",
    "Resident",
    "build_residency",
    "disk_cache_dir",
    "guard_store",
    "prefetch",
    "tenant_journal",
    "version_key",
]


def disk_cache_dir(settings: Settings) -> Path | None:
    """The disk tier's directory: the setting, else a per-user cache for a remote store only."""
    chosen = settings.disk_cache_dir.strip()
    if chosen.lower() in ("off", "none"):
        return None
    if chosen:
        return Path(chosen).expanduser()
    if not settings.store.startswith("s3://"):
        return None  # a local store is on disk already
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache_home / "adapter-hub"


def build_residency(settings: Settings, registry: AdapterRegistry, observer: CacheObserver | None = None) -> Residency:
    config = ResidencyConfig(settings.device_cache_bytes, settings.host_cache_bytes, settings.alias_ttl_s)
    directory = disk_cache_dir(settings)
    disk = DiskCache(directory, settings.disk_cache_bytes) if directory is not None else None
    return Residency(registry, config, disk, observer)


def tenant_journal(settings: Settings) -> Journal | None:
    """Where key owners and tenant records are kept as last read, beside the disk tier (none
    without one), so a server restarted during a store outage still knows its tenants' keys."""
    directory = disk_cache_dir(settings)
    return Journal(directory / "tenants") if directory is not None else None


def guard_store(store: ObjectStore, settings: Settings) -> GuardedStore:
    """The store behind a circuit breaker configured by settings."""
    return GuardedStore(store, CircuitBreaker(settings.store_breaker_failures, settings.store_breaker_open_s))
