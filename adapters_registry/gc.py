"""Garbage collection: reclaim what no live version needs.

What it reclaims (``collect``), each only once it is older than the grace period:
- blobs (``tenants/<t>/blobs/<sha256>``) no root references: left by deleted versions, by
  pushes killed before their version was claimed, by quota withdrawals;
- (local store) temp files a killed write left in ``.tmp`` and lock files no one holds.

The roots (``root_set``): every blob named by a live version record; every blob named by a
version deleted less than the grace period ago; and every blob of a version that a live
version's manifest names as its ``base`` (a stacked adapter: ``"base": {"domain", "name",
"version", "digest"}``), whether that base version is live or deleted, so a tenant's adapter
never loses the domain adapter it is stacked on. A namespace with a damaged version record is
left alone (its blobs cannot be known) and reported.

Why in-flight work is safe:
- An upload writes its blobs before it claims its version, and writes every blob again even
  when it is stored already (adapters_registry/registry.py), which renews its modification
  time. The collector lists blobs (with their times) BEFORE it reads the version records, and
  deletes only blobs older than the grace as listed and again just before deleting: a blob an
  upload touched in the last grace period (default 15 min; far above any upload) is kept, and
  one an upload claimed before the records were read is a root.
- A reader that resolved a version just before it was deleted still finds its blobs: a deleted
  version's blobs stay roots for the grace period after its deletion (the tombstone's time).
- A temp file is renamed within the put that wrote it; a lock file is unlinked only while this
  collector holds its flock, and a locker that loses that race locks again (storage/local.py).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from adapters_registry.storage.base import ObjectInfo, ObjectNotFound, ObjectStore

log = logging.getLogger("adapters_registry.gc")
ROOTS = ("tenants/", "domains/")  # tenants' data, and domains' catalogs (adapters_registry/domains.py)


@dataclass
class GcReport:
    dry_run: bool
    blobs: int = 0  # blobs reclaimed (or, dry run, that would be)
    blob_bytes: int = 0
    temp_files: int = 0  # temp and lock files (local store)
    temp_bytes: int = 0
    kept_blobs: int = 0  # unreferenced, but younger than the grace period
    skipped: list[str] = field(default_factory=list)  # namespaces left alone (damaged records)
    seconds: float = 0.0

    @property
    def reclaimed_bytes(self) -> int:
        return self.blob_bytes + self.temp_bytes


@dataclass
class Roots:
    blobs: set[tuple[str, str]] = field(default_factory=set)  # (namespace, sha256)
    skipped: set[str] = field(default_factory=set)


def _records(store: ObjectStore, keys: list[str]) -> dict[tuple[str, str, int], tuple[str, Any]]:
    """(namespace, name, version) -> ("live" | "deleted@<time>" | "damaged", record JSON); a
    namespace is ``tenants/<tenant>`` or ``domains/<domain>``."""
    out: dict[tuple[str, str, int], tuple[str, Any]] = {}
    for key in keys:
        parts = key.split("/")  # tenants/<ns>/adapters/<name>/<versions|tombstones>/<n>[.json]
        if len(parts) != 6 or parts[2] != "adapters" or parts[4] not in ("versions", "tombstones"):
            continue
        stem = parts[5].split(".", 1)[0]
        if not stem.isdigit():
            continue
        try:
            data = store.get(key).data
        except ObjectNotFound:
            continue
        where = (f"{parts[0]}/{parts[1]}", parts[3], int(stem))
        try:
            raw = json.loads(data) if data else {}
        except ValueError:
            raw = None
        if parts[4] == "versions":
            out[where] = ("live", raw) if isinstance(raw, dict) else ("damaged", None)
        elif where not in out and isinstance(raw, dict):
            out[where] = (f"deleted@{float(raw.get('deleted_at', 0.0))}", raw.get("record"))
    return out


def _files(record: Any) -> list[str]:
    try:
        return [str(f["sha256"]) for f in record["manifest"]["files"].values()]
    except (KeyError, TypeError, AttributeError):
        return []


def base_of(record: Any) -> tuple[str, str, int] | None:
    """The (namespace, name, version) a stacked version's manifest names as its ``base``; None
    when it names none (the field is optional). The base lives in its domain's catalog,
    ``domains/<domain>/`` (adapters_registry/domains.py)."""
    try:
        base = record["manifest"].get("base")
        if not base:
            return None
        return f"domains/{base['domain']}", str(base["name"]), int(base["version"])
    except (KeyError, TypeError, AttributeError, ValueError):
        return None


def root_set(store: ObjectStore, keys: list[str], grace_s: float, now: float) -> Roots:
    """The blobs garbage collection must keep (see the module's docstring)."""
    roots = Roots()
    records = _records(store, keys)
    bases: set[tuple[str, str, int]] = set()
    for (namespace, _name, _version), (state, record) in records.items():
        if state == "damaged":
            roots.skipped.add(namespace)
            continue
        recent = state.startswith("deleted@") and float(state.split("@", 1)[1]) > now - grace_s
        if state == "live" or recent:
            roots.blobs.update((namespace, digest) for digest in _files(record))
        if state == "live" and (base := base_of(record)) is not None:
            bases.add(base)
    for base in bases:  # a base version, live or deleted, keeps its blobs while it is used
        state, record = records.get(base, ("", None))
        roots.blobs.update((base[0], digest) for digest in _files(record))
    return roots


def collect(store: ObjectStore, grace_s: float, dry_run: bool = False) -> GcReport:
    """Reclaim unreferenced blobs (and the local store's stale temp and lock files) older than
    ``grace_s``; ``dry_run``: only count them."""
    started, report = time.time(), GcReport(dry_run)
    listed = [info for root in ROOTS for info in store.scan(root)]  # blobs and times first, then records
    blobs = [info for info in listed if info.key.split("/")[2:3] == ["blobs"]]
    roots = root_set(store, [info.key for info in listed if "/adapters/" in info.key], grace_s, started)
    report.skipped = sorted(roots.skipped)
    cutoff = started - grace_s
    for info in blobs:
        parts = info.key.split("/")
        namespace, digest = f"{parts[0]}/{parts[1]}", parts[-1]
        if (namespace, digest) in roots.blobs or namespace in roots.skipped:
            continue
        if info.modified > cutoff or _touched_since(store, info, cutoff):
            report.kept_blobs += 1
            continue
        if not dry_run:
            store.delete(info.key)
        report.blobs, report.blob_bytes = report.blobs + 1, report.blob_bytes + info.size
    sweep = getattr(store, "sweep", None)
    if sweep is not None:
        report.temp_files, report.temp_bytes = sweep(grace_s, dry_run)
    report.seconds = time.time() - started
    log.info(
        "gc%s: %d blobs (%d bytes), %d temp/lock files (%d bytes) reclaimed; %d young blobs kept; skipped %s",
        " (dry run)" if dry_run else "",
        report.blobs,
        report.blob_bytes,
        report.temp_files,
        report.temp_bytes,
        report.kept_blobs,
        report.skipped or "none",
    )
    return report


def _touched_since(store: ObjectStore, info: ObjectInfo, cutoff: float) -> bool:
    """Whether the blob was written again (by an upload) after the listing: checked just
    before deleting it."""
    now = store.scan(info.key)
    return bool(now) and now[0].key == info.key and now[0].modified > cutoff
