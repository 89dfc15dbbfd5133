"""Intents: the registry's journal of multi-step changes, kept in the object store itself.

A push and a delete each change several objects (blobs, a version record, a tombstone, aliases),
and no store offers a transaction over several keys: the local directory renames one file at a
time, S3 (and SeaweedFS) conditionally writes one object at a time. So before its first change a
multi-step operation writes an intent (``intents/<tenant>/<id>.json``: what it is about to do),
and removes it after its last. A process killed in between leaves the intent behind, and
``AdapterRegistry.recover`` (at start-up, and in the background for intents older than a minute)
finishes the operation from it:

- push: if a version record carries the intent's id, the version was claimed (the commit point):
  ``latest`` is moved forward to it; otherwise nothing was committed and nothing is done (the
  blobs already written are unreferenced, and garbage collection reclaims them after its grace).
- delete: every listed version is tombstoned, its record removed and the aliases that named it
  moved, again: each step is idempotent, so redoing a half-done delete finishes it.

Keeping the journal in the store (not on one server's disk) means any replica sharing the store
can finish what a dead one left, on the local store and S3 alike. Redoing an operation another
live replica is still running is harmless: both converge on the same objects.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from adapters_registry import crashpoints
from adapters_registry.storage.base import ObjectNotFound

if TYPE_CHECKING:
    from adapters_registry.registry import AdapterRegistry

log = logging.getLogger("adapters_registry.intents")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_OWNER = re.compile(r"^(?:domain:[a-z][a-z0-9_]{0,62}|[a-z0-9][a-z0-9._-]{0,62})$")  # a tenant or a domain

PREFIX = "intents/"


@dataclass(frozen=True)
class Intent:
    tenant: str
    op: str  # "push" or "delete"
    name: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    versions: tuple[int, ...] = ()
    created: float = field(default_factory=time.time)

    @property
    def key(self) -> str:
        # a domain's owner string ("domain:medical") holds a ':', which no key may: '=' stands
        # for it (no tenant or domain name holds either)
        return f"{PREFIX}{self.tenant.replace(':', '=')}/{self.id}.json"

    def to_json(self) -> bytes:
        body = {"op": self.op, "name": self.name, "versions": list(self.versions), "created": self.created}
        return json.dumps(body, sort_keys=True).encode()

    @classmethod
    def from_json(cls, key: str, data: bytes) -> Intent | None:
        """The intent stored under ``key``; None when it is damaged (a torn write cannot
        happen on either store, but a damaged object is skipped, not fatal)."""
        try:
            tenant, file = key[len(PREFIX) :].split("/", 1)
            tenant = tenant.replace("=", ":")
            raw: Any = json.loads(data)
            return cls(
                tenant=tenant,
                op=str(raw["op"]),
                name=str(raw["name"]),
                id=file.removesuffix(".json"),
                versions=tuple(int(v) for v in raw.get("versions", [])),
                created=float(raw.get("created", 0.0)),
            )
        except (ValueError, KeyError, TypeError):
            return None


def recover(registry: AdapterRegistry, older_than_s: float = 0.0) -> list[Intent]:
    """Finish every intent at least ``older_than_s`` old (0 at start-up: all of them); a
    damaged intent is removed. Return the intents finished."""
    store, done = registry.store, []
    cutoff = time.time() - older_than_s
    for key in store.list(PREFIX):
        try:
            intent = Intent.from_json(key, store.get(key).data)
        except ObjectNotFound:
            continue  # finished meanwhile
        if intent is not None and intent.created > cutoff:
            continue
        if intent is not None and _OWNER.match(intent.tenant) and _NAME.match(intent.name):
            with crashpoints.suppressed():
                registry.finish(intent)
            done.append(intent)
            log.warning("recovered an interrupted %s of %s/%s (%s)", intent.op, intent.tenant, intent.name, intent.id)
        store.delete(key)
    return done
