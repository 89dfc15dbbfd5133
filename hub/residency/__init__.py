"""Adapter residency: tiers (device, host, disk, store), single-flight loads, hot swap, outages.

``hub.serving.stores.build_residency`` wires it from settings; HubService keeps one as ``service.cache``.
"""

from __future__ import annotations

from hub.residency.breaker import CircuitBreaker, GuardedStore
from hub.residency.disk import DiskCache
from hub.residency.prefetch import prefetch
from hub.residency.residency import (
    CacheObserver,
    Residency,
    ResidencyConfig,
    ResidencyStatus,
    Resident,
    version_key,
)

__all__ = [
    "CacheObserver",
    "CircuitBreaker",
    "DiskCache",
    "GuardedStore",
    "Residency",
    "ResidencyConfig",
    "ResidencyStatus",
    "Resident",
    "prefetch",
    "version_key",
]
