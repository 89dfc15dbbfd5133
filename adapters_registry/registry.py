"""Versioned, per-tenant adapter storage on top of any ObjectStore.

Layout (all keys under ``tenants/<tenant>/``):

    blobs/<sha256>                                  file contents, content-addressed
    adapters/<name>/versions/<00000007>.json        version record (immutable once written)
    adapters/<name>/tombstones/<00000007>           a deleted version: its number is never reused
    adapters/<name>/aliases/<alias>.json            {"version": 7}, moved by compare-and-swap

Publishing writes the blobs first, then claims the next version number with a create-only
write of its record, so two racing publishers each get their own number and nothing is
half-visible. Aliases move with If-Match, so racing movers never lose an update.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from adapters_registry import names
from adapters_registry.artifact import Artifact, sha256_hex
from adapters_registry.manifest import MANIFEST_FILE, FileRecord, Manifest, parse_manifest
from adapters_registry.storage.base import ConditionFailed, ObjectNotFound, ObjectStore
from hub.errors import Conflict, IntegrityError, NotFound

LATEST = "latest"
_MAX_ATTEMPTS = 50


def check_name(kind: str, value: str) -> str:
    """A name before it becomes part of a storage key: the rules of adapters_registry/names.py
    (the edge checked them already; this keeps every key safe whoever calls the registry)."""
    return names.check(kind, value)


def check_alias(alias: str) -> str:
    return names.check("alias", alias)


@dataclass(frozen=True)
class VersionRecord:
    tenant: str
    name: str
    version: int
    created_at: str
    manifest: Manifest
    lora: dict[str, Any] = field(default_factory=dict)

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
            },
            indent=2,
            sort_keys=True,
        ).encode()


@dataclass(frozen=True)
class AdapterListing:
    name: str
    versions: list[VersionRecord]
    aliases: dict[str, int]


class AdapterRegistry:
    """All adapter state of all tenants, kept in one object store."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    # ---- keys -------------------------------------------------------------------------
    @staticmethod
    def _tenant_prefix(tenant: str) -> str:
        return f"tenants/{check_name('tenant', tenant)}/"

    def _adapter_prefix(self, tenant: str, name: str) -> str:
        return f"{self._tenant_prefix(tenant)}adapters/{check_name('adapter name', name)}/"

    def _version_key(self, tenant: str, name: str, version: int) -> str:
        return f"{self._adapter_prefix(tenant, name)}versions/{version:08d}.json"

    def _alias_key(self, tenant: str, name: str, alias: str) -> str:
        return f"{self._adapter_prefix(tenant, name)}aliases/{alias}.json"

    def _blob_key(self, tenant: str, digest: str) -> str:
        return f"{self._tenant_prefix(tenant)}blobs/{digest}"

    # ---- publish ----------------------------------------------------------------------
    def publish(self, tenant: str, name: str, artifact: Artifact) -> VersionRecord:
        """Store a validated artifact as the next version and point ``latest`` at it."""
        self._adapter_prefix(tenant, name)
        for path, data in artifact.files.items():
            if path != MANIFEST_FILE:
                self._put_blob(tenant, data)
        lora = {
            "rank": artifact.lora.rank,
            "alpha": artifact.lora.alpha,
            "target_modules": artifact.target_modules,
        }
        for _ in range(_MAX_ATTEMPTS):
            version = self._next_version(tenant, name)
            record = VersionRecord(tenant, name, version, _now(), artifact.manifest, lora)
            try:
                self.store.put(self._version_key(tenant, name, version), record.to_json(), if_none_match=True)
            except ConditionFailed:
                continue
            self._advance_latest(tenant, name, version)
            return record
        raise Conflict(f"too many concurrent publishers of {name!r}; try again")

    def _put_blob(self, tenant: str, data: bytes) -> None:
        with contextlib.suppress(ConditionFailed):  # same content stored already
            self.store.put(self._blob_key(tenant, sha256_hex(data)), data, if_none_match=True)

    def _next_version(self, tenant: str, name: str) -> int:
        prefix = self._adapter_prefix(tenant, name)
        numbers = [
            int(key.rsplit("/", 1)[1].split(".")[0])
            for sub in ("versions/", "tombstones/")
            for key in self.store.list(prefix + sub)
        ]
        return max(numbers, default=0) + 1

    def _advance_latest(self, tenant: str, name: str, version: int) -> None:
        """Move ``latest`` forward to ``version`` unless a newer one got there first."""
        self._update_alias(tenant, name, LATEST, lambda cur: max(cur or 0, version))

    def _update_alias(self, tenant: str, name: str, alias: str, compute: Any) -> int | None:
        key = self._alias_key(tenant, name, alias)
        for _ in range(_MAX_ATTEMPTS):
            try:
                current = self.store.get(key)
                old: int | None = json.loads(current.data)["version"]
                etag: str | None = current.etag
            except ObjectNotFound:
                old, etag = None, None
            new = compute(old)
            if new == old:
                return old
            try:
                if new is None:
                    self.store.delete(key)
                elif etag is None:
                    self.store.put(key, json.dumps({"version": new}).encode(), if_none_match=True)
                else:
                    self.store.put(key, json.dumps({"version": new}).encode(), if_match=etag)
                return old
            except ConditionFailed:
                continue
        raise Conflict(f"alias {alias!r} of {name!r} is moving concurrently; try again")

    # ---- read -------------------------------------------------------------------------
    def resolve(self, tenant: str, name: str, ref: str = "") -> VersionRecord:
        """Find a version by number, alias, or (empty ref) ``latest``; NotFound otherwise."""
        ref = ref or LATEST
        if ref.isascii() and ref.isdigit():
            version = int(ref)
        else:
            try:
                version = json.loads(self.store.get(self._alias_key(tenant, name, check_alias(ref))).data)["version"]
            except ObjectNotFound:
                raise NotFound(f"adapter {name}@{ref} not found") from None
        return self.get_version(tenant, name, version)

    def get_version(self, tenant: str, name: str, version: int) -> VersionRecord:
        try:
            raw = json.loads(self.store.get(self._version_key(tenant, name, version)).data)
        except ObjectNotFound:
            raise NotFound(f"adapter {name}@{version} not found") from None
        return record_from_json(tenant, raw, f"{name}@{version}")

    def read_files(self, record: VersionRecord) -> dict[str, bytes]:
        """Fetch every file of a version, checking each against its recorded sha256."""
        files = {path: self._read_blob(record, path, rec) for path, rec in record.manifest.files.items()}
        files[MANIFEST_FILE] = record.manifest.dumps()
        return files

    def read_file(self, record: VersionRecord, path: str) -> bytes:
        """One file of a version (a path of its manifest), checked against its recorded sha256."""
        return self._read_blob(record, path, record.manifest.files[path])

    def _read_blob(self, record: VersionRecord, path: str, expected: FileRecord) -> bytes:
        try:
            data = self.store.get(self._blob_key(record.tenant, expected.sha256)).data
        except ObjectNotFound:
            raise IntegrityError(f"{record.name}@{record.version}: stored file {path} is missing") from None
        if len(data) != expected.size or sha256_hex(data) != expected.sha256:
            raise IntegrityError(
                f"{record.name}@{record.version}: stored file {path} does not match its sha256; refusing to serve it"
            )
        return data

    def aliases(self, tenant: str, name: str) -> dict[str, int]:
        prefix = self._adapter_prefix(tenant, name) + "aliases/"
        result = {}
        for key in self.store.list(prefix):
            try:
                result[key[len(prefix) : -len(".json")]] = json.loads(self.store.get(key).data)["version"]
            except ObjectNotFound:
                continue
        return result

    def versions(self, tenant: str, name: str) -> list[int]:
        prefix = self._adapter_prefix(tenant, name) + "versions/"
        return sorted(int(k[len(prefix) :].split(".")[0]) for k in self.store.list(prefix))

    def names(self, tenant: str) -> list[str]:
        prefix = self._tenant_prefix(tenant) + "adapters/"
        return sorted({k[len(prefix) :].split("/", 1)[0] for k in self.store.list(prefix) if "/versions/" in k})

    def listings(self, tenant: str) -> list[AdapterListing]:
        return [
            AdapterListing(
                name,
                [self.get_version(tenant, name, v) for v in self.versions(tenant, name)],
                self.aliases(tenant, name),
            )
            for name in self.names(tenant)
        ]

    def usage(self, tenant: str) -> tuple[int, list[str]]:
        """Bytes stored by every live version of the tenant, and its adapter names."""
        prefix = self._tenant_prefix(tenant) + "adapters/"
        names, total = set(), 0
        for key in self.store.list(prefix):
            if "/versions/" in key:
                names.add(key[len(prefix) :].split("/", 1)[0])
                try:
                    record = json.loads(self.store.get(key).data)
                except ObjectNotFound:
                    continue  # deleted meanwhile
                total += sum(f["size"] for f in record["manifest"]["files"].values())
        return total, sorted(names)

    # ---- change -----------------------------------------------------------------------
    def set_alias(self, tenant: str, name: str, alias: str, ref: str) -> tuple[int | None, int]:
        """Point ``alias`` at the version ``ref`` names; return (previous, new)."""
        check_alias(alias)
        target = self.resolve(tenant, name, ref).version
        previous = self._update_alias(tenant, name, alias, lambda _cur: target)
        return previous, target

    def delete(self, tenant: str, name: str, ref: str = "") -> list[int]:
        """Delete one version (ref given) or the whole adapter (ref empty)."""
        versions = [self.resolve(tenant, name, ref).version] if ref else self.versions(tenant, name)
        if not versions:
            raise NotFound(f"adapter {name} not found")
        prefix = self._adapter_prefix(tenant, name)
        for version in versions:
            self.store.put(f"{prefix}tombstones/{version:08d}", b"", if_none_match=False)
            self.store.delete(self._version_key(tenant, name, version))
        remaining = self.versions(tenant, name)
        for alias, target in self.aliases(tenant, name).items():
            if target in versions:
                replacement = max(remaining, default=None) if alias == LATEST else None
                self._update_alias(tenant, name, alias, lambda cur, t=target, r=replacement: r if cur == t else cur)
        return versions


def record_from_json(tenant: str, raw: Any, what: str) -> VersionRecord:
    """A version record as ``VersionRecord.to_json`` wrote it; IntegrityError naming ``what``
    when it is damaged."""
    record = None
    with contextlib.suppress(KeyError, TypeError, ValueError, AttributeError):
        manifest = parse_manifest(raw["manifest"], [])
        if manifest is not None:
            name, version, created = str(raw["name"]), int(raw["version"]), str(raw["created_at"])
            record = VersionRecord(tenant, name, version, created, manifest, dict(raw.get("lora") or {}))
    if record is None:
        raise IntegrityError(f"stored record of {what} is damaged")
    return record


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
