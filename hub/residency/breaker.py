"""A circuit breaker in front of the object store, so an outage fails fast instead of piling up.

Closed: calls go through; ``failures`` consecutive StoreUnavailable errors open the circuit.
Open: every call fails at once with StoreUnavailable (UNAVAILABLE), saying when the next try
is due. After ``open_s`` seconds the circuit is half-open: exactly one call probes the store
(the others still fail fast); its success closes the circuit, its failure opens it again.
Answers such as "not found" or a lost conditional write count as success: the store replied.
Each call is itself bounded by the store's own timeouts (S3: connect/read timeouts, retries).
"""

from __future__ import annotations

import builtins
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from adapters_registry.storage.base import ObjectInfo, ObjectStore, StoredObject, StoreUnavailable

T = TypeVar("T")
CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


@dataclass(frozen=True)
class BreakerState:
    state: str
    consecutive_failures: int
    retry_in_s: float  # when open: seconds until the next probe may run
    failures: int  # store failures seen, in all
    rejected: int  # calls refused without trying while open
    last_error: str


class CircuitBreaker:
    def __init__(self, failures: int = 3, open_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = max(1, failures)
        self.open_s = max(0.0, open_s)
        self.clock = clock
        self._lock = threading.Lock()
        self._state = CLOSED
        self._consecutive = 0
        self._opened_at = 0.0
        self._probing = False
        self.failures = self.rejected = 0
        self.last_error = ""

    def before(self, what: str) -> bool:
        """Admit a call or raise StoreUnavailable; True when the call is the half-open probe."""
        with self._lock:
            if self._state == CLOSED:
                return False
            wait = self._opened_at + self.open_s - self.clock()
            if self._state == OPEN and wait <= 0:
                self._state = HALF_OPEN
            if self._state == HALF_OPEN and not self._probing:
                self._probing = True
                return True
            self.rejected += 1
            retry = f"next try in {wait:.1f} s" if wait > 0 else "a probe is under way"
            refusal = StoreUnavailable(
                f"the object store is unavailable ({self._consecutive} consecutive failures); "
                f"not calling it until it recovers, {retry}",
                op="breaker",
                kind="breaker_open",
                detail=f"object store {what} breaker open; last: {self.last_error}",
            )
            refusal.retry_after_ms = max(100, int(wait * 1000))
            raise refusal

    def success(self, probe: bool) -> None:
        with self._lock:
            self._consecutive = 0
            self._state = CLOSED
            if probe:
                self._probing = False

    def failure(self, probe: bool, error: str) -> None:
        with self._lock:
            self.failures += 1
            self._consecutive += 1
            self.last_error = error
            if probe:
                self._probing = False
            if probe or self._consecutive >= self.threshold:
                self._state = OPEN
                self._opened_at = self.clock()

    def snapshot(self) -> BreakerState:
        with self._lock:
            wait = max(0.0, self._opened_at + self.open_s - self.clock()) if self._state == OPEN else 0.0
            return BreakerState(self._state, self._consecutive, wait, self.failures, self.rejected, self.last_error)


class GuardedStore(ObjectStore):
    """Any ObjectStore with every call passed through a CircuitBreaker."""

    def __init__(self, inner: ObjectStore, breaker: CircuitBreaker) -> None:
        self.inner = inner
        self.breaker = breaker
        self.uri = inner.uri

    def __getattr__(self, name: str) -> Any:  # backend extras (endpoint, bucket, ...)
        return getattr(self.inner, name)

    def _call(self, fn: Callable[[], T]) -> T:
        probe = self.breaker.before(self.uri)
        try:
            result = fn()
        except StoreUnavailable as exc:
            if exc.kind in ("read_only", "denied"):
                self.breaker.success(probe)  # the store answered: it refuses writes, reads may work
            else:
                self.breaker.failure(probe, exc.message)
            raise
        except BaseException:
            self.breaker.success(probe)  # the store answered (not found, condition lost, ...)
            raise
        self.breaker.success(probe)
        return result

    def get(self, key: str) -> StoredObject:
        return self._call(lambda: self.inner.get(key))

    def put(self, key: str, data: bytes, *, if_none_match: bool = False, if_match: str | None = None) -> str:
        return self._call(lambda: self.inner.put(key, data, if_none_match=if_none_match, if_match=if_match))

    def delete(self, key: str) -> None:
        self._call(lambda: self.inner.delete(key))

    def list(self, prefix: str) -> list[str]:
        return self._call(lambda: self.inner.list(prefix))

    def exists(self, key: str) -> bool:
        return self._call(lambda: self.inner.exists(key))

    def scan(self, prefix: str) -> builtins.list[ObjectInfo]:
        return self._call(lambda: self.inner.scan(prefix))

    def fault_counts(self) -> dict[tuple[str, str], int]:
        return self.inner.fault_counts()

    def close(self) -> None:
        self.inner.close()
