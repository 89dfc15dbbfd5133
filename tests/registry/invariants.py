"""What must hold of a store after any crash, once recovery has run (crash and fault tests).

- no intent is left (every interrupted push and delete was finished);
- no version is both live and tombstoned, and every alias names a live version;
- every acknowledged version that was not deleted is served with its exact bytes;
- nothing is orphaned that garbage collection would not reclaim: after a collection with no
  grace, every stored blob is named by a live version, and (local store) no temp file is left.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from adapters_registry.gc import collect
from adapters_registry.registry import AdapterRegistry

Acknowledged = Mapping[tuple[str, int], Mapping[str, bytes]]  # (name, version) -> files


def tombstones(registry: AdapterRegistry, tenant: str, name: str) -> set[int]:
    prefix = f"tenants/{tenant}/adapters/{name}/tombstones/"
    return {int(k[len(prefix) :]) for k in registry.store.list(prefix)}


def check_store(
    registry: AdapterRegistry, tenant: str, acknowledged: Acknowledged, deleted: set[tuple[str, int]]
) -> None:
    store = registry.store
    assert store.list("intents/") == [], "an interrupted operation was not finished"
    names = set(registry.names(tenant)) | {name for name, _ in acknowledged}
    for name in names:
        live = set(registry.versions(tenant, name))
        assert not live & tombstones(registry, tenant, name), f"{name}: versions both live and deleted"
        for alias, version in registry.aliases(tenant, name).items():
            assert version in live, f"{name}: alias {alias} names deleted version {version}"
        if live:
            assert registry.resolve(tenant, name).version in live
    for (name, version), files in acknowledged.items():
        if (name, version) in deleted:
            assert version not in registry.versions(tenant, name)
            continue
        record = registry.get_version(tenant, name, version)
        stored = registry.read_files(record)
        for path, data in files.items():
            if path != "hub_adapter.json":
                assert stored[path] == data, f"{name}@{version}: {path} differs"
    check_no_orphans(registry)


def check_no_orphans(registry: AdapterRegistry) -> None:
    """After a collection without grace, every blob left is named by a live version."""
    store = registry.store
    collect(store, grace_s=0.0)
    named = set()
    for key in store.list("tenants/"):
        if "/versions/" in key:
            manifest = json.loads(store.get(key).data)["manifest"]
            tenant = key.split("/")[1]
            named |= {f"tenants/{tenant}/blobs/{f['sha256']}" for f in manifest["files"].values()}
    blobs = {k for k in store.list("tenants/") if "/blobs/" in k}
    assert blobs == named, f"orphans: {sorted(blobs - named)}; missing: {sorted(named - blobs)}"
    root = getattr(store, "root", None) or getattr(getattr(store, "inner", None), "root", None)
    if root is not None:
        assert list((root / ".tmp").iterdir()) == [], "temp files left behind"
