"""A stacked adapter (a tenant's LoRA on a domain adapter's) serves exactly what merging the
base's LoRA into the backbone and running the tenant's adapter with PEFT computes, in a mixed
batch beside unstacked rows; and training's merged base (hub/engine/train/base.py) is that same
backbone."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hub.engine.backbone import load_backbone
from hub.engine.engine import Engine, Row
from hub.engine.packing import pack_adapter, stack_adapters
from hub.engine.train.base import merge_base
from tests.helpers import artifact_from_dir, make_peft_adapter, make_tiny_backbone

TEXTS = ["Aspirin reduced the risk of colorectal cancer.", "short", "The company reported a loss in Q3."]
SEQ = "generic.sequence_classification"
LABELS = ("a", "b", "c")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("stacking")
    backbone_dir = make_tiny_backbone(root / "backbone")
    spec = load_backbone(str(backbone_dir), device="cpu").spec
    base_dir = make_peft_adapter(backbone_dir, root / "base", task_type="SEQ_CLS", num_labels=3, rank=8, seed=1,
                                 target_modules=["query", "value", "intermediate.dense"])  # fmt: skip
    own_dir = make_peft_adapter(backbone_dir, root / "own", task_type="SEQ_CLS", num_labels=3, rank=4, seed=2,
                                target_modules=["query", "key", "output.dense"])  # fmt: skip
    base_art = artifact_from_dir(base_dir, spec, SEQ, LABELS)
    own_art = artifact_from_dir(own_dir, spec, SEQ, LABELS)
    return backbone_dir, base_dir, own_dir, base_art, own_art


def _peft_on_merged_base(backbone_dir, base_dir, own_dir, text: str) -> np.ndarray:
    """The reference: the base's LoRA merged into the backbone by PEFT, then the tenant's adapter."""
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(backbone_dir, num_labels=3)
    merged = PeftModel.from_pretrained(model, base_dir).merge_and_unload()
    stacked = PeftModel.from_pretrained(merged, own_dir).eval()  # its classifier replaces the base's
    tokenizer = AutoTokenizer.from_pretrained(backbone_dir)
    with torch.no_grad():
        logits = stacked(**tokenizer([text], return_tensors="pt")).logits[0]
    return logits.softmax(-1).numpy()


def test_stacked_row_matches_peft_with_the_base_merged(setup) -> None:
    backbone_dir, base_dir, own_dir, base_art, own_art = setup
    backbone = load_backbone(str(backbone_dir), device="cpu")
    engine = Engine(backbone)
    base = pack_adapter("base", base_art.files, base_art.manifest, backbone)
    own = pack_adapter("own", own_art.files, own_art.manifest, backbone)
    stacked = stack_adapters(pack_adapter("own", own_art.files, own_art.manifest, backbone), base)
    rows = []
    for text in TEXTS:  # one mixed batch: stacked, unstacked, the base alone, no adapter
        rows += [Row(text, stacked, stacked.heads[SEQ]), Row(text, own, own.heads[SEQ]),
                 Row(text, base, base.heads[SEQ]), Row(text, None, own.heads[SEQ])]  # fmt: skip
    results = engine.run(rows)
    for i, text in enumerate(TEXTS):
        want = _peft_on_merged_base(backbone_dir, base_dir, own_dir, text)
        np.testing.assert_allclose(results[4 * i].probs, want, atol=1e-5, rtol=0)
        alone = engine.run([Row(text, own, own.heads[SEQ])])[0].probs
        np.testing.assert_allclose(results[4 * i + 1].probs, alone, atol=1e-6)  # unstacked rows unchanged
        assert not np.allclose(results[4 * i].probs, alone, atol=1e-3)  # the base changes the answer


def test_training_merge_is_the_same_backbone(setup) -> None:
    """Training applies the base by merging it (train/base.py); serving that backbone bare with the
    tenant's adapter equals serving the stacked adapter on the unmerged one."""
    backbone_dir, base_dir, own_dir, base_art, own_art = setup
    plain = load_backbone(str(backbone_dir), device="cpu")
    merged = load_backbone(str(backbone_dir), device="cpu")
    assert merge_base(merged, base_art.files) == 3 * 2  # query, value, intermediate.dense in 2 layers
    stacked = stack_adapters(
        pack_adapter("own", own_art.files, own_art.manifest, plain),
        pack_adapter("base", base_art.files, base_art.manifest, plain),
    )
    own = pack_adapter("own", own_art.files, own_art.manifest, merged)
    got = Engine(plain).run([Row(t, stacked, stacked.heads[SEQ]) for t in TEXTS])
    want = Engine(merged).run([Row(t, own, own.heads[SEQ]) for t in TEXTS])
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.probs, w.probs, atol=1e-5, rtol=0)
