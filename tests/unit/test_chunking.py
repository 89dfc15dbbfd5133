"""Splitting a batch into forwards of similar lengths."""

from __future__ import annotations

import itertools
import random

from hub.engine.chunking import split_by_length


def _cost(lengths: list[int], chunks: list[tuple[int, int]], overhead: int) -> int:
    return sum((end - start) * lengths[end - 1] + overhead for start, end in chunks)


def test_chunks_cover_every_row_once_in_order() -> None:
    lengths = sorted(random.Random(1).randint(5, 120) for _ in range(70))
    chunks = split_by_length(lengths, overhead=64, max_tokens=4096)
    assert chunks[0][0] == 0 and chunks[-1][1] == len(lengths)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(chunks))


def test_equal_lengths_stay_one_forward() -> None:
    assert split_by_length([32] * 40, overhead=64, max_tokens=16384) == [(0, 40)]


def test_far_apart_lengths_split_and_padding_shrinks() -> None:
    lengths = [8] * 30 + [120] * 2
    chunks = split_by_length(lengths, overhead=64, max_tokens=16384)
    assert chunks == [(0, 30), (30, 32)]
    assert _cost(lengths, chunks, 64) < _cost(lengths, [(0, 32)], 64)


def test_a_large_overhead_keeps_one_forward() -> None:
    assert split_by_length([8] * 30 + [120] * 2, overhead=100_000, max_tokens=16384) == [(0, 32)]


def test_token_budget_bounds_each_forward() -> None:
    lengths = [100] * 50
    chunks = split_by_length(lengths, overhead=1, max_tokens=1000)
    assert all((end - start) * lengths[end - 1] <= 1000 for start, end in chunks)
    assert split_by_length([5000], overhead=1, max_tokens=1000) == [(0, 1)]  # one row always fits


def test_no_rows_no_chunks() -> None:
    assert split_by_length([], overhead=64, max_tokens=100) == []
