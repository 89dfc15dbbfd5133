"""The object-store interface every storage backend implements.

A deliberately small surface (get / put / delete / list) with the two conditional writes
the registry needs to stay correct under concurrent publishers: create-only
(``if_none_match``) and compare-and-swap on the entity tag (``if_match``).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass

from hub.errors import Conflict, NotFound, Unavailable

_KEY_SEGMENT = re.compile(r"^[A-Za-z0-9._@=+-]+$")


class ObjectNotFound(NotFound):
    """No object under this key."""


class ConditionFailed(Conflict):
    """A conditional write lost: the object exists (create-only) or changed (CAS)."""


class StoreUnavailable(Unavailable):
    """The store cannot be reached or answered with a server-side failure."""


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

    def exists(self, key: str) -> bool:
        try:
            self.get(key)
        except ObjectNotFound:
            return False
        return True

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has none."""
