"""A running hub (tiny backbone, API keys on) and adapters to push, for the client library's tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters_registry.manifest import MANIFEST_FILE, HeadKind
from hub.testing.artifacts import random_adapter_files

ADMIN = "client-tests-operator-key"
SEQ = "generic.sequence_classification"
TOKEN = "generic.token_classification"
SEQ_LABELS = ["negative", "positive"]
TOKEN_LABELS = ["O", "B-Thing", "I-Thing"]


@dataclass(frozen=True)
class LiveHub:
    target: str
    admin_key: str
    tenant_key: str
    two_heads: Path  # an adapter directory with a sequence and a token head
    plain: Path  # an adapter directory with one sequence head


def adapter_dir(directory: Path, spec, heads, seed: int) -> Path:  # type: ignore[no-untyped-def]
    directory.mkdir(parents=True, exist_ok=True)
    for path, data in random_adapter_files(spec, heads, seed=seed).items():
        (directory / path).write_bytes(data)
    json.loads((directory / MANIFEST_FILE).read_text())
    return directory


@pytest.fixture
def live_hub(start_hub, tiny_runtime, tmp_path: Path) -> LiveHub:  # type: ignore[no-untyped-def]
    from adapter_hub_client import HubClient

    server, _ = start_hub(tiny_runtime, auth="on", admin_key=ADMIN)
    target = f"127.0.0.1:{server.port}"
    with HubClient(target, api_key=ADMIN) as admin:
        key = admin.create_tenant("acme").api_key
    spec = tiny_runtime.spec
    heads = [(SEQ, HeadKind.SEQUENCE, SEQ_LABELS), (TOKEN, HeadKind.TOKEN, TOKEN_LABELS)]
    two = adapter_dir(tmp_path / "two-heads", spec, heads, seed=1)
    plain = adapter_dir(tmp_path / "plain", spec, [(SEQ, HeadKind.SEQUENCE, SEQ_LABELS)], seed=2)
    return LiveHub(target, ADMIN, key, two, plain)
