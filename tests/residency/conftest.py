"""Adapters for the residency tests: random but valid, published straight into a registry."""

from __future__ import annotations

import json
from pathlib import Path

from adapters_registry.artifact import ArtifactLimits, UploadInfo, build_artifact
from adapters_registry.manifest import MANIFEST_FILE, BackboneSpec, HeadKind
from adapters_registry.registry import AdapterRegistry, VersionRecord
from hub.tasks.specs import default_task_registry
from hub.testing.artifacts import random_adapter_files

SEQ = "generic.sequence_classification"
LABELS = ["neg", "pos"]


def adapter_files(spec: BackboneSpec, seed: int, rank: int = 2, target: str = "query") -> dict[str, bytes]:
    return random_adapter_files(spec, [(SEQ, HeadKind.SEQUENCE, LABELS)], rank=rank, seed=seed, target=target)


def publish(
    registry: AdapterRegistry, spec: BackboneSpec, tenant: str, name: str, seed: int, rank: int = 2
) -> VersionRecord:
    files = adapter_files(spec, seed, rank)
    artifact = build_artifact(files, UploadInfo(), spec, default_task_registry().contract, ArtifactLimits())
    return registry.publish(tenant, name, artifact)


def write_adapter_dir(directory: Path, spec: BackboneSpec, seed: int, rank: int = 2) -> Path:
    """Upload-ready files on disk, for `adapter-hub push` / HubClient.push."""
    directory.mkdir(parents=True, exist_ok=True)
    for path, data in adapter_files(spec, seed, rank).items():
        (directory / path).write_bytes(data)
    json.loads((directory / MANIFEST_FILE).read_text())  # well formed
    return directory
