"""The object-store interface every storage backend implements.

A deliberately small surface (get / put / delete / list) with the two conditional writes
the registry needs to stay correct under concurrent publishers: create-only
(``if_none_match``) and compare-and-swap on the entity tag (``if_match``).
"""

from __future__ import annotations

import builtins
import logging
import re
import threading
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass

from hub.errors import Conflict, NotFound, ResourceExhausted, Unavailable

log = logging.getLogger("adapters_registry.storage")

_KEY_SEGMENT = re.compile(r"^[A-Za-z0-9._@=+-]+$")


class ObjectNotFound(NotFound):
    """No object under this key."""


class ConditionFailed(Conflict):
    """A conditional write lost: the object exists (create-only) or changed (CAS)."""


class StoreFault:
    """What a store failure was, for the server log and ``adapter_hub_store_errors_total``:
    ``op`` (get, put, delete, list, ...), ``kind`` (full, read_only, denied, unreachable,
    failed) and ``detail``, which may name paths, endpoints, buckets and keys and so never
    reaches a client (the message does)."""

    op: str = ""
    kind: str = "failed"
    detail: str = ""


class StoreUnavailable(StoreFault, Unavailable):
    """The store cannot be reached, refuses to write (read-only, permission denied) or answered
    with a server-side failure; the call may succeed later."""

    def __init__(self, message: str, *, op: str = "", kind: str = "unreachable", detail: str = "") -> None:
        super().__init__(message)
        self.op, self.kind, self.detail = op, kind, detail or message
        self.retry_after_ms = 2000 if kind in ("read_only", "denied") else 1000


class StoreFull(StoreFault, ResourceExhausted):
    """The store has no room: its disk is full (ENOSPC) or a quota at the store is reached."""

    def __init__(self, message: str, *, op: str = "", kind: str = "full", detail: str = "") -> None:
        super().__init__(message)
        self.op, self.kind, self.detail = op, kind, detail or message


UNREACHABLE = "the object store is unreachable; retry in a few seconds"
READ_ONLY = "the object store refuses writes (read-only or permission denied); retry later or ask the operator"
FULL = "the object store is full; delete unused versions, or ask the operator to free space, then retry"


@dataclass(frozen=True)
class ObjectInfo:
    """A key with its size in bytes and last modification (seconds since the epoch)."""

    key: str
    size: int
    modified: float


@dataclass(frozen=True)
class StoredObject:
    data: bytes
    etag: str


def check_key(key: str) -> str:
    """Keys are relative, '/'-separated, and made of safe segments (no '..', no '')."""
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") or not _KEY_SEGMENT.match(p) for p in parts):
        raise ValueError(f"invalid object key {key!r}")
    return key


class ObjectStore(ABC):
    """Bytes under string keys, with conditional writes."""

    #: A URI naming the store, safe to show (no credentials).
    uri: str

    @abstractmethod
    def get(self, key: str) -> StoredObject:
        """Return the object's bytes and entity tag; raise ObjectNotFound."""

    @abstractmethod
    def put(
        self,
        key: str,
        data: bytes,
        *,
        if_none_match: bool = False,
        if_match: str | None = None,
    ) -> str:
        """Store ``data`` under ``key`` and return its new entity tag.

        ``if_none_match=True`` writes only if no object exists; ``if_match`` only if the
        current entity tag equals it. A lost condition raises ConditionFailed.
        """

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; removing a missing object is not an error."""

    @abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Every key that starts with ``prefix``, sorted."""

    def scan(self, prefix: str) -> builtins.list[ObjectInfo]:
        """Every key under ``prefix`` with its size and modification time (sorted by key). The
        default reads each object; backends override it with their listing's own metadata."""
        out = []
        for key in self.list(prefix):
            try:
                out.append(ObjectInfo(key, len(self.get(key).data), 0.0))
            except ObjectNotFound:
                continue
        return out

    def record_fault(self, fault: StoreFault) -> None:
        """Count and log a failure (``fault_counts`` feeds adapter_hub_store_errors_total)."""
        lock = self.__dict__.setdefault("_fault_lock", threading.Lock())
        with lock:
            counts: Counter[tuple[str, str]] = self.__dict__.setdefault("_fault_counter", Counter())
            counts[(fault.op, fault.kind)] += 1
        log.warning("store %s failed (%s): %s", fault.op, fault.kind, fault.detail)

    def fault_counts(self) -> dict[tuple[str, str], int]:
        """Failures so far by (op, kind)."""
        return dict(self.__dict__.get("_fault_counter", {}))

    def exists(self, key: str) -> bool:
        try:
            self.get(key)
        except ObjectNotFound:
            return False
        return True

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has none."""
