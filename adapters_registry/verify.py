"""``adapter-hub verify``: check every stored blob and version record, report (or quarantine)
the damaged ones.

A blob is damaged when its bytes do not hash to its name (``blobs/<sha256>``); a version
record when it does not parse, or names a blob that is missing or damaged. Quarantine moves a
damaged object to ``quarantine/<original key>.<time>`` (kept for inspection, out of every
listing): a damaged blob is then simply missing, and the next upload of that content writes it
whole again; a damaged version record no longer appears in listings (it already was skipped
there, and reported). Nothing else changes: a version whose blob is damaged stays listed and
is refused at load with DATA_LOSS until its content is uploaded again.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field

from adapters_registry.artifact import sha256_hex
from adapters_registry.records import record_from_json
from adapters_registry.storage.base import ObjectNotFound, ObjectStore
from hub.errors import IntegrityError

log = logging.getLogger("adapters_registry.verify")
QUARANTINE = "quarantine/"


@dataclass(frozen=True)
class Damage:
    namespace: str
    kind: str  # "blob" (bytes do not match the digest), "record" (does not parse), "missing" (a blob a record names)
    what: str  # the blob's digest, or NAME@VERSION (with the file for "missing")
    quarantined: bool = False


@dataclass
class VerifyReport:
    blobs: int = 0
    records: int = 0
    damaged: list[Damage] = field(default_factory=list)


def verify(store: ObjectStore, quarantine: bool = False) -> VerifyReport:
    """Check every blob and version record under ``tenants/`` and ``domains/``."""
    report = VerifyReport()
    bad_blobs: set[tuple[str, str]] = set()
    keys = store.list("tenants/") + store.list("domains/")
    for key in keys:
        parts = key.split("/")
        if len(parts) == 4 and parts[2] == "blobs":
            report.blobs += 1
            if not _blob_ok(store, key, parts[3]):
                bad_blobs.add((f"{parts[0]}/{parts[1]}", parts[3]))
                report.damaged.append(Damage(parts[1], "blob", parts[3], quarantine and _move(store, key)))
    for key in keys:
        parts = key.split("/")
        if len(parts) == 6 and parts[2] == "adapters" and parts[4] == "versions":
            report.records += 1
            _check_record(store, key, parts, bad_blobs, quarantine, report)
    for damage in report.damaged:
        log.warning(
            "verify: damaged %s in %s: %s%s",
            damage.kind,
            damage.namespace,
            damage.what,
            " (quarantined)" if damage.quarantined else "",
        )
    return report


def _blob_ok(store: ObjectStore, key: str, digest: str) -> bool:
    try:
        return sha256_hex(store.get(key).data) == digest
    except ObjectNotFound:
        return True  # removed meanwhile (garbage collection): nothing to check


def _check_record(
    store: ObjectStore, key: str, parts: list[str], bad: set[tuple[str, str]], quarantine: bool, report: VerifyReport
) -> None:
    namespace, what = parts[1], f"{parts[3]}@{parts[5].split('.', 1)[0].lstrip('0') or '0'}"
    root = f"{parts[0]}/{parts[1]}"
    try:
        record = record_from_json(namespace, json.loads(store.get(key).data), what)
    except ObjectNotFound:
        return
    except (ValueError, IntegrityError):
        report.damaged.append(Damage(namespace, "record", what, quarantine and _move(store, key)))
        return
    for path, file in record.manifest.files.items():
        if (root, file.sha256) not in bad and not store.exists(f"{root}/blobs/{file.sha256}"):
            report.damaged.append(Damage(namespace, "missing", f"{what} {path}"))


def _move(store: ObjectStore, key: str) -> bool:
    """Copy the object under quarantine/ and remove it; True once moved."""
    try:
        data = store.get(key).data
    except ObjectNotFound:
        return False
    store.put(f"{QUARANTINE}{key}.{int(time.time())}", data)
    store.delete(key)
    return True
