"""Versioned, per-tenant adapter storage on top of any ObjectStore.

Layout (all keys under ``tenants/<tenant>/``; a domain's adapters, owner ``domain:<domain>``
(adapters_registry/domains.py), under ``domains/<domain>/`` in the same layout):

    blobs/<sha256>                                  file contents, content-addressed
    adapters/<name>/versions/<00000007>.json        version record (immutable once written)
    adapters/<name>/tombstones/<00000007>           a deleted version: its number is never reused
                                                    (holds its record and when it was deleted)
    adapters/<name>/aliases/<alias>.json            {"version": 7}, moved by compare-and-swap
intents/<tenant>/<id>.json                          a push or delete under way (adapters_registry/intents.py)

Publishing writes the blobs first, then claims the next version number with a create-only
write of its record, so two racing publishers each get their own number and nothing is
half-visible. Aliases move with If-Match, so racing movers never lose an update. A push and a
delete are journaled as intents, so a crash at any instruction is finished by ``recover``.

``latest`` has one clear rule: it names the version it was last moved to (a push moves it
forward, a delete of its version moves it to the newest remaining one, ``set_alias`` anywhere);
if that version is gone (a delete killed before it moved the alias, until recovery runs),
``latest`` reads as the newest live version. Any other alias naming a deleted version is
removed by the delete (or its recovery).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from adapters_registry import crashpoints, names
from adapters_registry.artifact import Artifact, sha256_hex
from adapters_registry.domains import OWNER_PREFIX as DOMAIN_OWNER
from adapters_registry.domains import check_domain
from adapters_registry.intents import Intent, recover
from adapters_registry.manifest import MANIFEST_FILE, FileRecord
from adapters_registry.records import VersionRecord, record_from_json
from adapters_registry.storage.base import ConditionFailed, ObjectNotFound, ObjectStore
from adapters_registry.usage import counted_blobs
from hub.errors import Conflict, IntegrityError, NotFound

__all__ = [
    "LATEST",
    "AdapterListing",
    "AdapterRegistry",
    "VersionRecord",
    "check_alias",
    "check_name",
    "record_from_json",
]
log = logging.getLogger("adapters_registry.registry")
LATEST = "latest"
_MAX_ATTEMPTS = 50
_KEYED_LOOKBACK = 64  # a retried push finds its first attempt among the adapter's newest versions


def check_name(kind: str, value: str) -> str:
    """A name before it becomes part of a storage key: the rules of adapters_registry/names.py
    (the edge checked them already; this keeps every key safe whoever calls the registry)."""
    return names.check(kind, value)


def check_alias(alias: str) -> str:
    return names.check("alias", alias)


@dataclass(frozen=True)
class AdapterListing:
    name: str
    versions: list[VersionRecord]
    aliases: dict[str, int]
    damaged: list[int] = field(default_factory=list)  # versions whose stored record is damaged


class AdapterRegistry:
    """All adapter state of all tenants, kept in one object store."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    # ---- keys -------------------------------------------------------------------------
    @staticmethod
    def _tenant_prefix(tenant: str) -> str:
        if tenant.startswith(DOMAIN_OWNER):  # a domain's catalog, beside the tenants'
            return f"domains/{check_domain(tenant[len(DOMAIN_OWNER) :])}/"
        return f"tenants/{check_name('tenant', tenant)}/"

    def _adapter_prefix(self, tenant: str, name: str) -> str:
        return f"{self._tenant_prefix(tenant)}adapters/{check_name('adapter name', name)}/"

    def _version_key(self, tenant: str, name: str, version: int) -> str:
        return f"{self._adapter_prefix(tenant, name)}versions/{version:08d}.json"

    def _alias_key(self, tenant: str, name: str, alias: str) -> str:
        return f"{self._adapter_prefix(tenant, name)}aliases/{alias}.json"

    def _blob_key(self, tenant: str, digest: str) -> str:
        return f"{self._tenant_prefix(tenant)}blobs/{digest}"

    def _tombstone_key(self, tenant: str, name: str, version: int) -> str:
        return f"{self._adapter_prefix(tenant, name)}tombstones/{version:08d}"

    # ---- publish ----------------------------------------------------------------------
    def publish(self, tenant: str, name: str, artifact: Artifact, idempotency_key: str = "") -> VersionRecord:
        """Store a validated artifact as the next version and point ``latest`` at it.

        With ``idempotency_key``, a push retried after a lost answer (or a crash) returns the
        version its first attempt stored instead of storing another. Every blob is written
        again, not skipped when present: that makes a damaged blob whole (its bytes are
        content-addressed) and renews its age, so garbage collection's grace protects a push
        in flight. The version record is the commit point; the intent lets ``recover`` move
        ``latest`` if the process dies after it."""
        self._adapter_prefix(tenant, name)
        push_key = _push_key(tenant, name, idempotency_key) if idempotency_key else ""
        if push_key and (earlier := self._find_push(tenant, name, push_key)) is not None:
            return earlier
        for path, data in artifact.files.items():
            if path != MANIFEST_FILE:
                self.store.put(self._blob_key(tenant, sha256_hex(data)), data)
        crashpoints.reached("push.blobs_written")
        lora = {
            "rank": artifact.lora.rank,
            "alpha": artifact.lora.alpha,
            "target_modules": artifact.target_modules,
        }
        intent = self._begin(Intent(tenant, "push", name))
        for _ in range(_MAX_ATTEMPTS):
            version = self._next_version(tenant, name)
            record = VersionRecord(tenant, name, version, _now(), artifact.manifest, lora, push_key, intent.id)
            try:
                self.store.put(self._version_key(tenant, name, version), record.to_json(), if_none_match=True)
            except ConditionFailed:
                continue
            crashpoints.reached("push.claimed")
            self._advance_latest(tenant, name, version)
            crashpoints.reached("push.latest_moved")
            self.store.delete(intent.key)
            return record
        self.store.delete(intent.key)
        raise Conflict(f"too many concurrent publishers of {name!r}; try again")

    def _begin(self, intent: Intent) -> Intent:
        self.store.put(intent.key, intent.to_json())
        crashpoints.reached(f"{intent.op}.intent_written")
        return intent

    def _find_push(self, tenant: str, name: str, push_key: str = "", intent: str = "") -> VersionRecord | None:
        """The newest version (of the last few) whose record carries ``push_key`` or ``intent``."""
        for version in reversed(self.versions(tenant, name)[-_KEYED_LOOKBACK:]):
            try:
                record = self.get_version(tenant, name, version)
            except (NotFound, IntegrityError):
                continue
            if (push_key and record.push_key == push_key) or (intent and record.intent == intent):
                return record
        return None

    def added_bytes(self, tenant: str, artifact: Artifact) -> int:
        """Bytes the artifact would add to the tenant's usage: its files not counted already."""
        counted, _ = counted_blobs(self.store, self._tenant_prefix(tenant))
        blobs = {sha256_hex(d): len(d) for p, d in artifact.files.items() if p != MANIFEST_FILE}
        return sum(size for digest, size in blobs.items() if digest not in counted)

    def _next_version(self, tenant: str, name: str) -> int:
        prefix = self._adapter_prefix(tenant, name)
        numbers = [_number(key) for sub in ("versions/", "tombstones/") for key in self.store.list(prefix + sub)]
        return max((n for n in numbers if n is not None), default=0) + 1

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
        try:
            return self.get_version(tenant, name, version)
        except NotFound:
            live = self.versions(tenant, name) if ref == LATEST else []
            if not live:
                raise
            return self.get_version(tenant, name, live[-1])  # `latest` names a deleted version

    def get_version(self, tenant: str, name: str, version: int) -> VersionRecord:
        try:
            raw = json.loads(self.store.get(self._version_key(tenant, name, version)).data)
        except ObjectNotFound:
            raise NotFound(f"adapter {name}@{version} not found") from None
        except ValueError:  # truncated or not JSON
            raise IntegrityError(f"stored record of {name}@{version} is damaged") from None
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
        return sorted(n for n in map(_number, self.store.list(prefix)) if n is not None)

    def names(self, tenant: str) -> list[str]:
        prefix = self._tenant_prefix(tenant) + "adapters/"
        return sorted({k[len(prefix) :].split("/", 1)[0] for k in self.store.list(prefix) if "/versions/" in k})

    def listings(self, tenant: str) -> list[AdapterListing]:
        """Every adapter with its versions; a damaged version record is left out and named in
        ``damaged`` (and the log), not allowed to fail the whole listing."""
        out = []
        for name in self.names(tenant):
            records, damaged = [], []
            for version in self.versions(tenant, name):
                try:
                    records.append(self.get_version(tenant, name, version))
                except NotFound:
                    continue  # deleted meanwhile
                except IntegrityError:
                    log.warning("listing %s: the record of %s@%d is damaged; skipped", tenant, name, version)
                    damaged.append(version)
            out.append(AdapterListing(name, records, self.aliases(tenant, name), damaged))
        return out

    def usage(self, tenant: str) -> tuple[int, list[str]]:
        """Bytes the tenant's data occupies in the store (adapters_registry/usage.py: shared
        blobs once, deleted versions' until reclaimed), and its adapter names."""
        counted, names = counted_blobs(self.store, self._tenant_prefix(tenant))
        return sum(counted.values()), names

    # ---- change -----------------------------------------------------------------------
    def set_alias(self, tenant: str, name: str, alias: str, ref: str) -> tuple[int | None, int]:
        """Point ``alias`` at the version ``ref`` names; return (previous, new)."""
        check_alias(alias)
        target = self.resolve(tenant, name, ref).version
        previous = self._update_alias(tenant, name, alias, lambda _cur: target)
        crashpoints.reached("alias.moved")
        return previous, target

    def delete(self, tenant: str, name: str, ref: str = "", withdrawn: bool = False) -> list[int]:
        """Delete one version (ref given) or the whole adapter (ref empty), journaled: a crash
        part-way is finished by ``recover``, so no version stays both live and deleted and no
        alias keeps naming a deleted version. ``withdrawn``: a push taken back before it was
        acknowledged (its blobs are not the tenant's data: not counted, reclaimed by GC)."""
        versions = [self.resolve(tenant, name, ref).version] if ref else self.versions(tenant, name)
        if not versions:
            raise NotFound(f"adapter {name} not found")
        intent = self._begin(Intent(tenant, "delete", name, versions=tuple(versions)))
        self._apply_delete(tenant, name, versions, keep_record=not withdrawn)
        self.store.delete(intent.key)
        return versions

    def _apply_delete(
        self, tenant: str, name: str, versions: list[int] | tuple[int, ...], keep_record: bool = True
    ) -> None:
        """Tombstone each version (its record and the time, kept for quota and garbage
        collection), remove its record, then move the aliases naming it: every step may be
        redone, so recovery runs this again after a crash."""
        for version in versions:
            key = self._version_key(tenant, name, version)
            try:
                record = json.loads(self.store.get(key).data)
            except ObjectNotFound:
                continue  # removed already (its tombstone was written first)
            except ValueError:
                record = None  # a damaged record: tombstoned all the same
            stone = {"deleted_at": time.time(), "record": record if keep_record else None}
            self.store.put(self._tombstone_key(tenant, name, version), json.dumps(stone).encode())
            crashpoints.reached("delete.tombstoned")
            self.store.delete(key)
        crashpoints.reached("delete.records_removed")
        remaining = self.versions(tenant, name)
        for alias, target in self.aliases(tenant, name).items():
            if target in versions:
                replacement = max(remaining, default=None) if alias == LATEST else None
                self._update_alias(tenant, name, alias, lambda cur, t=target, r=replacement: r if cur == t else cur)
        crashpoints.reached("delete.aliases_moved")

    # ---- recovery ---------------------------------------------------------------------
    def recover(self, older_than_s: float = 0.0) -> list[Intent]:
        """Finish every push and delete a crash interrupted (intents at least ``older_than_s``
        old); return the intents finished (adapters_registry/intents.py)."""
        return recover(self, older_than_s)

    def finish(self, intent: Intent) -> None:
        """Redo what ``intent`` journaled: a delete is applied again; a push whose version was
        claimed moves ``latest`` forward to it (one whose version was not has nothing to undo)."""
        if intent.op == "delete":
            self._apply_delete(intent.tenant, intent.name, intent.versions)
        elif intent.op == "push" and (record := self._find_push(intent.tenant, intent.name, intent=intent.id)):
            self._advance_latest(intent.tenant, intent.name, record.version)


def _push_key(tenant: str, name: str, key: str) -> str:
    return hashlib.sha256(f"{tenant}\0{name}\0{key}".encode()).hexdigest()


def _number(key: str) -> int | None:
    """The version number a versions/ or tombstones/ key ends in; None for a stray key."""
    stem = key.rsplit("/", 1)[-1].split(".", 1)[0]
    return int(stem) if stem.isdigit() else None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
