"""Stored adapters whose heads' labels differ from their task's labels now.

A task's fixed labels are checked at upload, but a plugin may change them later (a label
added in a new release): adapters stored before then keep answering with their old label set,
and nothing would say so. The hub looks once, at start-up (a warning in the log, one line per
adapter version), and `adapter-hub status` lists what it found (ResidencyStatus.label_drift:
the caller's own; all of them for the operator).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from adapters_registry.registry import AdapterRegistry
from hub.tasks.specs import TaskRegistry

log = logging.getLogger(__name__)

SCAN_LIMIT = 5_000  # version records read at start-up: bounds the time a large store adds
VERSION_KEY = re.compile(r"^tenants/([^/]+)/adapters/([^/]+)/versions/(\d+)\.json$")


@dataclass(frozen=True)
class LabelDrift:
    """One stored adapter version whose head for ``task`` has other labels than the task."""

    tenant: str
    adapter: str
    version: int
    task: str
    stored: tuple[str, ...]
    current: tuple[str, ...]

    def describe(self) -> str:
        new = [x for x in self.current if x not in self.stored]
        gone = [x for x in self.stored if x not in self.current]
        return (
            f"{self.adapter}@{self.version} (tenant {self.tenant}): task {self.task!r} answers with labels "
            f"{list(self.stored)}, the task's labels are now {list(self.current)} (new: {new}, gone: {gone}, "
            "or another order); retrain it on the task's labels and push it, or delete it"
        )


def find_label_drift(registry: AdapterRegistry, tasks: TaskRegistry, limit: int = SCAN_LIMIT) -> list[LabelDrift]:
    """Every stored version (the first ``limit``) with a head whose labels differ from its
    task's fixed labels. Tasks without fixed labels, and tasks not offered here, never drift."""
    found: list[LabelDrift] = []
    keys = [m.groups() for m in map(VERSION_KEY.match, registry.store.list("tenants/")) if m]
    if len(keys) > limit:
        log.warning("label check at start-up: %d adapter versions stored, only the first %d checked", len(keys), limit)
    for tenant, name, version in keys[:limit]:
        try:
            record = registry.get_version(tenant, name, int(version))
        except Exception:  # noqa: BLE001 - deleted meanwhile or unreadable: not this check's concern
            continue
        for head in record.manifest.tasks:
            contract = tasks.contract(head.task)
            if contract is not None and contract.labels is not None and tuple(head.labels) != contract.labels:
                found.append(LabelDrift(tenant, name, int(version), head.task, tuple(head.labels), contract.labels))
    return found


def check_label_drift(registry: AdapterRegistry, tasks: TaskRegistry) -> tuple[LabelDrift, ...]:
    """:func:`find_label_drift`, logged; a store that cannot be listed now only logs a warning."""
    try:
        found = find_label_drift(registry, tasks)
    except Exception as exc:  # noqa: BLE001 - start-up goes on; the store's own errors show elsewhere
        log.warning("label check at start-up skipped: the store could not be listed (%s)", type(exc).__name__)
        return ()
    for drift in found:
        log.warning("stored adapter's labels differ from its task's: %s", drift.describe())
    return tuple(found)
