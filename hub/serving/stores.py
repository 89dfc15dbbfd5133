"""The object store and the residency tiers, built from settings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from adapters_registry.journal import Journal
from adapters_registry.registry import AdapterRegistry
from adapters_registry.storage import ObjectStore, open_store
from hub.config.settings import Settings
from hub.residency import CacheObserver, CircuitBreaker, DiskCache, GuardedStore, Residency, ResidencyConfig


def open_configured_store(settings: Settings) -> ObjectStore:
    uri = settings.store_uri
    options: dict[str, Any] = {}
    if uri.scheme == "s3":
        options = {
            "endpoint_url": settings.s3_endpoint_url or None,
            "region": settings.s3_region or None,
            "create_bucket": settings.s3_create_bucket,
            "addressing_style": settings.s3_addressing_style or None,
            # bounded calls: an unreachable store fails in seconds, never hangs handler threads
            "connect_timeout": min(2.0, settings.store_timeout_s),
            "read_timeout": settings.store_timeout_s,
            "max_retries": settings.store_retries,
        }
    return open_store(uri, **options)


def guard_store(store: ObjectStore, settings: Settings) -> GuardedStore:
    """The store behind a circuit breaker configured by settings."""
    return GuardedStore(store, CircuitBreaker(settings.store_breaker_failures, settings.store_breaker_open_s))


def disk_cache_dir(settings: Settings) -> Path | None:
    """The disk tier's directory: the setting, else a per-user cache for a remote store only."""
    chosen = settings.disk_cache_dir.strip()
    if chosen.lower() in ("off", "none"):
        return None
    if chosen:
        return Path(chosen).expanduser()
    if not settings.store_uri.is_remote:
        return None  # a local store is on disk already, a memory one is gone at exit
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
