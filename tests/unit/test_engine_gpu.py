"""The same engine on CUDA: equal to the CPU engine in float32, close in float16, adapter
weights staged in pinned host memory. Skipped without CUDA."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hub.engine.backbone import load_backbone
from hub.engine.engine import Engine, Row
from hub.engine.packing import pack_adapter
from tests.helpers import artifact_from_dir, make_peft_adapter, make_tiny_backbone

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
]

TEXTS = ["Shares of $TSLA jumped 5% after earnings.", "short", "Aspirin reduced the risk of cancer."]


@pytest.fixture(scope="module")
def adapters(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("gpu")
    backbone_dir = make_tiny_backbone(root / "backbone")
    spec = load_backbone(str(backbone_dir), device="cpu").spec
    made = []
    for i, (task_type, rank) in enumerate([("SEQ_CLS", 4), ("TOKEN_CLS", 8), ("SEQ_CLS", 16)]):
        token = task_type == "TOKEN_CLS"
        labels = ("O", "B-E", "I-E") if token else ("a", "b", "c")
        task = "generic.token_classification" if token else "generic.sequence_classification"
        path = make_peft_adapter(backbone_dir, root / f"a{i}", task_type=task_type, num_labels=3, rank=rank, seed=i)
        made.append((task, artifact_from_dir(path, spec, task, labels)))
    return backbone_dir, made


def _scores(backbone_dir, made, device: str, dtype: str = "float32"):  # type: ignore[no-untyped-def]
    engine = Engine(load_backbone(str(backbone_dir), device=device, dtype=dtype))
    packed = [pack_adapter(f"a{i}", art.files, art.manifest, engine.backbone) for i, (_, art) in enumerate(made)]
    rows = [Row(text, packed[k], packed[k].heads[made[k][0]]) for k in range(len(made)) for text in TEXTS]
    return engine, packed, engine.run(rows)


def test_cuda_engine_equals_cpu_engine(adapters) -> None:  # type: ignore[no-untyped-def]
    backbone_dir, made = adapters
    _, _, cpu = _scores(backbone_dir, made, "cpu")
    engine, packed, gpu = _scores(backbone_dir, made, "cuda")
    for a, b in zip(cpu, gpu, strict=True):
        np.testing.assert_allclose(a.probs, b.probs, atol=1e-4)
    pair = next(iter(packed[0].layers.values()))
    assert pair.a.device.type == "cpu" and pair.a.is_pinned()  # staged for non_blocking copies
    bucket = next(iter(engine.bank.buckets.values()))
    assert next(iter(bucket.a.values())).device.type == "cuda"


def test_cuda_half_precision_stays_close(adapters) -> None:  # type: ignore[no-untyped-def]
    backbone_dir, made = adapters
    _, _, full = _scores(backbone_dir, made, "cuda")
    _, _, half = _scores(backbone_dir, made, "cuda", "float16")
    for a, b in zip(full, half, strict=True):
        np.testing.assert_allclose(a.probs, b.probs, atol=2e-2)
