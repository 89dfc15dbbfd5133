"""A task's metric over a dataset, from predictions made in-process or by a running hub.

Whatever makes the predictions (the model being trained, an in-process HubService, a server
over gRPC), they are turned into what the task's metric compares the same way, so the same
adapter on the same data gives the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from adapters_registry.manifest import HeadKind, HeadSpec
from hub.engine.train.types import DevResult, Scorer
from hub.tasks.datasets import Example, TokenExample, gold
from hub.tasks.metrics import Metric
from hub.tasks.pipeline import TaskPipeline
from hub.tasks.results import Prediction, decode

# texts -> one Prediction per text (offsets into the given texts)
Predictor = Callable[[list[str]], list[Prediction]]


@dataclass(frozen=True)
class Evaluation:
    task: str
    examples: int
    metrics: dict[str, float]
    headline: str

    @property
    def score(self) -> float:
        return self.metrics[self.headline]

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "examples": self.examples,
            "headline": self.headline,
            "metrics": {k: round(v, 6) for k, v in self.metrics.items()},
        }


def word_tags(example: TokenExample, prediction: Prediction) -> tuple[str, ...]:
    """Predicted entities (character spans) -> one BIO tag per word of the example."""
    tags = ["O"] * len(example.tokens)
    words = example.token_spans()
    for entity in sorted(prediction.entities, key=lambda e: (e.start, e.end)):
        inside = [
            i for i, (start, end) in enumerate(words) if start < entity.end and end > entity.start and tags[i] == "O"
        ]
        for n, i in enumerate(inside):
            tags[i] = ("B-" if n == 0 else "I-") + entity.label
    return tuple(tags)


def predicted_value(example: Example, prediction: Prediction, kind: HeadKind) -> object:
    """What the metric compares on the predicted side (the counterpart of hub.tasks.datasets.gold)."""
    if kind is HeadKind.TOKEN:
        assert isinstance(example, TokenExample)
        return word_tags(example, prediction)
    if kind is HeadKind.MULTI_LABEL:
        return frozenset(prediction.predicted)
    return prediction.predicted[0] if prediction.predicted else ""


def evaluate(task: str, kind: HeadKind, metric: Metric, examples: Sequence[Example], predict: Predictor) -> Evaluation:
    predictions = predict([e.text for e in examples])
    golds = [gold(e, kind) for e in examples]
    predicted = [predicted_value(e, p, kind) for e, p in zip(examples, predictions, strict=True)]
    scores = metric.compute(golds, predicted)
    return Evaluation(task, len(examples), {k: float(v) for k, v in scores.items()}, metric.headline)


def pipeline_predictor(pipeline: TaskPipeline, head: HeadSpec, scorer: Scorer) -> Predictor:
    """Predictions as HubService.predict makes them: the task's pipeline around raw scores."""

    def predict(texts: list[str]) -> list[Prediction]:
        prepared = [pipeline.prepare(text) for text in texts]
        pieces = [piece.text for p in prepared for piece in p.pieces]
        scores = scorer(head.task, pieces)
        out, used = [], 0
        for p in prepared:
            answers = [
                decode(head.head_kind, s, head.labels, head.threshold, piece.text)
                for piece, s in zip(p.pieces, scores[used : used + len(p.pieces)], strict=True)
            ]
            used += len(p.pieces)
            out.append(pipeline.finish(p, answers))
        return out

    return predict


def batched(predict: Predictor, size: int) -> Predictor:
    def run(texts: list[str]) -> list[Prediction]:
        out: list[Prediction] = []
        for start in range(0, len(texts), size):
            out += predict(texts[start : start + size])
        return out

    return run


def combine(evaluations: Sequence[Evaluation], select: str = "") -> DevResult:
    """Several tasks' evaluations -> the score early stopping watches: the mean over tasks of
    the ``select`` value (default: each metric's headline)."""
    values = []
    for e in evaluations:
        name = select or e.headline
        if name not in e.metrics:
            raise ValueError(f"task {e.task!r}: its metric gives no {name!r} (it gives {sorted(e.metrics)})")
        values.append(e.metrics[name])
    return DevResult(sum(values) / len(values), {e.task: dict(e.metrics) for e in evaluations})
