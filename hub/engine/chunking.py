"""Split one batch into forwards of similar lengths (pure Python, no torch).

A forward pads every row to its longest, so a batch of mixed lengths wastes compute on
padding. Given the rows' token counts sorted ascending, ``split_by_length`` picks contiguous
chunks that minimise ``sum(rows * longest) + overhead * chunks`` (exact, by dynamic
programming over at most a few hundred rows), with at most ``max_tokens`` padded tokens per
forward. ``overhead`` is the fixed cost of one more forward, in tokens: small on a CPU, where
compute is proportional to tokens; large on a GPU, where launches dominate small forwards.
"""

from __future__ import annotations

from collections.abc import Sequence


def split_by_length(lengths: Sequence[int], overhead: int, max_tokens: int) -> list[tuple[int, int]]:
    """[start, end) chunks of ``lengths`` (sorted ascending) that minimise padded work."""
    n = len(lengths)
    if n == 0:
        return []
    inf = float("inf")
    best = [0.0] + [inf] * n  # best[j]: cost of rows [0, j)
    cut = [0] * (n + 1)
    for end in range(1, n + 1):
        longest = lengths[end - 1]
        most_rows = max(1, max_tokens // max(longest, 1))
        for start in range(max(0, end - most_rows), end):
            cost = best[start] + (end - start) * longest + overhead
            if cost < best[end]:
                best[end], cut[end] = cost, start
    chunks: list[tuple[int, int]] = []
    end = n
    while end > 0:
        chunks.append((cut[end], end))
        end = cut[end]
    return chunks[::-1]
