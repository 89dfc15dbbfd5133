"""A process-local, in-memory object store: for tests and throwaway servers."""

from __future__ import annotations

import builtins
import hashlib
import threading
import time
import uuid

from adapters_registry.storage.base import (
    ConditionFailed,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    StoredObject,
    check_key,
)


def _etag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class MemoryStore(ObjectStore):
    """Objects in a dict guarded by one lock; same semantics as LocalStore.

    Every instance is its own empty store: nothing is shared between two instances,
    even when they carry the same name, and nothing survives the process.
    """

    def __init__(self, name: str | None = None) -> None:
        self.name = name or uuid.uuid4().hex
        self.uri = f"memory://{self.name}"
        self._objects: dict[str, StoredObject] = {}
        self._times: dict[str, float] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> StoredObject:
        check_key(key)
        with self._lock:
            found = self._objects.get(key)
        if found is None:
            raise ObjectNotFound(f"no object {key!r}")
        return found

    def put(
        self,
        key: str,
        data: bytes,
        *,
        if_none_match: bool = False,
        if_match: str | None = None,
    ) -> str:
        check_key(key)
        stored = StoredObject(data=bytes(data), etag=_etag(data))
        with self._lock:
            current = self._objects.get(key)
            if if_none_match and current is not None:
                raise ConditionFailed(f"object {key!r} exists already")
            if if_match is not None:
                if current is None:
                    raise ConditionFailed(f"object {key!r} does not exist")
                if current.etag != if_match:
                    raise ConditionFailed(f"object {key!r} changed concurrently")
            self._objects[key] = stored
            self._times[key] = time.time()
        return stored.etag

    def delete(self, key: str) -> None:
        check_key(key)
        with self._lock:
            self._objects.pop(key, None)
            self._times.pop(key, None)

    def list(self, prefix: str) -> list[str]:
        with self._lock:
            return sorted(k for k in self._objects if k.startswith(prefix))

    def scan(self, prefix: str) -> builtins.list[ObjectInfo]:
        with self._lock:
            found = [
                (k, len(o.data), self._times.get(k, 0.0)) for k, o in self._objects.items() if k.startswith(prefix)
            ]
        return [ObjectInfo(*entry) for entry in sorted(found)]
