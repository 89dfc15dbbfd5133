"""A task's request path around the model, resolved once at start-up.

Before the model: the task's segmenter splits a text into segments (or the whole text is one),
then its preprocessors rewrite each segment into what the model reads, keeping an offset map.
After the model (and the head kind's decoding, :func:`hub.tasks.results.decode`): spans are mapped
back to the ORIGINAL text, the task's postprocessor runs, and segment answers are summed up.
The model-facing text never leaves this module's callers: responses quote the original.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hub.tasks.results import EntitySpan, LabelScore, Prediction, SegmentPrediction
from hub.tasks.text import OffsetMap, Preprocessed, Preprocessor, Segmenter, Span, check_segments

# (prediction for one segment or text, offsets already in the original text; the original text)
Postprocessor = Callable[[Prediction, str], Prediction]


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

    def prepare(self, text: str) -> Prepared:
        spans: Sequence[Span] = [Span(0, len(text))]
        if self.segmenter is not None:
            spans = list(self.segmenter.split(text))
            problems = check_segments(text, spans)
            if problems:
                raise PluginFault(f"segmenter {self.segmenter.name!r}: {problems[0]}")
        pieces = tuple(self._preprocess(text[s.start : s.end], s) for s in spans)
        return Prepared(text, pieces, self.segmenter is not None)

    def _preprocess(self, segment: str, span: Span) -> Piece:
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
        return Piece(current, offsets, span.start, span.end)

    def finish(self, prepared: Prepared, answers: Sequence[Prediction]) -> Prediction:
        """Per-piece answers (offsets in piece text) -> the answer for the original text."""
        original = prepared.original
        mapped = [_map_back(piece, p, original) for piece, p in zip(prepared.pieces, answers, strict=True)]
        if self.postprocessor is not None:
            mapped = [self.postprocessor(p, original) for p in mapped]
        if not prepared.segmented:
            return mapped[0]
        segments = [
            SegmentPrediction(
                piece.start, piece.end, original[piece.start : piece.end], p.labels, p.entities, p.predicted
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
