"""Examples -> token ids and targets, and seeded, length-bucketed batches across tasks."""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from hub.engine.head_kinds import IGNORE, engine_kind
from hub.engine.train.types import TaskData

__all__ = ["IGNORE", "Batch", "EncodedTask", "collate", "encode_task", "epoch_batches", "label_frequencies"]

BUCKET_BATCHES = 50  # batches sorted by length together: little padding, still shuffled


@dataclass
class EncodedTask:
    data: TaskData
    input_ids: list[list[int]]
    targets: list[object]  # int (sequence), list[float] (multi-label), list[int] (token)


@dataclass(frozen=True)
class Batch:
    task: str
    inputs: dict[str, torch.Tensor]
    targets: torch.Tensor


def encode_task(tokenizer: object, data: TaskData, max_length: int) -> EncodedTask:
    kind = engine_kind(data.head_kind)
    examples = data.train
    encoded = tokenizer(  # type: ignore[operator]
        [e.text for e in examples],
        truncation=True,
        max_length=max_length,
        return_offsets_mapping=kind.per_token,
    )
    index = {label: i for i, label in enumerate(data.labels)}
    targets = [kind.target(example, index, encoded, i) for i, example in enumerate(examples)]
    return EncodedTask(data, [list(ids) for ids in encoded["input_ids"]], targets)


def label_frequencies(task: EncodedTask) -> list[float]:
    """How often each head label is the target: per example for sequence and multi-label heads,
    per trained token (first pieces of words) for token heads."""
    kind = engine_kind(task.data.head_kind)
    counts = [0.0] * len(task.data.labels)
    total = sum(kind.count_labels(target, counts) for target in task.targets)
    return [c / max(1, total) for c in counts]


def epoch_batches(tasks: list[EncodedTask], batch_size: int, rng: random.Random) -> list[tuple[int, list[int]]]:
    """(task index, example indices) for one pass over every task, in a seeded order.

    Within a task, examples are shuffled, then sorted by length inside buckets of
    BUCKET_BATCHES batches (less padding); batches of all tasks are then shuffled together,
    so tasks are sampled in proportion to their size.
    """
    batches: list[tuple[int, list[int]]] = []
    for t, task in enumerate(tasks):
        order = list(range(len(task.input_ids)))
        rng.shuffle(order)
        chunk = batch_size * BUCKET_BATCHES
        for start in range(0, len(order), chunk):
            part = sorted(order[start : start + chunk], key=lambda i: len(task.input_ids[i]))
            batches += [(t, part[k : k + batch_size]) for k in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(task: EncodedTask, rows: list[int], pad_id: int) -> Batch:
    ids = [task.input_ids[i] for i in rows]
    width = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for r, x in enumerate(ids):
        input_ids[r, : len(x)] = torch.tensor(x)
        mask[r, : len(x)] = 1
    targets = engine_kind(task.data.head_kind).batch_targets([task.targets[i] for i in rows], width)
    inputs = {
        "input_ids": input_ids,
        "attention_mask": mask,
        "token_type_ids": torch.zeros_like(input_ids),
    }
    return Batch(task.data.task, inputs, targets)
