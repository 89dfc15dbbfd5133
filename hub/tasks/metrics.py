"""Evaluation metrics: ``compute(gold, predicted) -> {name: float}`` (torch-free, no sklearn).

Inputs follow :func:`hub.tasks.head_kinds.gold`: one label per example (sequence), a set of labels per
example (multi-label), or one BIO tag per word (token). Every value is in [0, 1]; a Metric
names its ``headline`` value, the one to select checkpoints by.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adapters_registry.manifest import HeadKind
from hub.tasks.datasets import bio_chunks


@dataclass(frozen=True)
class Metric:
    """A named metric for one head kind (registered by ``register_metrics``)."""

    name: str
    """``<namespace>.<name>``."""
    head_kind: HeadKind
    """The head kind it scores; a task naming it must be of this kind."""
    compute: Callable[[Sequence[Any], Sequence[Any]], dict[str, float]]
    """``(gold, predicted) -> {name: value in [0, 1]}``; per example a label (sequence), a set of
    labels (multi-label) or a tag per word (token)."""
    headline: str
    """The value training selects checkpoints by (a key of what ``compute`` returns)."""
    description: str = ""
    """One line for listings."""


def _f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _same_length(gold: Sequence[Any], predicted: Sequence[Any]) -> None:
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold examples but {len(predicted)} predictions")


def classification_scores(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str] | None = None
) -> dict[str, float]:
    """Accuracy, macro-F1 over ``labels`` (default: every label seen), and F1 per label."""
    _same_length(gold, predicted)
    labels = list(labels) if labels is not None else sorted(set(gold) | set(predicted))
    out = {"accuracy": sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold) if gold else 0.0}
    f1s = []
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, predicted, strict=True))
        f1 = _f1(tp, fp, fn)[2] if tp + fp + fn else 1.0  # absent on both sides: nothing was wrong
        out[f"f1.{label}"] = f1
        f1s.append(f1)
    out["macro_f1"] = sum(f1s) / len(f1s) if f1s else 0.0
    return out


def multi_label_scores(
    gold: Sequence[Collection[str]], predicted: Sequence[Collection[str]], labels: Sequence[str] | None = None
) -> dict[str, float]:
    """Micro P/R/F1 over every (example, label) decision, macro-F1 and F1 per label.

    Macro averages over the labels that occur in the gold data or the predictions: a label
    absent from both carries no evidence either way.
    """
    _same_length(gold, predicted)
    seen = {x for group in (*gold, *predicted) for x in group}
    labels = list(labels) if labels is not None else sorted(seen)
    counts = {label: [0, 0, 0] for label in labels}
    for gold_labels, predicted_labels in zip(gold, predicted, strict=True):
        g, p = set(gold_labels), set(predicted_labels)
        for label in labels:
            c = counts[label]
            c[0] += label in g and label in p
            c[1] += label not in g and label in p
            c[2] += label in g and label not in p
    tp, fp, fn = (sum(c[i] for c in counts.values()) for i in range(3))
    precision, recall, f1 = _f1(tp, fp, fn) if tp + fp + fn else (1.0, 1.0, 1.0)
    out = {"micro_precision": precision, "micro_recall": recall, "micro_f1": f1}
    f1s = []
    for label, (ltp, lfp, lfn) in counts.items():
        out[f"f1.{label}"] = _f1(ltp, lfp, lfn)[2] if ltp + lfp + lfn else 1.0
        if label in seen:
            f1s.append(out[f"f1.{label}"])
    out["macro_f1"] = sum(f1s) / len(f1s) if f1s else 1.0
    out["exact_match"] = (
        sum(set(g) == set(p) for g, p in zip(gold, predicted, strict=True)) / len(gold) if gold else 0.0
    )
    return out


def entity_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, float]:
    """Strict entity-level P/R/F1: an entity counts only with exact boundaries and type.

    Micro over all entities, plus F1 per entity type. Tag sequences are per word and must
    have the same length pairwise.
    """
    _same_length(gold, predicted)
    per_type: dict[str, list[int]] = {}
    for i, (g, p) in enumerate(zip(gold, predicted, strict=True)):
        if len(g) != len(p):
            raise ValueError(f"example {i}: {len(g)} gold tags but {len(p)} predicted tags")
        gold_set, pred_set = set(bio_chunks(g)), set(bio_chunks(p))
        for chunk in gold_set | pred_set:
            c = per_type.setdefault(chunk[0], [0, 0, 0])
            c[0 if chunk in gold_set and chunk in pred_set else 1 if chunk in pred_set else 2] += 1
    tp, fp, fn = (sum(c[i] for c in per_type.values()) for i in range(3))
    precision, recall, f1 = _f1(tp, fp, fn) if tp + fp + fn else (1.0, 1.0, 1.0)
    out = {"precision": precision, "recall": recall, "f1": f1}
    for label, (ltp, lfp, lfn) in sorted(per_type.items()):
        out[f"f1.{label}"] = _f1(ltp, lfp, lfn)[2]
    return out


def check_scores(scores: Mapping[str, object], headline: str) -> list[str]:
    """Problems with a metric's answer: a dict of floats in [0, 1] holding the headline."""
    problems = [f"{k}={v!r} is not a float in [0, 1]" for k, v in scores.items() if not _unit(v)]
    if headline not in scores:
        problems.append(f"the headline value {headline!r} is missing (got {sorted(scores)})")
    return problems


def _unit(value: object) -> bool:
    return isinstance(value, float) and 0.0 <= value <= 1.0
