"""The head-kind tables: every kind has its entries, and each entry does what its kind means."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from adapters_registry.manifest import HeadKind, HeadSpec, Pooling
from hub.config.settings import Settings
from hub.engine.head_kinds import ENGINE_HEAD_KINDS, IGNORE, engine_kind
from hub.plugins.manager import build_plugins
from hub.tasks.datasets import TextExample, TokenExample
from hub.tasks.head_kinds import HEAD_KINDS, task_kind
from hub.tasks.results import HeadScores
from hub.tasks.specs import GENERIC_TASKS
from hub.transport.convert import HEAD_KINDS as WIRE_HEAD_KINDS


@pytest.mark.parametrize("kind", list(HeadKind))
def test_every_head_kind_has_an_entry_in_each_table(kind: HeadKind) -> None:
    assert task_kind(kind).kind is kind
    assert engine_kind(kind).kind is kind
    assert kind in WIRE_HEAD_KINDS, f"{kind} has no wire value in hub/transport/convert.py"
    assert set(HEAD_KINDS) == set(ENGINE_HEAD_KINDS) == set(HeadKind)


def test_the_generic_plugin_offers_a_task_and_a_metric_per_kind() -> None:
    plugins = build_plugins(Settings.from_env(environ={}), entry_points=False)
    by_kind = {spec.head_kind: spec for spec in GENERIC_TASKS}
    assert set(by_kind) == set(HeadKind)
    for kind, spec in by_kind.items():
        assert plugins.tasks.get(spec.name).head_kind is kind
        metric = plugins.catalog.metrics[spec.metric]
        assert metric.head_kind is kind
        gold = list(task_kind(kind).synthetic_gold)
        assert metric.compute(gold, gold)[metric.headline] == pytest.approx(1.0)


def test_label_rules_belong_to_the_kind() -> None:
    token = task_kind(HeadKind.TOKEN)
    assert token.label_problems(["O", "B-X", "I-X"]) == []
    assert "O, B-X or I-X" in token.label_problems(["O", "X"])[0]
    assert token.label_problems(["B-X", "I-X"]) == []  # an adapter's own labels
    assert "O among them" in token.label_problems(["B-X", "I-X"], defining_task=True)[0]
    for kind in (HeadKind.SEQUENCE, HeadKind.MULTI_LABEL):
        assert task_kind(kind).label_problems(["X", "B-Y"], defining_task=True) == []
    contract = next(s for s in GENERIC_TASKS if s.head_kind is HeadKind.TOKEN).contract()
    assert contract.check_labels is not None and contract.check_labels(["Z"]) != []
    assert not contract.pools
    assert next(s for s in GENERIC_TASKS if s.head_kind is HeadKind.SEQUENCE).contract().pools


def test_examples_gold_and_predictions_follow_the_kind() -> None:
    text = TextExample("a text", ("x",), id="t")
    words = TokenExample(("Aspirin", "helps"), ("B-Drug", "O"), id="w")
    assert task_kind(HeadKind.SEQUENCE).gold(text) == "x"
    assert task_kind(HeadKind.MULTI_LABEL).gold(text) == frozenset({"x"})
    assert task_kind(HeadKind.TOKEN).gold(words) == ("B-Drug", "O")
    assert "needs TokenExample" in task_kind(HeadKind.TOKEN).check_example(text, None)[0]
    assert "needs TextExample" in task_kind(HeadKind.SEQUENCE).check_example(words, None)[0]
    with pytest.raises(TypeError):
        task_kind(HeadKind.TOKEN).gold(text)
    assert task_kind(HeadKind.TOKEN).labels_from([words]) == ["O", "B-Drug", "I-Drug"]
    assert task_kind(HeadKind.MULTI_LABEL).labels_from([text, TextExample("b", ("a", "x"))]) == ["a", "x"]


def test_decoding_follows_the_kind() -> None:
    probs = np.array([0.2, 0.7, 0.6])
    head = HeadSpec("t", HeadKind.SEQUENCE, ["a", "b", "c"], threshold=0.5)
    assert task_kind(HeadKind.SEQUENCE).decode(HeadScores(probs), head, "x").predicted == ["b"]
    assert task_kind(HeadKind.MULTI_LABEL).decode(HeadScores(probs), head, "x").predicted == ["b", "c"]


def test_activations_and_priors() -> None:
    """An untrained head (zero weights) whose bias is the kind's prior predicts the prior."""
    frequencies = torch.tensor([0.1, 0.3, 0.6])
    softmax = engine_kind(HeadKind.SEQUENCE)
    assert torch.allclose(softmax.activate(softmax.prior_bias(frequencies)), frequencies)
    sigmoid = engine_kind(HeadKind.MULTI_LABEL)
    assert torch.allclose(sigmoid.activate(sigmoid.prior_bias(frequencies)), frequencies)
    assert sigmoid.uses_pos_weight and not softmax.uses_pos_weight
    token = engine_kind(HeadKind.TOKEN)
    assert torch.allclose(token.activate(torch.zeros(2, 5, 3)).sum(-1), torch.ones(2, 5))


def test_layouts_pooled_or_per_token() -> None:
    hidden = torch.arange(2 * 4 * 3, dtype=torch.float32).reshape(2, 4, 3)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    index = torch.tensor([1])
    token = engine_kind(HeadKind.TOKEN)
    assert token.per_token and task_kind(HeadKind.TOKEN).per_token
    assert torch.equal(token.features(Pooling.POOLER, hidden, None, mask, index), hidden[1:])
    pooled = engine_kind(HeadKind.SEQUENCE)
    assert not pooled.per_token
    assert torch.equal(pooled.features(Pooling.CLS, hidden, None, mask, index), hidden[1:, 0])
    assert torch.allclose(pooled.features(Pooling.MEAN, hidden, None, mask, index), hidden[1, :2].mean(0, keepdim=True))


def test_training_targets_and_label_counts() -> None:
    token = engine_kind(HeadKind.TOKEN)
    batch = token.batch_targets([[IGNORE, 1, 0, IGNORE], [IGNORE, 2, IGNORE]], 4)
    assert batch.tolist() == [[IGNORE, 1, 0, IGNORE], [IGNORE, 2, IGNORE, IGNORE]]
    counts = [0.0, 0.0, 0.0]
    assert token.count_labels([IGNORE, 1, 0, IGNORE], counts) == 2 and counts == [1.0, 1.0, 0.0]
    multi = engine_kind(HeadKind.MULTI_LABEL)
    counts = [0.0, 0.0]
    assert multi.count_labels([1.0, 1.0], counts) == 1 and counts == [1.0, 1.0]
    assert multi.batch_targets([[1.0, 0.0]], 1).dtype == torch.float32
    logits = torch.zeros(2, 3)
    assert engine_kind(HeadKind.SEQUENCE).loss(logits, torch.tensor([0, 2]), None).item() == pytest.approx(np.log(3))
