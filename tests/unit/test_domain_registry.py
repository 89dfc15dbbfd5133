"""Domain catalogs in the registry: their own prefix beside the tenants', references, the
content digest, the manifest's base record, and who may read a domain (stored, compare-and-swap)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters_registry.domains import (
    DomainDirectory,
    content_digest,
    domain_owner,
    reference_name,
    split_reference,
)
from adapters_registry.manifest import BaseAdapter, FileRecord, Manifest, parse_manifest
from adapters_registry.registry import AdapterRegistry
from adapters_registry.storage.local import LocalStore
from hub.errors import FailedPrecondition, InvalidArgument, NotFound
from tests.helpers import artifact_from_dir, make_peft_adapter

SEQ = "generic.sequence_classification"


@pytest.fixture(scope="module")
def artifact(tiny_backbone_dir: Path, tiny_runtime, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    path = make_peft_adapter(tiny_backbone_dir, tmp_path_factory.mktemp("a"), task_type="SEQ_CLS", num_labels=2,
                             rank=2, seed=5)  # fmt: skip
    return artifact_from_dir(path, tiny_runtime.spec, SEQ, ("neg", "pos"))


def test_a_domain_is_its_own_namespace_beside_the_tenants(tmp_path: Path, artifact) -> None:  # type: ignore[no-untyped-def]
    store = LocalStore(tmp_path / "store")
    registry = AdapterRegistry(store)
    registry.publish(domain_owner("medical"), "ner", artifact)
    registry.publish("medical", "ner", artifact)  # a tenant that happens to be called medical
    assert registry.resolve(domain_owner("medical"), "ner").tenant == "domain:medical"
    keys = set(store.list("domains/")) | set(store.list("tenants/"))
    assert "domains/medical/adapters/ner/versions/00000001.json" in keys
    assert "tenants/medical/adapters/ner/versions/00000001.json" in keys
    registry.delete(domain_owner("medical"), "ner")
    assert registry.resolve("medical", "ner").version == 1  # the tenant's is untouched
    with pytest.raises(NotFound):
        registry.resolve(domain_owner("medical"), "ner")
    for bad in ("Medical", "med-ical", "../x", ""):
        with pytest.raises(InvalidArgument):
            registry.names(domain_owner(bad))


def test_references() -> None:
    assert split_reference("medical:ncbi-disease") == ("medical", "ncbi-disease")
    assert split_reference("ncbi-disease") == ("", "ncbi-disease")
    assert reference_name(domain_owner("legal"), "tos") == "legal:tos"
    assert reference_name("acme", "tos") == "tos"
    with pytest.raises(InvalidArgument):
        split_reference("Medical:x")


def test_content_digest_covers_every_file_and_its_path() -> None:
    files = {"a.json": FileRecord("1" * 64, 3), "b.safetensors": FileRecord("2" * 64, 9)}
    digest = content_digest(Manifest([], files=files))
    assert digest.startswith("sha256:") and len(digest) == 7 + 64
    assert content_digest(Manifest([], files=dict(reversed(files.items())))) == digest  # order-free
    assert content_digest(Manifest([], files={**files, "b.safetensors": FileRecord("3" * 64, 9)})) != digest
    assert (
        content_digest(Manifest([], files={"c.json": files["a.json"], "b.safetensors": files["b.safetensors"]}))
        != digest
    )


def test_the_manifest_records_a_base_exactly(artifact) -> None:  # type: ignore[no-untyped-def]
    base = BaseAdapter("medical", "ncbi-disease", 3, "sha256:" + "a" * 64)
    raw = json.loads(artifact.manifest.dumps())
    parsed = parse_manifest({**raw, "base": base.to_json()}, [])
    assert parsed is not None and parsed.base == base and base.reference == "medical:ncbi-disease@3"
    assert json.loads(parsed.dumps())["base"] == {"domain": "medical", "name": "ncbi-disease", "version": 3,
                                                  "digest": "sha256:" + "a" * 64}  # fmt: skip
    assert "base" not in json.loads(artifact.manifest.dumps())  # unstacked manifests are unchanged
    for wrong in ({**base.to_json(), "version": "latest"}, {**base.to_json(), "digest": "abc"},
                  {**base.to_json(), "domain": "Med"}, "medical:ncbi@3"):  # fmt: skip
        problems: list[str] = []
        assert parse_manifest({**raw, "base": wrong}, problems) is None
        assert problems and all("base" in p for p in problems)


def test_domain_access_open_by_default_then_a_list(tmp_path: Path) -> None:
    directory = DomainDirectory(LocalStore(tmp_path / "store"))
    assert directory.get("medical").readable_by("anyone")
    with pytest.raises(FailedPrecondition):
        directory.revoke("medical", "bob")  # open to every tenant: list who may first
    assert directory.grant("medical", "alice").tenants == ["alice"]
    directory.grant("medical", "bob")
    access = DomainDirectory(LocalStore(tmp_path / "store")).get("medical")  # durable: another server
    assert (access.everyone, access.tenants) == (False, ["alice", "bob"])
    assert not access.readable_by("carol")
    assert directory.revoke("medical", "alice").tenants == ["bob"]
    assert directory.grant("medical", None).everyone
    closed = directory.revoke("medical", None)
    assert (closed.everyone, closed.tenants, closed.readable_by("bob")) == (False, [], False)
    assert directory.get("finance").everyone  # each domain its own


def test_domain_resolutions_are_journaled_apart_from_a_tenants(tmp_path: Path, artifact) -> None:  # type: ignore[no-untyped-def]
    """The name journal (a restart during a store outage) keeps a domain's answers too, never
    mixed with those of a tenant named like the domain."""
    from hub.residency.names import NameJournal

    registry = AdapterRegistry(LocalStore(tmp_path / "store"))
    domain_record = registry.publish(domain_owner("medical"), "ner", artifact)
    tenant_record = registry.publish("medical", "ner", artifact)
    journal = NameJournal(tmp_path / "disk")
    journal.remember("latest", domain_record)
    assert journal.recall("medical", "ner", "latest") is None
    journal.remember("latest", tenant_record)
    recalled = journal.recall(domain_owner("medical"), "ner", "latest")
    assert recalled is not None and recalled.tenant == "domain:medical"
    assert journal.recall("medical", "ner", "latest").tenant == "medical"  # type: ignore[union-attr]
