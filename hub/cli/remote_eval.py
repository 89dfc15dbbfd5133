"""Evaluate an adapter through a running hub: Predict calls in batches, answers turned back into
the hub's Prediction values so the task's metric sees exactly what an in-process run sees."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from adapters_registry.manifest import HeadKind
from hub.api.v1 import inference_pb2
from hub.cli.client_commands import connect
from hub.tasks.datasets import Example
from hub.tasks.metrics import Metric
from hub.tasks.results import EntitySpan, LabelScore, Prediction
from hub.training.evaluate import Evaluation, Predictor, batched, evaluate
from hub.transport.client import HubClient


def from_message(p: inference_pb2.Prediction) -> Prediction:
    return Prediction(
        labels=[LabelScore(x.label, x.score) for x in p.labels],
        entities=[EntitySpan(e.label, e.start, e.end, e.text, e.score) for e in p.entities],
        predicted=list(p.predicted),
    )


def client_predictor(client: HubClient, adapter: str, task: str, batch_size: int) -> Predictor:
    def predict(texts: list[str]) -> list[Prediction]:
        response = client.predict(adapter, texts, task=task)
        return [from_message(p) for p in response.predictions]

    return batched(predict, batch_size)


def evaluate_remote(
    args: argparse.Namespace, kind: HeadKind, metric: Metric, examples: Sequence[Example]
) -> Evaluation:
    with connect(args) as client:
        predictor = client_predictor(client, args.adapter, args.task, args.batch_size)
        return evaluate(args.task, kind, metric, examples, predictor)
