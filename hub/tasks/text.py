"""Text rewriting that remembers where every character came from (torch-free, pure functions).

A preprocessor turns a text into the text the model sees and an :class:`OffsetMap` back to its
input. The map is a list of runs that tile both texts: a *copied* run is verbatim input, a
*replaced* run stands for a whole input range (a mask, a normalised token, a deletion). Spans
the model finds in its text map back to the input with :meth:`OffsetMap.span`; maps of
preprocessors applied in sequence compose with :meth:`OffsetMap.compose`.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """A character range of a text: ``text[start:end]``."""

    start: int
    """Character offset of its first character."""
    end: int
    """Exclusive end offset."""


@dataclass(frozen=True)
class Run:
    """``out[out_start:out_end]`` came from ``src[src_start:src_end]``, verbatim if ``copied``."""

    out_start: int
    out_end: int
    src_start: int
    src_end: int
    copied: bool


@dataclass(frozen=True)
class OffsetMap:
    """Where each character of a rewritten text came from in its source text."""

    runs: tuple[Run, ...]
    source_length: int
    _visible: tuple[Run, ...] = field(init=False, repr=False, compare=False)
    _keys: list[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        out = src = 0
        for run in self.runs:
            if run.out_start != out or run.src_start != src or run.out_end < out or run.src_end < src:
                raise ValueError(f"offset map runs must tile both texts in order; bad run {run}")
            if run.copied and run.out_end - run.out_start != run.src_end - run.src_start:
                raise ValueError(f"a copied run has the same length on both sides; bad run {run}")
            out, src = run.out_end, run.src_end
        if src != self.source_length:
            raise ValueError(f"offset map covers {src} source characters, the source has {self.source_length}")
        visible = tuple(r for r in self.runs if r.out_end > r.out_start)
        object.__setattr__(self, "_visible", visible)
        object.__setattr__(self, "_keys", [r.out_start for r in visible])

    @classmethod
    def identity(cls, length: int) -> OffsetMap:
        runs = (Run(0, length, 0, length, True),) if length else ()
        return cls(runs, length)

    @property
    def output_length(self) -> int:
        return self.runs[-1].out_end if self.runs else 0

    def __len__(self) -> int:
        return self.output_length

    def _run_at(self, position: int) -> Run:
        """The non-empty run holding output character ``position``."""
        return self._visible[bisect.bisect_right(self._keys, position) - 1]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The source range that output characters ``[start, end)`` came from."""
        n = self.output_length
        if not 0 <= start <= end <= n:
            raise ValueError(f"span {start}-{end} is outside the rewritten text (length {n})")
        if start == end:
            position = self._point(start)
            return position, position
        first, last = self._run_at(start), self._run_at(end - 1)
        src_start = first.src_start + (start - first.out_start) if first.copied else first.src_start
        src_end = last.src_start + (end - last.out_start) if last.copied else last.src_end
        return src_start, src_end

    def _point(self, position: int) -> int:
        if position >= self.output_length:
            return self.source_length
        run = self._run_at(position)
        return run.src_start + (position - run.out_start) if run.copied else run.src_start

    def compose(self, inner: OffsetMap) -> OffsetMap:
        """This map (C -> B) after ``inner`` (B -> A): a map C -> A."""
        if inner.output_length != self.source_length:
            raise ValueError("maps do not chain: the inner map's output is not this map's source")
        runs: list[Run] = []
        for run in self.runs:
            if not run.copied or run.out_start == run.out_end:
                a_start, a_end = _source_range(inner, run.src_start, run.src_end)
                runs.append(Run(run.out_start, run.out_end, a_start, a_end, False))
                continue
            for piece in inner.runs:  # a copied run may cross several inner runs
                lo, hi = max(run.src_start, piece.out_start), min(run.src_end, piece.out_end)
                if lo >= hi:
                    continue
                out_lo = run.out_start + (lo - run.src_start)
                out_hi = out_lo + (hi - lo)
                if piece.copied:
                    shift = piece.src_start - piece.out_start
                    runs.append(Run(out_lo, out_hi, lo + shift, hi + shift, True))
                else:
                    runs.append(Run(out_lo, out_hi, piece.src_start, piece.src_end, False))
        return OffsetMap(tuple(_fill_gaps(runs, inner.source_length)), inner.source_length)


def _source_range(inner: OffsetMap, start: int, end: int) -> tuple[int, int]:
    """Inner's source range for its output ``[start, end)``, whole runs included when empty."""
    if start < end:
        return inner.span(start, end)
    position = inner._point(start)
    return position, position


def _fill_gaps(runs: list[Run], source_length: int) -> list[Run]:
    """Merge runs that overlap in the source (parts of one replacement) and cover skipped source.

    Composition can leave two output runs pointing into one inner replacement, or leave source
    characters that an inner deletion removed unclaimed; folding them into replaced runs keeps
    the tiling invariant.
    """
    merged: list[Run] = []
    src = 0
    for run in runs:
        current = run
        if merged and run.src_start < merged[-1].src_end:
            last = merged.pop()
            current = Run(last.out_start, run.out_end, last.src_start, max(last.src_end, run.src_end), False)
        elif run.src_start > src:
            if merged and not merged[-1].copied:
                last = merged.pop()
                merged.append(Run(last.out_start, last.out_end, last.src_start, run.src_start, False))
            else:
                merged.append(Run(run.out_start, run.out_start, src, run.src_start, False))
        merged.append(current)
        src = max(src, current.src_end)
    if src < source_length:
        end = merged[-1].out_end if merged else 0
        merged.append(Run(end, end, src, source_length, False))
    return merged


@dataclass(frozen=True)
class Preprocessed:
    """What a preprocessor returns: the rewritten text and its map back to the input."""

    text: str
    """The rewritten text: what the next preprocessor, or the model, reads."""
    offsets: OffsetMap
    """Where each of its characters came from in the input (``offsets.span(start, end)``)."""

    def __post_init__(self) -> None:
        if self.offsets.output_length != len(self.text):
            raise ValueError(
                f"offset map describes {self.offsets.output_length} characters, the text has {len(self.text)}"
            )

    @classmethod
    def unchanged(cls, text: str) -> Preprocessed:
        return cls(text, OffsetMap.identity(len(text)))


@dataclass(frozen=True)
class Edit:
    """Replace ``source[start:end]`` by ``replacement`` (an insertion when start == end)."""

    start: int
    """First character replaced."""
    end: int
    """Exclusive end of what is replaced."""
    replacement: str
    """What stands there instead (``""``: a deletion)."""


def apply_edits(source: str, edits: Iterable[Edit]) -> Preprocessed:
    """Apply non-overlapping edits at once; the map records each one as a replaced run."""
    runs: list[Run] = []
    parts: list[str] = []
    out = src = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if edit.start < src or edit.end < edit.start or edit.end > len(source):
            raise ValueError(f"edits overlap or leave the text: {edit} (text length {len(source)})")
        if edit.start > src:
            runs.append(Run(out, out + edit.start - src, src, edit.start, True))
            parts.append(source[src : edit.start])
            out += edit.start - src
        runs.append(Run(out, out + len(edit.replacement), edit.start, edit.end, False))
        parts.append(edit.replacement)
        out += len(edit.replacement)
        src = edit.end
    if src < len(source):
        runs.append(Run(out, out + len(source) - src, src, len(source), True))
        parts.append(source[src:])
    return Preprocessed("".join(parts), OffsetMap(tuple(runs), len(source)))


Replacement = str | Callable[[re.Match[str]], str]


def replace_patterns(source: str, rules: Sequence[tuple[re.Pattern[str], Replacement]]) -> Preprocessed:
    r"""Rewrite every match of every rule; where matches overlap the earliest, then longest, wins.

    A pattern with a group named ``mask`` rewrites only that group: the rest of the match is
    context (``MRN:\s*(?P<mask>\d+)`` keeps "MRN:" and masks the number).
    """
    found: list[tuple[int, int, int, Replacement, re.Match[str]]] = []
    for order, (pattern, replacement) in enumerate(rules):
        group = "mask" if "mask" in pattern.groupindex else 0
        for match in pattern.finditer(source):
            start, end = match.span(group)
            if end > start:
                found.append((start, -end, order, replacement, match))
    edits: list[Edit] = []
    taken = 0
    for start, neg_end, _, replacement, match in sorted(found, key=lambda f: f[:3]):
        if start < taken:
            continue
        text = replacement if isinstance(replacement, str) else replacement(match)
        edits.append(Edit(start, -neg_end, text))
        taken = -neg_end
    return apply_edits(source, edits)


@dataclass(frozen=True)
class Preprocessor:
    """A named, pure text -> :class:`Preprocessed` function (registered by ``register_preprocessors``)."""

    name: str
    """``<namespace>.<name>``."""
    apply: Callable[[str], Preprocessed]
    """``text -> Preprocessed``: pure, deterministic, for any text (the empty one included)."""
    description: str = ""
    """One line for listings."""


@dataclass(frozen=True)
class Segment(Span):
    """A segmenter's piece of a text, with its role: ``text[start:end]``.

    ``kind`` names what the piece is (``"customer"``, ``"agent"``, ``"heading"``; ``""``: no
    kind); it comes back on the piece's answer and reaches the postprocessor. ``context=True``
    marks a piece that is part of the text but not answered (an agent's turn in a chat): it
    gets no answer and is not sent to the model. A plain :class:`Span` is a ``Segment`` with
    no kind that is answered.
    """

    kind: str = ""
    """What the piece is (``"customer"``); comes back on its answer. ``""``: no kind."""
    context: bool = False
    """``True``: part of the text, never answered nor sent to the model."""


def as_segment(span: Span) -> Segment:
    """A segmenter's span as a Segment (a plain Span: answered, no kind)."""
    return span if isinstance(span, Segment) else Segment(span.start, span.end)


@dataclass(frozen=True)
class Segmenter:
    """A named text -> spans function: each span is answered on its own (e.g. one per sentence).

    ``split`` returns :class:`Span` or :class:`Segment` objects (mixed freely): in order,
    disjoint, non-empty, inside the text, together covering every word of it."""

    name: str
    """``<namespace>.<name>``."""
    split: Callable[[str], Sequence[Span]]
    """``text -> [Span | Segment]``: in order, disjoint, non-empty, covering every word."""
    description: str = ""
    """One line for listings."""


def check_segments(text: str, spans: Sequence[Span]) -> list[str]:
    """Problems with a segmenter's answer: spans must be in order, disjoint, inside, non-empty,
    and a Segment's kind a string and its context a bool."""
    problems: list[str] = []
    previous = 0
    for i, span in enumerate(spans):
        if not isinstance(span, Span):
            problems.append(f"segment {i} is a {type(span).__name__}, not a Span or Segment")
        elif not previous <= span.start < span.end <= len(text):
            problems.append(f"segment {i} ({span.start}-{span.end}) is empty, overlaps or leaves the text")
        elif isinstance(span, Segment) and not (isinstance(span.kind, str) and isinstance(span.context, bool)):
            problems.append(f"segment {i} ({span.start}-{span.end}): kind must be a str and context a bool")
        else:
            previous = span.end
    return problems


def check_preprocessed(source: str, out: Preprocessed) -> list[str]:
    """Problems with a preprocessor's answer for ``source``: the map must describe this input,
    and every run it calls copied must really be verbatim input."""
    if out.offsets.source_length != len(source):
        return [f"the offset map's source has {out.offsets.source_length} characters, the input {len(source)}"]
    return [
        f"run {r.out_start}-{r.out_end} is marked copied but differs from input {r.src_start}-{r.src_end}"
        for r in out.offsets.runs
        if r.copied and out.text[r.out_start : r.out_end] != source[r.src_start : r.src_end]
    ]
