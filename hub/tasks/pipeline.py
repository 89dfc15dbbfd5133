"""A task's request path around the model, resolved once at start-up.

Before the model: the task's segmenter splits a text into segments (or the whole text is one),
then its preprocessors rewrite each answered segment into what the model reads, keeping an
offset map (context segments are part of the text but get no answer and never reach the model).
After the model (and the head kind's decoding, :func:`hub.tasks.results.decode`): spans are mapped
back to the ORIGINAL text, the task's postprocessor runs, and segment answers are summed up.
The model-facing text never leaves this module's callers: responses quote the original.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.tasks.results import EntitySpan, LabelScore, Prediction, SegmentPrediction
from hub.tasks.text import OffsetMap, Preprocessed, Preprocessor, Segmenter, Span, as_segment, check_segments


@dataclass(frozen=True)
class AnsweredSegment:
    """What a postprocessor is told about the segment it answers (the whole text, ``kind`` "",
    when the task has no segmenter)."""

    start: int
    """Character offset of the segment into the original text."""
    end: int
    """Exclusive end offset."""
    text: str
    """``original[start:end]``: the segment as the client sent it."""
    kind: str = ""
    """The kind its segmenter gave it (``""``: none)."""


# (prediction for one segment or text, offsets already in the original text; the original
# text), or the same with a third argument: the AnsweredSegment it answers.
Postprocessor = Callable[[Prediction, str], Prediction] | Callable[[Prediction, str, AnsweredSegment], Prediction]

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def postprocessor_arity(post: Callable[..., Any]) -> int | None:
    """How many arguments a postprocessor takes: 3 with the segment, 2 without (the first API's
    form, still served), None when it can take neither."""
    try:
        signature = inspect.signature(post)
    except (TypeError, ValueError):  # a builtin without a signature: the plain form
        return 2
    params = list(signature.parameters.values())
    takes_three = len([p for p in params if p.kind in _POSITIONAL]) >= 3 or any(
        p.kind is inspect.Parameter.VAR_POSITIONAL for p in params
    )
    for arity in (3, 2) if takes_three else (2,):
        try:
            signature.bind(*range(arity))
        except TypeError:
            continue
        return arity
    return None


class PluginFault(RuntimeError):
    """A plugin component broke its contract at request time (a server bug, never the client's).

    Messages name the component only: they never quote the text being processed.
    """


@dataclass(frozen=True)
class Piece:
    """One row for the model: its text, and where it came from in the original text."""

    text: str
    offsets: OffsetMap  # piece text -> the segment original[start:end]
    start: int
    end: int
    kind: str = ""  # the segment's kind


@dataclass(frozen=True)
class Prepared:
    original: str
    pieces: tuple[Piece, ...]
    segmented: bool


@dataclass(frozen=True)
class TaskPipeline:
    task: str
    preprocessors: tuple[Preprocessor, ...] = ()
    segmenter: Segmenter | None = None
    postprocessor: Postprocessor | None = None
    _post_arity: int = field(init=False, repr=False, compare=False, default=2)

    def __post_init__(self) -> None:
        if self.postprocessor is not None:  # decided once, at start-up
            object.__setattr__(self, "_post_arity", postprocessor_arity(self.postprocessor) or 2)

    def prepare(self, text: str) -> Prepared:
        segments = [Span(0, len(text))]
        if self.segmenter is not None:
            segments = list(self.segmenter.split(text))
            problems = check_segments(text, segments)
            if problems:
                raise PluginFault(f"segmenter {self.segmenter.name!r}: {problems[0]}")
        answered = [s for s in map(as_segment, segments) if not s.context]
        pieces = tuple(self._preprocess(text[s.start : s.end], s.start, s.end, s.kind) for s in answered)
        return Prepared(text, pieces, self.segmenter is not None)

    def _preprocess(self, segment: str, start: int, end: int, kind: str) -> Piece:
        current, offsets = segment, OffsetMap.identity(len(segment))
        for pre in self.preprocessors:
            try:
                out = pre.apply(current)
            except Exception as exc:  # noqa: BLE001 - a plugin bug, reported without the text
                raise PluginFault(f"preprocessor {pre.name!r} raised {type(exc).__name__}") from None
            if not isinstance(out, Preprocessed) or out.offsets.source_length != len(current):
                raise PluginFault(f"preprocessor {pre.name!r} returned no Preprocessed of its input")
            offsets = out.offsets.compose(offsets)
            current = out.text
        return Piece(current, offsets, start, end, kind)

    def postprocess(self, prediction: Prediction, original: str, segment: AnsweredSegment) -> Prediction:
        """The task's postprocessor on one answer, in the form it was written for."""
        post: Any = self.postprocessor
        if post is None:
            return prediction
        return post(prediction, original, segment) if self._post_arity == 3 else post(prediction, original)

    def finish(self, prepared: Prepared, answers: Sequence[Prediction]) -> Prediction:
        """Per-piece answers (offsets in piece text) -> the answer for the original text."""
        original = prepared.original
        mapped = [
            self.postprocess(
                _map_back(piece, p, original),
                original,
                AnsweredSegment(piece.start, piece.end, original[piece.start : piece.end], piece.kind),
            )
            for piece, p in zip(prepared.pieces, answers, strict=True)
        ]
        if not prepared.segmented:
            return mapped[0]
        segments = [
            SegmentPrediction(
                piece.start,
                piece.end,
                original[piece.start : piece.end],
                p.labels,
                p.entities,
                p.predicted,
                piece.kind,
            )
            for piece, p in zip(prepared.pieces, mapped, strict=True)
        ]
        return _summary(mapped, segments)


def _map_back(piece: Piece, p: Prediction, original: str) -> Prediction:
    entities = []
    for e in p.entities:
        start, end = piece.offsets.span(e.start, e.end)
        start, end = start + piece.start, end + piece.start
        if end > start:  # an entity wholly inside inserted text has no original characters
            entities.append(EntitySpan(e.label, start, end, original[start:end], e.score))
    return Prediction(labels=p.labels, entities=entities, predicted=p.predicted)


def _summary(answers: list[Prediction], segments: list[SegmentPrediction]) -> Prediction:
    """A segmented text's overall answer: each label's best segment score, every label some
    segment predicts (highest first), and every segment's entities."""
    best: dict[str, float] = {}
    for p in answers:
        for x in p.labels:
            best[x.label] = max(best.get(x.label, 0.0), x.score)
    labels = [LabelScore(k, v) for k, v in sorted(best.items(), key=lambda kv: -kv[1])]
    chosen = {x for p in answers for x in p.predicted}
    predicted = [x.label for x in labels if x.label in chosen]
    predicted += sorted(chosen - set(predicted))
    entities = [e for p in answers for e in p.entities]
    return Prediction(labels=labels, entities=entities, predicted=predicted, segments=segments)
