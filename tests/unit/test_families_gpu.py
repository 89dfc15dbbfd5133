"""Family heads (layers between pooling and classifier, LoRA merged into head layers) on CUDA:
equal to the CPU engine in float32. Skipped without CUDA."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from adapters_registry.families import family_of
from hub.engine.backbone import load_backbone
from hub.engine.engine import Engine, Row
from hub.engine.packing import pack_adapter
from hub.engine.tiny import save_tiny_family
from tests.helpers import artifact_from_dir, make_family_adapter

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
]

TEXTS = ["Shares of $TSLA jumped 5% after earnings.", "short", "Aspirin reduced the risk of cancer."]


@pytest.mark.parametrize("model_type", ["modernbert", "deberta-v2", "roberta"])
def test_family_heads_on_cuda_equal_the_cpu_engine(model_type: str, tmp_path: Path) -> None:
    backbone_dir = save_tiny_family(tmp_path / "backbone", model_type)
    spec = load_backbone(str(backbone_dir), device="cpu").spec
    made = []
    defaults = list(family_of(model_type).peft_targets)  # type: ignore[union-attr]
    for i, (task_type, targets, task, labels) in enumerate(
        [
            ("SEQ_CLS", "all-linear", "generic.sequence_classification", ("a", "b", "c")),
            ("TOKEN_CLS", defaults, "generic.token_classification", ("O", "B-E", "I-E")),
        ]
    ):
        path = make_family_adapter(
            backbone_dir, tmp_path / task_type, task_type=task_type, num_labels=3, target_modules=targets, seed=i
        )
        made.append((task, artifact_from_dir(path, spec, task, labels)))
    scores = {}
    for device in ("cpu", "cuda"):
        engine = Engine(load_backbone(str(backbone_dir), device=device))
        packed = [pack_adapter(f"a{i}", a.files, a.manifest, engine.backbone) for i, (_, a) in enumerate(made)]
        head_layers = [
            layer for p in packed for h in p.heads.values() for layer in h.layers if layer.weight is not None
        ]
        assert all(layer.weight is not None and layer.weight.device.type == device for layer in head_layers)
        rows = [Row(text, packed[k], packed[k].heads[made[k][0]]) for k in range(len(made)) for text in TEXTS]
        scores[device] = engine.run(rows)
    for a, b in zip(scores["cpu"], scores["cuda"], strict=True):
        np.testing.assert_allclose(a.probs, b.probs, atol=1e-4)
