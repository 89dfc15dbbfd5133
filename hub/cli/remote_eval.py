"""Evaluate an adapter through a running hub: Predict calls in batches, answers turned back into
the hub's Prediction values so the task's metric sees exactly what an in-process run sees."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import adapter_hub_client as client_lib
from adapter_hub_client import HubClient

from adapters_registry.manifest import HeadKind
from hub.cli.client_commands import connect
from hub.tasks.datasets import Example
from hub.tasks.metrics import Metric
from hub.tasks.results import EntitySpan, LabelScore, Prediction
from hub.training.evaluate import Evaluation, Predictor, batched, evaluate


def from_result(p: client_lib.Prediction) -> Prediction:
    """The client's Prediction as the hub's own (what the task's metric reads)."""
    return Prediction(
        labels=[LabelScore(x.label, x.score) for x in p.labels],
        entities=[EntitySpan(e.label, e.start, e.end, e.text, e.score) for e in p.entities],
        predicted=list(p.predicted),
    )


def client_predictor(client: HubClient, adapter: str, task: str, batch_size: int) -> Predictor:
    def predict(texts: list[str]) -> list[Prediction]:
        return [from_result(p) for p in client.predict(adapter, texts, task=task)]

    return batched(predict, batch_size)


def evaluate_remote(
    args: argparse.Namespace, kind: HeadKind, metric: Metric, examples: Sequence[Example]
) -> Evaluation:
    with connect(args) as client:
        predictor = client_predictor(client, args.adapter, args.task, args.batch_size)
        return evaluate(args.task, kind, metric, examples, predictor)
