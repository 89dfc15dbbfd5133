"""Every row of a mixed batch scores exactly what PEFT computes for that adapter alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hub.engine.backbone import load_backbone
from hub.engine.engine import Engine, Row
from hub.engine.packing import pack_adapter
from hub.errors import IncompatibleAdapter
from tests.helpers import artifact_from_dir, make_peft_adapter, make_tiny_backbone

TEXTS = [
    "Aspirin reduced the risk of colorectal cancer.",
    "Shares of $TSLA jumped 5% after earnings.",
    "We may terminate your account at any time without notice.",
    "short",
    "Patients with BRCA1 mutations have breast and ovarian cancer.",
    "The company reported a loss.",
]
SEQ_ADAPTERS = [  # (rank, labels, targets, rslora)
    (2, 3, ["query", "value"], False),
    (8, 2, ["query", "key", "value", "dense"], False),
    (4, 5, ["dense"], True),
]
TOKEN_ADAPTERS = [(4, 3, ["query", "value", "dense"]), (16, 5, ["key", "dense"])]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("engine")
    backbone_dir = make_tiny_backbone(root / "backbone")
    backbone = load_backbone(str(backbone_dir), device="cpu")
    adapters = []
    for i, (rank, n, targets, rslora) in enumerate(SEQ_ADAPTERS):
        labels = tuple(f"L{j}" for j in range(n))
        path = make_peft_adapter(
            backbone_dir, root / f"seq{i}", task_type="SEQ_CLS", num_labels=n, rank=rank,
            seed=10 + i, target_modules=targets, use_rslora=rslora,
        )  # fmt: skip
        adapters.append((path, "SEQ_CLS", "generic.sequence_classification", labels))
    for i, (rank, n, targets) in enumerate(TOKEN_ADAPTERS):
        labels = ("O", *[f"{p}-E{j}" for j in range((n - 1) // 2) for p in "BI"])
        path = make_peft_adapter(
            backbone_dir, root / f"tok{i}", task_type="TOKEN_CLS", num_labels=len(labels),
            rank=rank, seed=20 + i, target_modules=targets,
        )  # fmt: skip
        adapters.append((path, "TOKEN_CLS", "generic.token_classification", labels))
    engine_backbone = load_backbone(str(backbone_dir), device="cpu")
    engine = Engine(engine_backbone)
    packed = []
    for i, (path, _, task, labels) in enumerate(adapters):
        art = artifact_from_dir(path, backbone.spec, task, labels)
        packed.append(pack_adapter(f"a{i}", art.files, art.manifest, engine_backbone))
    return backbone_dir, adapters, engine, packed


def peft_scores(backbone_dir, path, task_type: str, num_labels: int, text: str) -> np.ndarray:
    from peft import PeftModel
    from transformers import (
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
    )

    cls = AutoModelForTokenClassification if task_type == "TOKEN_CLS" else AutoModelForSequenceClassification
    base = cls.from_pretrained(backbone_dir, num_labels=num_labels)
    model = PeftModel.from_pretrained(base, path).eval()
    tokenizer = AutoTokenizer.from_pretrained(backbone_dir)
    with torch.no_grad():
        logits = model(**tokenizer([text], return_tensors="pt")).logits[0]
    return logits.softmax(-1).numpy()


def test_mixed_batch_matches_peft_per_row(setup) -> None:
    backbone_dir, adapters, engine, packed = setup
    rows, expected = [], []
    for i, text in enumerate(TEXTS * 2):
        k = i % len(adapters)
        path, task_type, task, labels = adapters[k]
        rows.append(Row(text, packed[k], packed[k].heads[task]))
        expected.append(peft_scores(backbone_dir, path, task_type, len(labels), text))
    results = engine.run(rows)
    assert len({id(r.adapter) for r in rows}) == len(adapters)  # truly mixed
    for got, want in zip(results, expected, strict=True):
        assert got.probs.shape == want.shape
        np.testing.assert_allclose(got.probs, want, atol=1e-4)


def test_rows_without_adapter_use_the_bare_backbone(setup) -> None:
    backbone_dir, adapters, engine, packed = setup
    head = packed[0].heads["generic.sequence_classification"]
    mixed = engine.run([Row(TEXTS[0], None, head), Row(TEXTS[1], packed[0], head)])
    alone = engine.run([Row(TEXTS[0], None, head)])
    np.testing.assert_allclose(mixed[0].probs, alone[0].probs, atol=1e-5)
    assert not np.allclose(mixed[1].probs, engine.run([Row(TEXTS[1], None, head)])[0].probs, atol=1e-4)


def test_single_adapter_batch_matches_peft(setup) -> None:
    backbone_dir, adapters, engine, packed = setup
    path, task_type, task, labels = adapters[1]
    results = engine.run([Row(t, packed[1], packed[1].heads[task]) for t in TEXTS])
    for text, got in zip(TEXTS, results, strict=True):
        want = peft_scores(backbone_dir, path, task_type, len(labels), text)
        np.testing.assert_allclose(got.probs, want, atol=1e-4)


# Regex keys as PEFT users write them: a shadowed key (the first match wins), a character class,
# an alternation. Upload resolves them once into per-module ranks and alphas (manifest.lora_modules);
# the engine must then scale every module exactly as PEFT does.
RANK_PATTERN = {r"layer\.0\.attention\.self\.query": 2, "query": 6, r"(key|value)": 3}
ALPHA_PATTERN = {r"layer\.[1-9]\d*\..*dense": 5.0, "value": 11.0}


@pytest.mark.parametrize("rslora", [False, True])
def test_rank_and_alpha_patterns_match_peft(tmp_path, rslora: bool) -> None:  # type: ignore[no-untyped-def]
    backbone_dir = make_tiny_backbone(tmp_path / "backbone")
    path = make_peft_adapter(
        backbone_dir, tmp_path / "patterned", task_type="SEQ_CLS", num_labels=3, rank=4, seed=7,
        target_modules=["query", "key", "value", "dense"], alpha=8, use_rslora=rslora,
        rank_pattern=RANK_PATTERN, alpha_pattern=ALPHA_PATTERN,
    )  # fmt: skip
    backbone = load_backbone(str(backbone_dir), device="cpu")
    art = artifact_from_dir(path, backbone.spec, "generic.sequence_classification", ("a", "b", "c"))
    ranks = {m: r for m, (r, _) in art.manifest.lora_modules.items()}
    alphas = {m: a for m, (_, a) in art.manifest.lora_modules.items()}
    assert (
        ranks["bert.encoder.layer.0.attention.self.query"] == 2
        and ranks["bert.encoder.layer.1.attention.self.query"] == 6
    )
    assert {alphas[m] for m in alphas if m.endswith("value")} == {11.0} and 5.0 in alphas.values()
    packed = pack_adapter("p", art.files, art.manifest, backbone)
    head = packed.heads["generic.sequence_classification"]
    for text, got in zip(TEXTS, Engine(backbone).run([Row(t, packed, head) for t in TEXTS]), strict=True):
        np.testing.assert_allclose(got.probs, peft_scores(backbone_dir, path, "SEQ_CLS", 3, text), atol=1e-4)
    # A version stored before patterns were resolved at upload: loading it compiles nothing, it is refused.
    art.manifest.lora_modules = {}
    with pytest.raises(IncompatibleAdapter, match="upload it again"):
        pack_adapter("old", art.files, art.manifest, backbone)
