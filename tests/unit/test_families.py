"""Plain PEFT adapters of eight encoder families upload as saved and answer as PEFT does.

Per family, a tiny random backbone saved as its public checkpoints are (hub.engine.tiny) and three
adapters made as a tenant makes them (AutoModelFor*Classification + LoraConfig + save_pretrained):
sequence classification with ``target_modules="all-linear"`` (LoRA reaches head layers such as
DeBERTa's pooler.dense and ModernBERT's head.dense), sequence classification with the family's
default targets, and token classification. The three are served in ONE mixed engine batch; every
row must be within 1e-4 of PEFT's own probabilities, token spans identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from adapters_registry.artifact import Artifact, UploadInfo, build_artifact
from adapters_registry.families import family_of
from adapters_registry.manifest import HeadSpec, LayerType
from hub.engine.backbone import Backbone, load_backbone
from hub.engine.engine import Engine, Row
from hub.engine.packing import pack_adapter
from hub.engine.tiny import FAMILIES, save_tiny_family
from hub.tasks.results import HeadScores, decode_bio
from hub.tasks.specs import default_task_registry
from tests.helpers import make_family_adapter, peft_probabilities, read_dir

SEQ, TOKEN = "generic.sequence_classification", "generic.token_classification"
SEQ_LABELS, TOKEN_LABELS = ("neg", "neu", "pos"), ("O", "B-X", "I-X")
TEXTS = [
    "Aspirin reduced the risk of colorectal cancer.",
    "short",
    "Shares of $TSLA jumped 5% after earnings; the CEO of Tesla Inc. said more.",
]
# PEFT 0.21 cannot put LoRA on DistilBERT's pre_classifier and also save it (modules_to_save
# matches "classifier" by suffix): "all-linear" there needs pre_classifier excluded.
ALL_LINEAR_EXCLUDE = {"distilbert": ["pre_classifier"]}


@dataclass
class Case:
    name: str
    task_type: str
    task: str
    labels: tuple[str, ...]
    directory: Path
    artifact: Artifact


@dataclass
class FamilySetup:
    model_type: str
    directory: Path
    backbone: Backbone
    engine: Engine
    cases: list[Case]


def upload(directory: Path, backbone: Backbone, task: str, labels: tuple[str, ...]) -> Artifact:
    contracts = default_task_registry().contract
    return build_artifact(read_dir(directory), UploadInfo(task, labels), backbone.spec, contracts)


@pytest.fixture(scope="module", params=FAMILIES)
def family(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> FamilySetup:
    model_type = str(request.param)
    root = tmp_path_factory.mktemp(model_type)
    directory = save_tiny_family(root / "backbone", model_type)
    backbone = load_backbone(str(directory), device="cpu")
    defaults = list(family_of(model_type).peft_targets)  # type: ignore[union-attr]
    cases = []
    kinds = [("seq-all-linear", "SEQ_CLS", "all-linear"), ("seq-default", "SEQ_CLS", defaults)]
    for i, (name, task_type, targets) in enumerate([*kinds, ("token", "TOKEN_CLS", defaults)]):
        token = task_type == "TOKEN_CLS"
        labels = TOKEN_LABELS if token else SEQ_LABELS
        exclude = ALL_LINEAR_EXCLUDE.get(model_type) if targets == "all-linear" else None
        path = make_family_adapter(
            directory, root / name, task_type=task_type, num_labels=len(labels), target_modules=targets,
            seed=i, exclude_modules=exclude,
        )  # fmt: skip
        task = TOKEN if token else SEQ
        cases.append(Case(name, task_type, task, labels, path, upload(path, backbone, task, labels)))
    return FamilySetup(model_type, directory, backbone, Engine(backbone), cases)


def test_every_case_uploads_as_saved_and_answers_as_peft_in_one_mixed_batch(family: FamilySetup) -> None:
    packed = [pack_adapter(c.name, c.artifact.files, c.artifact.manifest, family.backbone) for c in family.cases]
    rows = [(k, text) for text in TEXTS for k in range(len(family.cases))]
    results = family.engine.run([Row(text, packed[k], packed[k].heads[family.cases[k].task]) for k, text in rows])
    assert family.engine.forwards >= 1 and len({id(p) for p in packed}) == 3
    expected = {
        k: peft_probabilities(family.directory, c.directory, c.task_type, len(c.labels), TEXTS)
        for k, c in enumerate(family.cases)
    }
    for (k, text), got in zip(rows, results, strict=True):
        want = expected[k][TEXTS.index(text)]
        assert got.probs.shape == want.shape, family.cases[k].name
        np.testing.assert_allclose(got.probs, want, atol=1e-4, err_msg=f"{family.model_type} {family.cases[k].name}")
        assert float(np.abs(want - 1.0 / len(family.cases[k].labels)).max()) > 0.05  # far from uniform
        if family.cases[k].task_type == "TOKEN_CLS":
            head = HeadSpec(TOKEN, family.cases[k].artifact.manifest.tasks[0].head_kind, list(TOKEN_LABELS))
            ours = decode_bio(got, head.labels, text).entities
            theirs = decode_bio(HeadScores(want, got.offsets, got.word_ids), head.labels, text).entities
            assert [(e.label, e.start, e.end) for e in ours] == [(e.label, e.start, e.end) for e in theirs]


def test_head_layers_are_the_family_task_models(family: FamilySetup) -> None:
    """What the manifest records is what the family's task model runs (and what the README says)."""
    layers = {
        c.name: [(x.type, x.function or x.module) for x in c.artifact.manifest.tasks[0].layers] for c in family.cases
    }
    linear, act, norm = LayerType.LINEAR, LayerType.ACTIVATION, LayerType.LAYER_NORM
    sequence = {
        "bert": [],
        "distilbert": [(linear, "pre_classifier"), (act, "relu")],
        "roberta": [(linear, "classifier.dense"), (act, "tanh")],
        "xlm-roberta": [(linear, "classifier.dense"), (act, "tanh")],
        "electra": [(linear, "classifier.dense"), (act, "gelu")],
        "mpnet": [(linear, "classifier.dense"), (act, "tanh")],
        "deberta-v2": [(linear, "pooler.dense"), (act, "gelu")],
        "modernbert": [(linear, "head.dense"), (act, "gelu"), (norm, "head.norm")],
    }[family.model_type]
    assert layers["seq-all-linear"] == layers["seq-default"] == sequence
    assert layers["token"] == (sequence if family.model_type == "modernbert" else [])


def test_a_stored_artifact_with_head_layers_uploads_again_unchanged(family: FamilySetup) -> None:
    contracts = default_task_registry().contract
    for case in family.cases:
        again = build_artifact(dict(case.artifact.files), UploadInfo(), family.backbone.spec, contracts)
        assert again.manifest.to_json() == case.artifact.manifest.to_json()
