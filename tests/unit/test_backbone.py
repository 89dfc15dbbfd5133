from pathlib import Path

import pytest
import torch

from hub.engine.backbone import fingerprint, load_backbone
from hub.errors import InvalidArgument


def test_backbone_is_frozen_and_fingerprinted(tiny_backbone_dir: Path) -> None:
    a = load_backbone(str(tiny_backbone_dir), device="cpu")
    b = load_backbone(str(tiny_backbone_dir), device="cpu", dtype="bfloat16")
    assert not any(p.requires_grad for p in a.model.parameters())
    assert not a.model.training
    assert a.fingerprint == b.fingerprint  # serving dtype does not change the identity
    assert a.spec.linear_modules["encoder.layer.0.attention.self.query"] == (32, 32)
    with torch.no_grad():
        next(a.model.parameters()).view(-1)[0] += 1.0
    assert fingerprint(a.model) != b.fingerprint


def test_bad_backbone_settings_are_clear(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="not a local Hugging Face model directory"):
        load_backbone(str(tmp_path))
    with pytest.raises(InvalidArgument, match="unknown packaged backbone"):
        load_backbone("packaged:nope")
    with pytest.raises(InvalidArgument, match="dtype"):
        load_backbone("packaged:all-minilm-l6-v2", dtype="int3")
