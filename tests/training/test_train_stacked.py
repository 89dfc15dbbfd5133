"""`adapter-hub train --base`: a tenant adapter trained on a domain adapter fetched from a
running hub (or a local copy), recorded in its manifest, served stacked after push."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import grpc
import pytest
from adapter_hub_client import HubClient

from adapters_registry.domains import content_digest
from adapters_registry.manifest import MANIFEST_FILE, parse_manifest
from hub.cli.main import main
from hub.plugins.manager import HubPlugins
from hub.training.data import TaskInput
from tests.training.test_train_tiny import tiny

pytest.importorskip("hub_medical", reason="the medical plugin is installed by scripts/bootstrap.sh")
ADMIN = "operator-key-for-stacked-training"


def _train_args(tiny_backbone_dir: Path, corpora: dict[str, Path], out: Path) -> list[str]:
    data = ["--task", "medical.ner", "--train", str(corpora["ner_train"])]
    small = ["--max-steps", "4", "--batch-size", "8", "--rank", "4", "--no-progress"]
    return ["train", "--backbone", str(tiny_backbone_dir), *data, *small, "--output", str(out)]


def test_train_on_a_domain_adapter_from_the_hub_then_serve_it_stacked(
    plugins: HubPlugins, tiny_backbone_dir: Path, tiny_runtime, corpora: dict[str, Path], start_hub, tmp_path: Path
) -> None:
    base_dir = tmp_path / "base"
    tiny(plugins, tiny_backbone_dir, base_dir, [TaskInput("medical.ner", corpora["ner_train"])], max_steps=6)
    server, _ = start_hub(tiny_runtime, auth="on", admin_key=ADMIN)
    target = f"127.0.0.1:{server.port}"
    with HubClient(target, api_key=ADMIN, timeout=60, retries=0) as admin:
        published = admin.push(base_dir, "medical:base")
        key = admin.create_tenant("acme").api_key
    out = tmp_path / "stacked"
    args = _train_args(tiny_backbone_dir, corpora, out)
    assert main([*args, "--base", "medical:base@latest", "--target", target, "--api-key", key]) == 0
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    stored = parse_manifest(json.loads((base_dir / MANIFEST_FILE).read_text()), [])
    assert stored is not None
    digest = content_digest(stored)
    assert {f.path: f.sha256 for f in published.files} == {p: r.sha256 for p, r in stored.files.items()}
    assert manifest["base"] == {"domain": "medical", "name": "base", "version": 1, "digest": digest}
    assert key not in (out / "README.md").read_text()  # the card's command line never holds the key
    with HubClient(target, api_key=key, timeout=60, retries=0) as acme:
        info = acme.push(out, "mine")
        assert info.base == "medical:base@1"
        assert acme.predict("mine", ["Aspirin caused asthma."])[0].version == "1"

    copy = tmp_path / "copy"  # a local copy of the published version: the same digest
    shutil.copytree(base_dir, copy)
    assert main([*_train_args(tiny_backbone_dir, corpora, tmp_path / "local"), "--base", str(copy),
                 "--base-ref", "medical:base@1"]) == 0  # fmt: skip
    assert json.loads((tmp_path / "local" / MANIFEST_FILE).read_text())["base"]["digest"] == digest
    assert main([*_train_args(tiny_backbone_dir, corpora, tmp_path / "x"), "--base", str(copy)]) == 2  # no --base-ref

    other = tmp_path / "other"  # another adapter claiming to be medical:base@1: refused at push
    tiny(plugins, tiny_backbone_dir, other, [TaskInput("medical.ner", corpora["ner_train"])], max_steps=2, seed=3)
    assert main([*_train_args(tiny_backbone_dir, corpora, tmp_path / "fake"), "--base", str(other),
                 "--base-ref", "medical:base@1"]) == 0  # fmt: skip
    with HubClient(target, api_key=key, timeout=60, retries=0) as acme, pytest.raises(grpc.RpcError) as refused:
        acme.push(tmp_path / "fake", "fake")
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "medical:base@1" in str(refused.value.details())
