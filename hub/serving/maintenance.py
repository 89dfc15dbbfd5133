"""The store's upkeep: start-up recovery of interrupted pushes and deletes, garbage collection
in the background and on demand (``adapter-hub gc``), and verification (``adapter-hub verify``).

Recovery runs once before the service is built to serve (a restart finishes what a crash
interrupted), and again in each background round for intents older than a minute (another
replica that died). When the store is unreachable at start-up, recovery is left to the
background rounds: the hub still starts and serves what its caches hold.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from adapters_registry.gc import GcReport, collect
from adapters_registry.registry import AdapterRegistry
from adapters_registry.verify import VerifyReport, verify
from hub.config.settings import Settings
from hub.errors import ResourceExhausted, Unavailable

log = logging.getLogger("hub.serving.maintenance")
_OTHERS_INTENT_AGE_S = 60.0  # an intent this old belongs to a dead process, not a slow one


@dataclass
class GcTotals:
    runs: int = 0
    failures: int = 0
    blobs: int = 0
    files: int = 0  # temp and lock files
    bytes: int = 0
    recovered: int = 0


class Maintenance:
    def __init__(self, registry: AdapterRegistry, grace_s: float, interval_s: float) -> None:
        self.registry = registry
        self.grace_s, self.interval_s = grace_s, interval_s
        self.totals = GcTotals()
        self._gc_lock = threading.Lock()  # one collection at a time in this process
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._recovered = self.recover(0.0)

    @classmethod
    def started(cls, registry: AdapterRegistry, settings: Settings) -> Maintenance:
        """Recovery done, background collection running (every ``gc_interval_s``)."""
        maintenance = cls(registry, settings.gc_grace_s, settings.gc_interval_s)
        maintenance.start()
        return maintenance

    def recover(self, older_than_s: float) -> bool:
        """Finish interrupted operations; False when the store could not be reached."""
        try:
            self.totals.recovered += len(self.registry.recover(older_than_s))
        except (Unavailable, ResourceExhausted) as exc:
            log.warning("recovery of interrupted pushes and deletes deferred: %s", exc.message)
            return False
        return True

    def start(self) -> None:
        """Run garbage collection every ``interval_s`` in a daemon thread (0: never)."""
        if self.interval_s <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="adapter-hub-gc", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._recovered = self.recover(0.0 if not self._recovered else _OTHERS_INTENT_AGE_S) or self._recovered
            try:
                self.collect()
            except (Unavailable, ResourceExhausted) as exc:
                log.warning("background garbage collection failed: %s", exc.message)
            except Exception:
                log.exception("background garbage collection failed")

    def collect(self, dry_run: bool = False) -> GcReport:
        with self._gc_lock:
            try:
                report = collect(self.registry.store, self.grace_s, dry_run)
            except BaseException:
                self.totals.failures += 1
                raise
            if not dry_run:
                t = self.totals
                t.runs, t.blobs, t.files = t.runs + 1, t.blobs + report.blobs, t.files + report.temp_files
                t.bytes += report.reclaimed_bytes
            return report

    def verify(self, quarantine: bool = False) -> VerifyReport:
        return verify(self.registry.store, quarantine)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
