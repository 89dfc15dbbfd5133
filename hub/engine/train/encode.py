"""Examples -> token ids and targets, and seeded, length-bucketed batches across tasks."""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from adapters_registry.manifest import HeadKind
from hub.engine.train.types import Span, TaskData, TrainExample

IGNORE = -100  # token positions that carry no label (special tokens, non-first sub-tokens)
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


def word_tags(word_spans: list[tuple[int, int]], spans: tuple[Span, ...]) -> list[str]:
    """BIO tag per word: the first word touching an entity is B-, the following ones I-."""
    tags: list[str] = []
    begun: set[int] = set()
    for start, end in word_spans:
        hit = next((i for i, s in enumerate(spans) if s.start < end and s.end > start and end > start), None)
        if hit is None:
            tags.append("O")
            continue
        tags.append(("I-" if hit in begun else "B-") + spans[hit].label)
        begun.add(hit)
    return tags


def encode_task(tokenizer: object, data: TaskData, max_length: int) -> EncodedTask:
    examples = data.train
    encoded = tokenizer(  # type: ignore[operator]
        [e.text for e in examples],
        truncation=True,
        max_length=max_length,
        return_offsets_mapping=data.head_kind is HeadKind.TOKEN,
    )
    index = {label: i for i, label in enumerate(data.labels)}
    targets: list[object] = []
    for i, example in enumerate(examples):
        if data.head_kind is HeadKind.TOKEN:
            targets.append(_token_targets(encoded, i, example, index))
        elif data.head_kind is HeadKind.MULTI_LABEL:
            row = [0.0] * len(data.labels)
            for label in example.labels:
                row[index[label]] = 1.0
            targets.append(row)
        else:
            targets.append(index[example.labels[0]])
    return EncodedTask(data, [list(ids) for ids in encoded["input_ids"]], targets)


def _token_targets(encoded: object, row: int, example: TrainExample, index: dict[str, int]) -> list[int]:
    """A target per token: the tag of its word on the word's first token, IGNORE elsewhere.

    The serving side decodes a word from its first token (hub.tasks.results.decode_bio), so that is
    the token trained. Words are the tokenizer's own pre-tokenized words, as in serving.
    """
    word_ids = encoded.word_ids(row)  # type: ignore[attr-defined]
    offsets = encoded["offset_mapping"][row]  # type: ignore[index]
    first: dict[int, int] = {}
    ends: dict[int, int] = {}
    for token, word in enumerate(word_ids):
        if word is None:
            continue
        first.setdefault(word, token)
        ends[word] = int(offsets[token][1])
    words = sorted(first)
    spans = [(int(offsets[first[w]][0]), ends[w]) for w in words]
    if example.offsets is not None:  # word ranges in the model's text -> the original text
        spans = [example.offsets.span(s, e) for s, e in spans]
    tags = word_tags(spans, example.spans)
    targets = [IGNORE] * len(word_ids)
    for word, tag in zip(words, tags, strict=True):
        if tag not in index:
            raise ValueError(f"tag {tag!r} is not among the head's labels {sorted(index)}")
        targets[first[word]] = index[tag]
    return targets


def label_frequencies(task: EncodedTask) -> list[float]:
    """How often each head label is the target: per example for sequence and multi-label heads,
    per trained token (first pieces of words) for token heads."""
    counts = [0.0] * len(task.data.labels)
    total = 0
    for target in task.targets:
        if isinstance(target, int):  # sequence: the label's index
            counts[target] += 1
            total += 1
        elif task.data.head_kind is HeadKind.MULTI_LABEL:
            counts = [c + float(x) for c, x in zip(counts, target, strict=True)]  # type: ignore[call-overload]
            total += 1
        else:  # token: a label index per token, IGNORE where untrained
            trained = [t for t in target if t != IGNORE]  # type: ignore[attr-defined]
            for t in trained:
                counts[t] += 1
            total += len(trained)
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
    kind = task.data.head_kind
    if kind is HeadKind.TOKEN:
        targets = torch.full((len(ids), width), IGNORE, dtype=torch.long)
        for r, i in enumerate(rows):
            row = task.targets[i]
            targets[r, : len(row)] = torch.tensor(row)  # type: ignore[arg-type]
    elif kind is HeadKind.MULTI_LABEL:
        targets = torch.tensor([task.targets[i] for i in rows], dtype=torch.float32)
    else:
        targets = torch.tensor([task.targets[i] for i in rows], dtype=torch.long)
    inputs = {
        "input_ids": input_ids,
        "attention_mask": mask,
        "token_type_ids": torch.zeros_like(input_ids),
    }
    return Batch(task.data.task, inputs, targets)
