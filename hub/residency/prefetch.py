"""Start-up loads: the adapters the pin and prefetch settings name, loaded before serving."""

from __future__ import annotations

import logging

from hub.residency.residency import P, Packer, Residency, Resident

log = logging.getLogger("hub.residency")


def parse_entry(entry: str) -> tuple[str, str, str]:
    """``tenant/name[@version]`` (a number or an alias) from the prefetch and pin settings."""
    tenant, slash, rest = entry.strip().partition("/")
    name, _, ref = rest.partition("@")
    if not slash or not tenant or not name:
        raise ValueError(f"expected TENANT/NAME[@VERSION], got {entry!r}")
    return tenant, name, ref


def prefetch(residency: Residency, entries: str, pack: Packer[P], pin: bool = False) -> list[Resident]:
    """Load (or pin) each comma-separated entry; problems are logged, never raised."""
    done = []
    for entry in filter(None, (e.strip() for e in entries.split(","))):
        try:
            tenant, name, ref = parse_entry(entry)
            record = residency.resolve(tenant, name, ref)
            done.append(residency.pin(record, pack) if pin else residency.load(record, pack))
        except Exception as exc:  # noqa: BLE001 - start-up goes on; the adapter loads on first use
            log.warning("prefetch of %s failed: %s", entry, getattr(exc, "message", exc))
    return done
