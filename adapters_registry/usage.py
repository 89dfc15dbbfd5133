"""What a tenant's data occupies in the store, for its quota and ``tenant list``.

Counted from the blobs actually stored, each once however many versions share it, when a
version names it: a live version, or a deleted one whose blobs garbage collection has not
reclaimed yet (the tombstone keeps the deleted record). So deleting a version frees quota only
when its bytes are really gone (``ADAPTER_HUB_GC_GRACE_S`` after the delete, at the next
collection), and push-and-delete cycles cannot exceed the quota. Blobs no record names (a push
killed before it stored its version, or withdrawn by the quota re-check: never acknowledged)
are not the tenant's data: they are not counted, and garbage collection reclaims them.
"""

from __future__ import annotations

import json
from typing import Any

from adapters_registry.storage.base import ObjectNotFound, ObjectStore


def counted_blobs(store: ObjectStore, tenant_prefix: str) -> tuple[dict[str, int], list[str]]:
    """(sha256 -> size of every stored blob a live or deleted-uncollected version names, the
    tenant's adapter names with a live version)."""
    present = {info.key.rsplit("/", 1)[1]: info.size for info in store.scan(tenant_prefix + "blobs/")}
    named: set[str] = set()
    names: set[str] = set()
    prefix = tenant_prefix + "adapters/"
    for key in store.list(prefix):
        kind = key[len(prefix) :].split("/")
        if len(kind) != 3 or kind[1] not in ("versions", "tombstones"):
            continue
        if kind[1] == "versions":
            names.add(kind[0])
        try:
            raw: Any = json.loads(store.get(key).data or b"{}")
        except (ObjectNotFound, ValueError):
            continue  # deleted meanwhile, or damaged (`adapter-hub verify` reports it)
        record = raw if kind[1] == "versions" else (raw.get("record") if isinstance(raw, dict) else None)
        named.update(_digests(record))
    return {d: present[d] for d in named if d in present}, sorted(names)


def _digests(record: Any) -> list[str]:
    try:
        return [str(f["sha256"]) for f in record["manifest"]["files"].values()]
    except (KeyError, TypeError, AttributeError):
        return []
