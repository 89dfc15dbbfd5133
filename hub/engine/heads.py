"""Task heads over a backbone output: each head applied once to all of its rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch

from adapters_registry.manifest import HeadKind, Pooling
from hub.engine.packing import PackedHead
from hub.tasks.results import HeadScores

# Per row: (character offsets per token, word id per token with -1 for special tokens), or
# None for rows whose head is not a token head (nothing per token is needed then).
TokenLayout = tuple[np.ndarray, np.ndarray] | None


class HasHead(Protocol):
    @property
    def head(self) -> PackedHead: ...


def token_layout(encoded: object, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and word ids of row ``index`` of a fast tokenizer's BatchEncoding."""
    offsets = np.asarray(encoded["offset_mapping"][index]).reshape(-1, 2)  # type: ignore[index]
    words = [-1 if w is None else w for w in encoded.word_ids(index)]  # type: ignore[attr-defined]
    return offsets, np.asarray(words, dtype=np.int64)


def apply_heads(
    rows: Sequence[HasHead], output: object, mask: torch.Tensor, layouts: Sequence[TokenLayout]
) -> list[HeadScores]:
    """Each row's head on the backbone output (rows in the order of the forward's batch)."""
    hidden = output.last_hidden_state  # type: ignore[attr-defined]
    pooled = getattr(output, "pooler_output", None)
    groups: dict[int, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(id(row.head), []).append(i)
    results: list[HeadScores | None] = [None] * len(rows)
    lengths = mask.sum(dim=1).tolist()
    for indices in groups.values():
        head = rows[indices[0]].head
        index = torch.tensor(indices, device=hidden.device)
        if head.kind is HeadKind.TOKEN:
            logits = hidden.index_select(0, index) @ head.weight.t() + head.bias
            probs = logits.float().softmax(dim=-1).cpu().numpy()
            for j, i in enumerate(indices):
                n = int(lengths[i])
                layout = layouts[i]
                assert layout is not None, "token heads need the token layout"
                results[i] = HeadScores(probs[j, :n], layout[0][:n], layout[1][:n])
            continue
        features = pool(head.pooling, hidden, pooled, mask, index)
        logits = (features @ head.weight.t() + head.bias).float()
        activation = torch.sigmoid if head.kind is HeadKind.MULTI_LABEL else _softmax
        probs = activation(logits).cpu().numpy()
        for j, i in enumerate(indices):
            results[i] = HeadScores(probs[j])
    return [r for r in results if r is not None]


def _softmax(logits: torch.Tensor) -> torch.Tensor:
    return logits.softmax(dim=-1)


def pool(
    pooling: Pooling,
    hidden: torch.Tensor,
    pooled: torch.Tensor | None,
    mask: torch.Tensor,
    index: torch.Tensor,
) -> torch.Tensor:
    if pooling is Pooling.POOLER:
        if pooled is None:
            raise ValueError("this backbone has no pooler; use a head with cls or mean pooling")
        return pooled.index_select(0, index)
    states = hidden.index_select(0, index)
    if pooling is Pooling.CLS:
        return states[:, 0]
    weights = mask.index_select(0, index).unsqueeze(-1).to(states.dtype)
    return (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
