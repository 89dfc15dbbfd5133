"""The local disk tier: verified file bytes keyed by their sha256, surviving restarts.

Layout: ``<root>/blobs/<first two hex digits>/<sha256>``. A blob is written to a temporary
file in the same directory and renamed into place, so a reader never sees half a file; every
read re-checks the sha256 (a damaged or truncated file is deleted and counts as a miss, the
adapter then comes from the store again). At start-up the directory is scanned (leftover
temporary files removed, recency taken from modification times) and cleaned to its budget;
after that, each write cleans least recently used blobs, never pinned ones.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import threading
from collections import OrderedDict
from pathlib import Path

from adapters_registry.journal import atomic_write
from adapters_registry.manifest import MANIFEST_FILE
from adapters_registry.registry import VersionRecord
from hub.residency.tier import LatencyWindow, TierStats

log = logging.getLogger("hub.residency")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class DiskCache:
    def __init__(self, root: Path, budget: int) -> None:
        self.root = Path(root)
        self.blobs = self.root / "blobs"
        self.budget = max(0, budget)
        self._index: OrderedDict[str, int] = OrderedDict()  # digest -> size, least recently used first
        self._pins: dict[str, int] = {}  # digest -> how many pinned versions use it
        self._lock = threading.Lock()
        self.used = 0
        self.hits = self.misses = self.evictions = self.corrupt = 0
        self.latency = LatencyWindow()
        self.blobs.mkdir(parents=True, exist_ok=True)
        self._scan()
        self._clean()

    def _path(self, digest: str) -> Path:
        return self.blobs / digest[:2] / digest

    def _scan(self) -> None:
        found: list[tuple[float, str, int]] = []
        for path in self.blobs.glob("*/*"):
            if not _DIGEST.match(path.name) or path.parent.name != path.name[:2]:
                with contextlib.suppress(OSError):
                    path.unlink()  # a temporary file of an interrupted write, or a stranger
                continue
            with contextlib.suppress(OSError):
                info = path.stat()
                found.append((info.st_mtime, path.name, info.st_size))
        for _, digest, size in sorted(found):
            self._index[digest] = size
            self.used += size

    # ---- blobs ------------------------------------------------------------------------
    def read(self, digest: str, size: int) -> bytes | None:
        """The blob's bytes if present and intact; None otherwise (a damaged file is removed)."""
        path = self._path(digest)
        try:
            data = path.read_bytes()
        except OSError:
            self._drop(digest)
            return None
        if len(data) != size or hashlib.sha256(data).hexdigest() != digest:
            log.warning("disk cache: blob %s is damaged; removing it", digest)
            with self._lock:
                self.corrupt += 1
            self._drop(digest, unlink=True)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recency survives a restart
        with self._lock:
            if digest in self._index:
                self._index.move_to_end(digest)
            else:  # written by another process sharing the directory
                self._index[digest] = size
                self.used += size
        return data

    def write(self, digest: str, data: bytes) -> bool:
        """Store verified bytes under their digest (atomically); False when they cannot fit."""
        with self._lock:
            if digest in self._index:
                self._index.move_to_end(digest)
                return True
            if len(data) > self.budget - self._pinned_bytes():
                return False
        try:
            atomic_write(self._path(digest), data)
        except OSError as exc:
            log.warning("disk cache: cannot write blob %s: %s", digest, exc)
            return False
        with self._lock:
            if digest not in self._index:
                self._index[digest] = len(data)
                self.used += len(data)
        self._clean()
        return True

    def contains(self, digest: str) -> bool:
        with self._lock:
            return digest in self._index

    def _pinned_bytes(self) -> int:
        return sum(self._index.get(d, 0) for d in self._pins)

    def _drop(self, digest: str, unlink: bool = False) -> None:
        with self._lock:
            size = self._index.pop(digest, None)
            if size is not None:
                self.used -= size
        if unlink:
            with contextlib.suppress(OSError):
                self._path(digest).unlink()

    def _clean(self) -> None:
        """Delete least recently used unpinned blobs until the cache is within its budget."""
        victims = []
        with self._lock:
            excess = self.used - self.budget
            for digest, size in self._index.items():  # oldest first; stops once within budget
                if excess <= 0:
                    break
                if digest not in self._pins:
                    victims.append(digest)
                    excess -= size
            for digest in victims:
                self.used -= self._index.pop(digest)
            self.evictions += len(victims)
        for digest in victims:
            with contextlib.suppress(OSError):
                self._path(digest).unlink()

    # ---- versions ---------------------------------------------------------------------
    def read_version(self, record: VersionRecord) -> dict[str, bytes] | None:
        """Every file of a version from disk (each verified), or None: a hit or a miss."""
        files: dict[str, bytes] = {}
        for path, expected in record.manifest.files.items():
            data = self.read(expected.sha256, expected.size)
            if data is None:
                with self._lock:
                    self.misses += 1
                return None
            files[path] = data
        files[MANIFEST_FILE] = record.manifest.dumps()
        with self._lock:
            self.hits += 1
        return files

    def write_version(self, record: VersionRecord, files: dict[str, bytes]) -> None:
        for path, expected in record.manifest.files.items():
            self.write(expected.sha256, files[path])

    def has_version(self, record: VersionRecord) -> bool:
        with self._lock:
            return all(f.sha256 in self._index for f in record.manifest.files.values())

    def pin(self, record: VersionRecord) -> None:
        with self._lock:
            for f in record.manifest.files.values():
                self._pins[f.sha256] = self._pins.get(f.sha256, 0) + 1

    def unpin(self, record: VersionRecord) -> None:
        with self._lock:
            for f in record.manifest.files.values():
                left = self._pins.get(f.sha256, 0) - 1
                if left > 0:
                    self._pins[f.sha256] = left
                else:
                    self._pins.pop(f.sha256, None)

    def stats(self) -> TierStats:
        p50, p99 = self.latency.percentiles_ms()
        with self._lock:
            pinned = [self._index[d] for d in self._pins if d in self._index]
            return TierStats(
                "disk",
                len(self._index),
                self.used,
                self.budget,
                len(pinned),
                sum(pinned),
                self.hits,
                self.misses,
                self.evictions,
                self.latency.count,
                p50,
                p99,
            )
