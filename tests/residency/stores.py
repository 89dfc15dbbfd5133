"""Store wrappers for residency tests: they count or interrupt calls to a real store."""

from __future__ import annotations

import threading
from collections import Counter

from adapters_registry.storage.base import ObjectStore, StoredObject, StoreUnavailable


class CountingStore(ObjectStore):
    """A real store whose calls are counted per (operation, key)."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self.uri = inner.uri
        self.calls: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def _count(self, op: str, key: str) -> None:
        with self._lock:
            self.calls[(op, key)] += 1

    def blob_gets(self) -> Counter[str]:
        with self._lock:
            return Counter({k: n for (op, k), n in self.calls.items() if op == "get" and "/blobs/" in k})

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    def get(self, key: str) -> StoredObject:
        self._count("get", key)
        return self.inner.get(key)

    def put(self, key: str, data: bytes, *, if_none_match: bool = False, if_match: str | None = None) -> str:
        self._count("put", key)
        return self.inner.put(key, data, if_none_match=if_none_match, if_match=if_match)

    def delete(self, key: str) -> None:
        self._count("delete", key)
        self.inner.delete(key)

    def list(self, prefix: str) -> list[str]:
        self._count("list", prefix)
        return self.inner.list(prefix)


class SwitchableStore(CountingStore):
    """A real store that can be switched unreachable (StoreUnavailable), for unit tests of the
    breaker and stale-if-error; the gRPC tests stop a real SeaweedFS instead."""

    down = False

    def _count(self, op: str, key: str) -> None:
        super()._count(op, key)
        if self.down:
            raise StoreUnavailable(f"object store {self.uri} is unreachable (test switch)")


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
