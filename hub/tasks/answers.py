"""The one path from a head's scores to the answers a caller gets, for serving and evaluation.

Serving (HubService) and evaluation (hub.training.evaluate) both run: the task's pipeline
prepares each text into pieces, the model scores every piece, each piece's scores are decoded
by the head's kind, and the pipeline maps the piece answers back onto the original text.
Only how the pieces are scored differs, so everything else lives here once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from adapters_registry.manifest import HeadSpec
from hub.tasks.head_kinds import task_kind
from hub.tasks.pipeline import Piece, Prepared, TaskPipeline
from hub.tasks.results import HeadScores, Prediction

# piece texts -> one HeadScores per piece, in order
PieceScorer = Callable[[list[str]], Sequence[HeadScores]]


def pieces(prepared: Sequence[Prepared]) -> list[Piece]:
    """Every piece of every prepared text, in order: the rows the model scores."""
    return [piece for p in prepared for piece in p.pieces]


def answers(
    pipeline: TaskPipeline, head: HeadSpec, prepared: Sequence[Prepared], scores: Sequence[HeadScores]
) -> list[Prediction]:
    """Decode each piece's scores by the head's kind, then let the pipeline map back and sum up.

    ``scores`` holds one entry per piece of ``prepared``, in :func:`pieces` order.
    """
    kind = task_kind(head.head_kind)
    out, used = [], 0
    for p in prepared:
        rows = scores[used : used + len(p.pieces)]
        used += len(p.pieces)
        out.append(
            pipeline.finish(p, [kind.decode(s, head, piece.text) for piece, s in zip(p.pieces, rows, strict=True)])
        )
    if used != len(scores):
        raise ValueError(f"{len(scores)} scores for {used} pieces")
    return out


def predict_texts(pipeline: TaskPipeline, head: HeadSpec, texts: Sequence[str], score: PieceScorer) -> list[Prediction]:
    """Texts -> answers, with ``score`` standing in for the engine (evaluation's path)."""
    prepared = [pipeline.prepare(text) for text in texts]
    return answers(pipeline, head, prepared, score([piece.text for piece in pieces(prepared)]))
