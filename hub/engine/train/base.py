"""Training on a base adapter: the domain adapter's LoRA applied to the backbone and frozen.

The base's low-rank updates are merged into the frozen backbone's Linear weights before the
tenant's LoRA wraps them, ``W += B_base^T A_base`` (pre-scaled, hub/engine/packing.py), so the
tenant's LoRA and heads learn on top of the domain adaptation and never change it. Serving adds
both updates to the unmerged backbone (packing.stack_adapters); the two agree to float32
rounding (tests/unit/test_stacking.py).
"""

from __future__ import annotations

import json

import torch

from adapters_registry.manifest import MANIFEST_FILE, parse_manifest
from hub.engine.backbone import Backbone
from hub.engine.packing import pack_adapter
from hub.errors import InvalidArtifact


def merge_base(backbone: Backbone, files: dict[str, bytes]) -> int:
    """Add the base adapter's LoRA updates (``files``: its artifact) to the backbone's weights;
    return how many modules changed."""
    problems: list[str] = []
    manifest = parse_manifest(json.loads(files[MANIFEST_FILE]), problems)
    if manifest is None:
        raise InvalidArtifact(problems)
    packed = pack_adapter("base", files, manifest, backbone)
    with torch.no_grad():
        for module, pair in packed.layers.items():
            weight = backbone.model.get_submodule(module).weight
            assert isinstance(weight, torch.Tensor)
            weight.add_((pair.b.t().to(torch.float32) @ pair.a.to(torch.float32)).to(weight.dtype))
    return len(packed.layers)
