"""The engine's side of each head kind: one object per kind, one table keyed by HeadKind.

Serving (hub/engine/heads.py) and training (hub/engine/train/) compute every head through these
objects, so a head is trained exactly as it is served: which features its Linear reads (one
pooled vector per text, or every token), its activation, how one row's probabilities become
HeadScores, and for training its targets, loss and bias prior. The torch-free side of the same
kinds (decoding, labels, gold) is hub/tasks/head_kinds.py; adding a kind adds one entry to each.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from adapters_registry.manifest import HeadKind, Pooling
from hub.engine.tokens import Encoded
from hub.engine.train.types import Span, TrainExample
from hub.errors import IncompatibleAdapter
from hub.tasks.head_kinds import task_kind
from hub.tasks.results import HeadScores

IGNORE = -100  # token positions that carry no label (special tokens, non-first sub-tokens)


def pool(
    pooling: Pooling,
    hidden: torch.Tensor,
    pooled: torch.Tensor | None,
    mask: torch.Tensor,
    index: torch.Tensor,
) -> torch.Tensor:
    """One vector per row of ``index``: the backbone's pooler output, the [CLS] state, or the
    mean over real tokens."""
    if pooling is Pooling.POOLER:
        if pooled is None:  # refused at upload and at packing (adapters_registry.artifact.head_backbone_problems)
            raise IncompatibleAdapter(["this backbone has no pooler; use a head with cls or mean pooling"])
        return pooled.index_select(0, index)
    states = hidden.index_select(0, index)
    if pooling is Pooling.CLS:
        return states[:, 0]
    weights = mask.index_select(0, index).unsqueeze(-1).to(states.dtype)
    return (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


class EngineHeadKind(ABC):
    """One head kind, as the engine serves and trains it. Defaults: one pooled vector per text,
    softmax over the labels."""

    kind: ClassVar[HeadKind]
    uses_pos_weight: ClassVar[bool] = False  # training weighs its positive labels (``--pos-weight``)

    @property
    def per_token(self) -> bool:
        """Scores per token (the task side's layout) rather than one vector per text."""
        return task_kind(self.kind).per_token

    # ---- serving and training ----------------------------------------------------------
    def features(
        self,
        pooling: Pooling,
        hidden: torch.Tensor,
        pooled: torch.Tensor | None,
        mask: torch.Tensor,
        index: torch.Tensor,
    ) -> torch.Tensor:
        """What the head's Linear reads for the rows ``index``."""
        return pool(pooling, hidden, pooled, mask, index)

    def activate(self, logits: torch.Tensor) -> torch.Tensor:
        """Logits (rows, ..., labels) -> probabilities."""
        return logits.softmax(dim=-1)

    def row_scores(self, probs: np.ndarray, encoded: Encoded) -> HeadScores:
        """One row's probabilities (as :meth:`activate` gave them) -> what decoding reads."""
        return HeadScores(probs)

    # ---- training ----------------------------------------------------------------------
    @abstractmethod
    def target(self, example: TrainExample, index: Mapping[str, int], batch: Any, row: int) -> Any:
        """The training target of one example (``batch``: the tokenizer's output, row ``row``)."""

    @abstractmethod
    def batch_targets(self, targets: Sequence[Any], width: int) -> torch.Tensor:
        """Targets of one batch (``width``: its padded length) as the loss takes them."""

    @abstractmethod
    def count_labels(self, target: Any, counts: list[float]) -> int:
        """Add one target's label occurrences to ``counts``; return how many units it holds."""

    @abstractmethod
    def loss(self, logits: torch.Tensor, targets: torch.Tensor, pos_weight: torch.Tensor | None) -> torch.Tensor: ...

    def prior_bias(self, frequencies: torch.Tensor) -> torch.Tensor:
        """The bias that makes an untrained head predict the training data's label prior."""
        return torch.log(frequencies)


class SequenceHead(EngineHeadKind):
    kind = HeadKind.SEQUENCE

    def target(self, example: TrainExample, index: Mapping[str, int], batch: Any, row: int) -> int:
        return index[example.labels[0]]

    def batch_targets(self, targets: Sequence[Any], width: int) -> torch.Tensor:
        return torch.tensor(list(targets), dtype=torch.long)

    def count_labels(self, target: Any, counts: list[float]) -> int:
        counts[target] += 1
        return 1

    def loss(self, logits: torch.Tensor, targets: torch.Tensor, pos_weight: torch.Tensor | None) -> torch.Tensor:
        return F.cross_entropy(logits, targets)


class MultiLabelHead(EngineHeadKind):
    kind = HeadKind.MULTI_LABEL
    uses_pos_weight = True

    def activate(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(logits)

    def target(self, example: TrainExample, index: Mapping[str, int], batch: Any, row: int) -> list[float]:
        hot = [0.0] * len(index)
        for label in example.labels:
            hot[index[label]] = 1.0
        return hot

    def batch_targets(self, targets: Sequence[Any], width: int) -> torch.Tensor:
        return torch.tensor(list(targets), dtype=torch.float32)

    def count_labels(self, target: Any, counts: list[float]) -> int:
        for i, x in enumerate(target):
            counts[i] += float(x)
        return 1

    def loss(self, logits: torch.Tensor, targets: torch.Tensor, pos_weight: torch.Tensor | None) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits, targets, pos_weight=pos_weight)

    def prior_bias(self, frequencies: torch.Tensor) -> torch.Tensor:
        return torch.log(frequencies / (1.0 - frequencies))  # log-odds: a sigmoid per label


class TokenHead(EngineHeadKind):
    """Every token's hidden state through the head; a word is trained and decoded on its first token."""

    kind = HeadKind.TOKEN

    def features(
        self,
        pooling: Pooling,
        hidden: torch.Tensor,
        pooled: torch.Tensor | None,
        mask: torch.Tensor,
        index: torch.Tensor,
    ) -> torch.Tensor:
        return hidden.index_select(0, index)

    def row_scores(self, probs: np.ndarray, encoded: Encoded) -> HeadScores:
        n = encoded.tokens
        offsets, words = encoded.layout()
        return HeadScores(probs[:n], offsets[:n], words[:n])

    def target(self, example: TrainExample, index: Mapping[str, int], batch: Any, row: int) -> list[int]:
        return token_targets(batch, row, example, index)

    def batch_targets(self, targets: Sequence[Any], width: int) -> torch.Tensor:
        out = torch.full((len(targets), width), IGNORE, dtype=torch.long)
        for r, row in enumerate(targets):
            out[r, : len(row)] = torch.tensor(row)
        return out

    def count_labels(self, target: Any, counts: list[float]) -> int:
        trained = [t for t in target if t != IGNORE]
        for t in trained:
            counts[t] += 1
        return len(trained)

    def loss(self, logits: torch.Tensor, targets: torch.Tensor, pos_weight: torch.Tensor | None) -> torch.Tensor:
        return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE)


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


def token_targets(batch: Any, row: int, example: TrainExample, index: Mapping[str, int]) -> list[int]:
    """A target per token: the tag of its word on the word's first token, IGNORE elsewhere.

    The serving side decodes a word from its first token (hub.tasks.results.decode_bio), so that is
    the token trained. Words are the tokenizer's own pre-tokenized words, as in serving.
    """
    word_ids = batch.word_ids(row)
    offsets = batch["offset_mapping"][row]
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


ENGINE_HEAD_KINDS: Mapping[HeadKind, EngineHeadKind] = MappingProxyType(
    {k.kind: k for k in (SequenceHead(), MultiLabelHead(), TokenHead())}
)


def engine_kind(kind: HeadKind) -> EngineHeadKind:
    """The table entry of ``kind`` (every HeadKind has one: tests/unit/test_head_kinds.py)."""
    return ENGINE_HEAD_KINDS[kind]
