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
from hub.tasks.answers import predict_texts
from hub.tasks.datasets import Example
from hub.tasks.head_kinds import task_kind
from hub.tasks.metrics import Metric
from hub.tasks.pipeline import TaskPipeline
from hub.tasks.results import Prediction

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


def evaluate(task: str, kind: HeadKind, metric: Metric, examples: Sequence[Example], predict: Predictor) -> Evaluation:
    head_kind = task_kind(kind)
    predictions = predict([e.text for e in examples])
    golds = [head_kind.gold(e) for e in examples]
    predicted = [head_kind.predicted(e, p) for e, p in zip(examples, predictions, strict=True)]
    scores = metric.compute(golds, predicted)
    return Evaluation(task, len(examples), {k: float(v) for k, v in scores.items()}, metric.headline)


def pipeline_predictor(pipeline: TaskPipeline, head: HeadSpec, scorer: Scorer) -> Predictor:
    """Predictions as HubService.predict makes them: the same path from scores to answers
    (hub.tasks.answers), with ``scorer`` in place of the serving engine."""

    def predict(texts: list[str]) -> list[Prediction]:
        return predict_texts(pipeline, head, texts, lambda pieces: scorer(head.task, pieces))

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
