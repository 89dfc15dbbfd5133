"""One in-memory residency tier: entries by key with a byte budget, LRU eviction and pins.

A tier never holds more than its budget. Making room evicts the least recently used entries
that are not pinned; when even that cannot make room (the entry is larger than the budget,
or pinned entries fill it), ``put`` raises TierFull (RESOURCE_EXHAUSTED) and nothing changes.
"""

from __future__ import annotations

import bisect
import itertools
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Generic, TypeVar

from hub.errors import ResourceExhausted

V = TypeVar("V")


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


class TierFull(ResourceExhausted):
    """An entry cannot fit in a tier even after evicting everything that is not pinned."""


# Upper bounds (seconds) of the load-latency histogram the metrics expose: from a host-tier
# pack (milliseconds) to a cold fetch from a remote store (seconds).
LOAD_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class LatencyHistogram:
    """Every sample since start: how many fell at or under each bound, in all, and their sum."""

    buckets: tuple[tuple[float, int], ...]  # (upper bound, cumulative count)
    count: int
    sum_s: float


class LatencyWindow:
    """The most recent load latencies, for p50 / p99 (nearest rank), and a histogram of all."""

    def __init__(self, size: int = 1024, bounds: tuple[float, ...] = LOAD_BUCKETS_S) -> None:
        self._samples: deque[float] = deque(maxlen=size)
        self._lock = threading.Lock()
        self.count = 0
        self._bounds = bounds
        self._counts = [0] * len(bounds)  # per bucket, not cumulative
        self._sum = 0.0

    def add(self, seconds: float) -> None:
        with self._lock:
            self._samples.append(seconds)
            self.count += 1
            self._sum += seconds
            index = bisect.bisect_left(self._bounds, seconds)
            if index < len(self._counts):
                self._counts[index] += 1

    def histogram(self) -> LatencyHistogram:
        with self._lock:
            cumulative = list(itertools.accumulate(self._counts))
            return LatencyHistogram(tuple(zip(self._bounds, cumulative, strict=True)), self.count, self._sum)

    def recent(self, count: int) -> list[float]:
        """The last ``count`` samples, in seconds, oldest first."""
        with self._lock:
            return list(self._samples)[-count:] if count > 0 else []

    def percentiles_ms(self) -> tuple[float, float]:
        with self._lock:
            ordered = sorted(self._samples)
        if not ordered:
            return 0.0, 0.0

        def rank(q: float) -> float:
            return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))] * 1000

        return rank(0.50), rank(0.99)


@dataclass(frozen=True)
class TierStats:
    name: str
    count: int
    bytes: int
    budget: int
    pinned: int
    pinned_bytes: int
    hits: int
    misses: int
    evictions: int
    loads: int
    load_p50_ms: float
    load_p99_ms: float


@dataclass
class _Entry(Generic[V]):
    value: V
    nbytes: int


class MemoryTier(Generic[V]):
    """Values under string keys, at most ``budget`` bytes in all, least recently used first out."""

    def __init__(self, name: str, budget: int, setting: str = "") -> None:
        self.name = name
        self.budget = max(0, budget)
        self.setting = setting  # the environment variable that sets the budget, for messages
        self._entries: OrderedDict[str, _Entry[V]] = OrderedDict()
        self._pinned: set[str] = set()
        self._lock = threading.Lock()
        self.used = 0
        self.pinned_bytes = 0  # bytes of resident pinned entries
        self.hits = self.misses = self.evictions = 0
        self.latency = LatencyWindow()

    # ---- reads ------------------------------------------------------------------------
    def lookup(self, key: str) -> V | None:
        """The value, counted as a hit (and made most recently used) or a miss."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self.hits += 1
            self._entries.move_to_end(key)
            return entry.value

    def peek(self, key: str) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            return None if entry is None else entry.value

    def size_of(self, key: str) -> int:
        with self._lock:
            entry = self._entries.get(key)
            return 0 if entry is None else entry.nbytes

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._entries)

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    # ---- changes ----------------------------------------------------------------------
    def put(self, key: str, value: V, nbytes: int, what: str = "") -> list[tuple[str, V]]:
        """Insert (or replace) an entry, evicting LRU unpinned ones; return what was evicted."""
        with self._lock:
            old = self._entries.get(key)
            pinned_here = key in self._pinned
            others_pinned = self.pinned_bytes - (old.nbytes if old is not None and pinned_here else 0)
            if nbytes > self.budget - others_pinned:
                raise TierFull(self._full_message(what or key, nbytes, others_pinned))
            if old is not None:
                self._forget(key)
            victims: list[str] = []
            freed = 0
            for candidate in self._entries:  # oldest first; stops as soon as there is room
                if self.used - freed + nbytes <= self.budget:
                    break
                if candidate not in self._pinned:
                    victims.append(candidate)
                    freed += self._entries[candidate].nbytes
            evicted = [(victim, self._forget(victim)) for victim in victims]
            self.evictions += len(evicted)
            self._entries[key] = _Entry(value, nbytes)
            self.used += nbytes
            if pinned_here:
                self.pinned_bytes += nbytes
            return evicted

    def check_room(self, key: str, nbytes: int, what: str) -> None:
        """Raise TierFull now if an entry of at least ``nbytes`` could never fit."""
        with self._lock:
            own = self._entries.get(key)
            others_pinned = self.pinned_bytes - (own.nbytes if own is not None and key in self._pinned else 0)
            if nbytes > self.budget - others_pinned:
                raise TierFull(self._full_message(what, nbytes, others_pinned, at_least=True))

    def _forget(self, key: str) -> V:
        entry = self._entries.pop(key)
        self.used -= entry.nbytes
        if key in self._pinned:
            self.pinned_bytes -= entry.nbytes
        return entry.value

    def _full_message(self, what: str, nbytes: int, pinned_bytes: int, at_least: bool = False) -> str:
        pinned = sum(1 for k in self._pinned if k in self._entries)
        hint = f" or raise {self.setting}" if self.setting else ""
        return (
            f"{what} needs {'at least ' if at_least else ''}{human_bytes(nbytes)} in the {self.name} tier, but only "
            f"{human_bytes(max(0, self.budget - pinned_bytes))} of its {human_bytes(self.budget)} budget can be "
            f"freed ({pinned} pinned adapter(s) hold {human_bytes(pinned_bytes)}); unpin or unload adapters{hint}"
        )

    def remove(self, key: str) -> V | None:
        with self._lock:
            return self._forget(key) if key in self._entries else None

    def pin(self, key: str) -> None:
        """Never evict ``key`` (whether it is resident yet or not) until unpinned."""
        with self._lock:
            if key not in self._pinned:
                self._pinned.add(key)
                entry = self._entries.get(key)
                self.pinned_bytes += entry.nbytes if entry is not None else 0

    def unpin(self, key: str) -> None:
        with self._lock:
            if key in self._pinned:
                self._pinned.discard(key)
                entry = self._entries.get(key)
                self.pinned_bytes -= entry.nbytes if entry is not None else 0

    def is_pinned(self, key: str) -> bool:
        with self._lock:
            return key in self._pinned

    def stats(self) -> TierStats:
        p50, p99 = self.latency.percentiles_ms()
        with self._lock:
            return TierStats(
                self.name,
                len(self._entries),
                self.used,
                self.budget,
                sum(1 for k in self._pinned if k in self._entries),
                self.pinned_bytes,
                self.hits,
                self.misses,
                self.evictions,
                self.latency.count,
                p50,
                p99,
            )
