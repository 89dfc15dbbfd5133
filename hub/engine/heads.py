"""Task heads over a backbone output: each head applied once to all of its rows.

What a head reads and how its logits become probabilities is its kind's (hub/engine/head_kinds.py);
its own layers (a family's dense + activation + norm, hub/engine/head_layers.py) run between.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import torch

from hub.engine.head_kinds import engine_kind
from hub.engine.head_layers import run_layers
from hub.engine.packing import PackedHead
from hub.engine.tokens import Encoded
from hub.tasks.results import HeadScores


class HasHead(Protocol):
    @property
    def head(self) -> PackedHead: ...


def apply_heads(
    rows: Sequence[HasHead], output: object, mask: torch.Tensor, encodings: Sequence[Encoded]
) -> list[HeadScores]:
    """Each row's head on the backbone output (rows in the order of the forward's batch;
    ``encodings[i]`` is row i's tokens, for the kinds that score per token)."""
    hidden = output.last_hidden_state  # type: ignore[attr-defined]
    pooled = getattr(output, "pooler_output", None)
    groups: dict[int, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(id(row.head), []).append(i)
    results: list[HeadScores | None] = [None] * len(rows)
    for indices in groups.values():
        head = rows[indices[0]].head
        kind = engine_kind(head.kind)
        index = torch.tensor(indices, device=hidden.device)
        features = run_layers(kind.features(head.pooling, hidden, pooled, mask, index), head.layers)
        probs = kind.activate((features @ head.weight.t() + head.bias).float()).cpu().numpy()
        for j, i in enumerate(indices):
            results[i] = kind.row_scores(probs[j], encodings[i])
    return [r for r in results if r is not None]
