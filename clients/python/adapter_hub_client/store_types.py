"""What the operator's store upkeep calls answer (re-exported by ``types``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GarbageCollection:
    """What one garbage collection reclaimed (or, dry run, would): blobs no live version needs,
    temp and idle lock files; unreferenced blobs younger than the grace period are kept."""

    dry_run: bool
    blobs: int
    blob_bytes: int
    temp_files: int
    temp_bytes: int
    kept_blobs: int
    skipped: list[str]
    seconds: float


@dataclass(frozen=True)
class StoreDamage:
    namespace: str
    kind: str  # blob | record | missing
    what: str
    quarantined: bool


@dataclass(frozen=True)
class StoreVerification:
    blobs: int
    records: int
    damaged: list[StoreDamage]
