"""Texts -> token ids, once per text: the encoding that request validation counts is the one the
engine forwards (and token heads read their offsets and word ids from)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class Encoded:
    """One text as a fast tokenizer encoded it: special tokens added, no padding, no truncation."""

    features: Mapping[str, Sequence[int]]  # the model's inputs (input_ids, attention_mask, ...)
    source: Any  # the tokenizers.Encoding: offsets and word ids, read only for token heads

    @property
    def tokens(self) -> int:
        return len(self.features["input_ids"])

    def layout(self) -> tuple[np.ndarray, np.ndarray]:
        """(character offsets per token, word id per token with -1 for special tokens)."""
        offsets = np.asarray(self.source.offsets, dtype=np.int64).reshape(-1, 2)
        words = np.asarray([-1 if w is None else w for w in self.source.word_ids], dtype=np.int64)
        return offsets, words


def encode(tokenizer: Any, texts: Sequence[str]) -> list[Encoded]:
    """Encode ``texts`` in one call. Not thread-safe on a shared tokenizer: a fast tokenizer keeps
    its padding and truncation state in shared Rust state, so callers own their copy (the engine)
    or are single-threaded (training)."""
    if not texts:
        return []
    batch = tokenizer(list(texts), add_special_tokens=True)
    keys = list(batch.keys())
    return [Encoded({k: batch[k][i] for k in keys}, batch.encodings[i]) for i in range(len(texts))]


def pad(rows: Sequence[Encoded], pad_id: int) -> dict[str, np.ndarray]:
    """The rows' features right-padded to the longest (``pad_id`` for ids, 0 elsewhere)."""
    width = max(row.tokens for row in rows)
    keys = list(rows[0].features)
    arrays = {k: np.full((len(rows), width), pad_id if k == "input_ids" else 0, dtype=np.int64) for k in keys}
    for r, row in enumerate(rows):
        for k in keys:
            values = row.features[k]
            arrays[k][r, : len(values)] = values
    return arrays
