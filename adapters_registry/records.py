"""A version's record as stored (``adapters/<name>/versions/<n>.json``), and its parser."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from adapters_registry.manifest import Manifest, parse_manifest
from hub.errors import IntegrityError


@dataclass(frozen=True)
class VersionRecord:
    tenant: str
    name: str
    version: int
    created_at: str
    manifest: Manifest
    lora: dict[str, Any] = field(default_factory=dict)
    push_key: str = ""  # sha256 of the push's idempotency key (and tenant, name); "" without one
    intent: str = ""  # the id of the push intent that claimed this version

    @property
    def size_bytes(self) -> int:
        return sum(r.size for r in self.manifest.files.values())

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "name": self.name,
                "version": self.version,
                "created_at": self.created_at,
                "manifest": self.manifest.to_json(),
                "lora": self.lora,
                **({"push_key": self.push_key} if self.push_key else {}),
                **({"intent": self.intent} if self.intent else {}),
            },
            indent=2,
            sort_keys=True,
        ).encode()


def record_from_json(tenant: str, raw: Any, what: str) -> VersionRecord:
    """A version record as ``VersionRecord.to_json`` wrote it; IntegrityError naming ``what``
    when it is damaged."""
    record = None
    with contextlib.suppress(KeyError, TypeError, ValueError, AttributeError):
        manifest = parse_manifest(raw["manifest"], [])
        if manifest is not None:
            name, version, created = str(raw["name"]), int(raw["version"]), str(raw["created_at"])
            lora = dict(raw.get("lora") or {})
            keys = str(raw.get("push_key", "")), str(raw.get("intent", ""))
            record = VersionRecord(tenant, name, version, created, manifest, lora, *keys)
    if record is None:
        raise IntegrityError(f"stored record of {what} is damaged")
    return record
