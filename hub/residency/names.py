"""Last-known name resolutions on local disk, beside the disk tier's blobs.

The resolver keeps its answers in memory and serves them while the store is unreachable
(stale-if-error); a restart empties memory, yet the disk tier still holds the adapters' verified
files. So each resolution that changes is also written here, and when the store is unreachable
and memory knows nothing, the resolver answers from here. A name the store says is gone is
forgotten here too. Layout: ``<dir>/names/<tenant>/<name>/<alias or version>.json``, each the
version record as the registry stores it (``adapters_registry.journal``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from adapters_registry.domains import owner_domain
from adapters_registry.journal import Journal
from adapters_registry.registry import VersionRecord, record_from_json
from hub.errors import IntegrityError

log = logging.getLogger("hub.residency")


class NameJournal:
    def __init__(self, root: Path) -> None:
        self.journal = Journal(Path(root) / "names")

    def remember(self, ref: str, record: VersionRecord) -> None:
        """``record.name@ref`` resolved to ``record``."""
        self.journal.write((_owner_part(record.tenant), record.name, ref), record.to_json())

    def recall(self, tenant: str, name: str, ref: str) -> VersionRecord | None:
        """The last record ``name@ref`` resolved to, or None (never written, or unreadable)."""
        data = self.journal.read((_owner_part(tenant), name, ref))
        if data is None:
            return None
        try:
            return record_from_json(tenant, json.loads(data), f"{name}@{ref}")
        except (ValueError, IntegrityError) as exc:
            log.warning("name journal: ignoring %s/%s@%s: %s", tenant, name, ref, exc)
            return None

    def forget(self, tenant: str, name: str, ref: str) -> None:
        self.journal.remove((_owner_part(tenant), name, ref))


def _owner_part(owner: str) -> str:
    """The owner as a journal path part: a domain's ``domain:medical`` (":" is no path part) as
    ``Domain.medical``, which no tenant name can spell (tenant names are lowercase)."""
    domain = owner_domain(owner)
    return owner if domain is None else f"Domain.{domain}"
