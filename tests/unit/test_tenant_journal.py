"""Tenant keys on a server restarted while the store is unreachable: known keys keep working
from the journal on disk, unknown and revoked ones do not."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters_registry.journal import Journal
from adapters_registry.storage.memory import MemoryStore
from adapters_registry.tenants import TenantDirectory
from hub.errors import Unauthenticated, Unavailable
from tests.residency.stores import SwitchableStore


def test_known_keys_survive_a_restart_during_an_outage_and_revocations_are_not_undone(tmp_path: Path) -> None:
    store = SwitchableStore(MemoryStore())
    journal = Journal(tmp_path / "tenants")
    first = TenantDirectory(store, journal=journal)
    acme_key, _ = first.create_key("acme")
    rival_key, _ = first.create_key("rival")
    never_used_key, _ = first.create_key("quiet")
    assert first.authenticate(acme_key) == "acme" and first.authenticate(rival_key) == "rival"
    first.revoke("rival")

    store.down = True
    restarted = TenantDirectory(store, journal=Journal(tmp_path / "tenants"))
    assert restarted.authenticate(acme_key) == "acme"  # owner and record read from disk
    with pytest.raises(Unauthenticated):
        restarted.authenticate(acme_key[:-2] + "xx")  # a wrong secret is still wrong
    with pytest.raises(Unavailable):
        restarted.authenticate(rival_key)  # revoked: no record on disk, so no answer at all
    with pytest.raises(Unavailable):
        restarted.authenticate(never_used_key)  # never checked here before the outage

    store.down = False
    with pytest.raises(Unauthenticated):
        restarted.authenticate(rival_key)
    secrets_on_disk = b"".join(p.read_bytes() for p in (tmp_path / "tenants").rglob("*.json"))
    assert acme_key.rsplit("_", 1)[1].encode() not in secrets_on_disk  # only hashes are kept
    assert all(p.stat().st_mode & 0o077 == 0 for p in (tmp_path / "tenants").rglob("*.json"))


def test_authentication_from_memory_answers_only_what_memory_knows() -> None:
    """The front end's fast path on its event loop: no store read ever (a store that is down
    proves it); None sends the call to the worker pool for the full check."""
    store = SwitchableStore(MemoryStore())
    tenants = TenantDirectory(store)
    key, _ = tenants.create_key("acme")
    fresh = TenantDirectory(store)
    store.down = True
    assert fresh.authenticate_cached(key) is None  # never seen here: needs the store
    with pytest.raises(Unauthenticated):
        fresh.authenticate_cached("not-a-key-shape")  # refused on its shape alone
    store.down = False
    assert fresh.authenticate(key) == "acme"
    store.down = True
    assert fresh.authenticate_cached(key) == "acme"  # now from memory
    with pytest.raises(Unauthenticated):
        fresh.authenticate_cached(key[:-2] + "xx")  # a wrong secret, known key id
    store.down = False
    fresh.revoke("acme")
    assert fresh.authenticate_cached(key) is None  # this process forgets the record at once...
    with pytest.raises(Unauthenticated):
        fresh.authenticate(key)  # ...and the full check refuses the revoked key
