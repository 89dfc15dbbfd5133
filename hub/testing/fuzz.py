"""Adversarial texts and the checks the conformance kit runs on a plugin's text components.

Production traffic is not the author's samples: it holds e-mail addresses a masking regex
meets back to back, emoji built of several code points, combining marks, text in other
scripts, nothing at all, or a document at the size limit. Each check here runs a component on
the author's samples AND on :data:`ADVERSARIAL_TEXTS` and returns every problem found, each
naming the component and the text (shortened), so that the kit can report all of them at once.
Nothing here needs pytest or torch.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from hub.tasks.head_kinds import task_kind
from hub.tasks.pipeline import AnsweredSegment, TaskPipeline
from hub.tasks.results import EntitySpan, LabelScore, Prediction
from hub.tasks.specs import TaskSpec
from hub.tasks.text import Preprocessed, Preprocessor, Segmenter, Span, check_preprocessed, check_segments

# Texts full of what masking and splitting rules look for, each at the start, the end and back
# to back, plus the text shapes such rules are rarely written for.
PATTERN_TEXTS = (
    "contact jane.doe+tag@example.co.uk, J.SMITH@MAIL.EXAMPLE.ORG or a@b.c.",
    "a@b.coma@b.com@@x@y..z@ @ test@localhost first.last@sub.domain.example",
    "see https://example.com/path?q=1&r=2#frag, http://sub.example.org:8080/a_b-c/~d and www.example.net/x.",
    "https://user:pw@example.com/a@b.c/?mail=x@y.z",
    "$1,234,567.89 -8.5% +12% 3.5e-10 0x1F 1/2 ½ 10-12% (+3 %) 1.000,50 € ₹2,00,000 -0 +-5",
    "call +1 (555) 123-4567, 555.123.4567 or 0049 30 1234567 ext. 89",
    "dates 2024-01-31, 31/01/2024, 1.2.24, Jan. 5, 2024, 5th March 2021 at 10:30am",
    "MRN: 00123456 patient id A1B2-C3D4 record # 99-88 SSN 123-45-6789 IBAN DE89 3704 0044 0532 0130 00",
    "order #1234 ticket#5678 ##9 # 12 $ACME $TSLA @handle #hashtag RT @news: card 4111 1111 1111 1111",
    "192.168.0.1 ::1 2001:db8::ff00:42:8329 localhost:8080",
    "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
    "Mr. Dr. e.g. i.e. U.S.A. No. 5. Fig. 3a. ... !!! ??? ?! end.",
)

UNICODE_TEXTS = (
    "Ünïcödé ñ café naïve — “quoted” ‘text’ … ¿qué? «ça» ß ﬁ Ω",  # noqa: RUF001 - look-alikes on purpose
    "東京都の会議は明日です。参加者は５人。メールはtaro@example.jpまで。",
    "مرحبا بالعالم 123 שלום עולם",
    "emoji 👍🏽 family 👨\u200d👩\u200d👧\u200d👦 flag 🇩🇪 keycap 1\ufe0f\u20e3 end 🎉",
    "combining: e\u0301 n\u0303 a\u0308\u0323 Z\u0351\u0360\u0337\u0327a\u0308lgo cafe\u0301 jane\u0301@example.com",
    "zero\u200bwidth\u00a0nbsp\ufeffbom\u2028line\u2029para\x0bvt\x0cff\u00adsoft",
    "𝐌𝐚𝐭𝐡 𝟏𝟐𝟑 ＦＵＬＬ ｗｉｄｔｈ ① ⅻ",  # noqa: RUF001 - look-alikes on purpose
)

SHAPE_TEXTS = (
    "",
    " ",
    "\n\n\t \r\n",
    "a",
    ".",
    "MIXED case WITH ALL CAPS and\ttabs\tinside",
    "Line one\nLine two\n\nLine four\r\nLine five\rLine six",
    "   leading and trailing spaces   ",
    "x" * 3000,
)


def _long_text(limit: int = 15_000) -> str:
    """A document near the request size limit: every pattern and Unicode text, repeated."""
    unit = "\n".join(PATTERN_TEXTS + UNICODE_TEXTS) + "\n"
    return (unit * (limit // len(unit) + 1))[:limit]


REBUILD = " (build the answer with apply_edits or replace_patterns: they record every rewrite)"
PURE = " (no counters, randomness, clocks or caches that change: the same text must give the same answer)"

ADVERSARIAL_TEXTS: tuple[str, ...] = PATTERN_TEXTS + UNICODE_TEXTS + SHAPE_TEXTS + (_long_text(),)


def show(text: str, width: int = 60) -> str:
    """A text as problems quote it: repr, shortened, with its length when shortened."""
    return repr(text) if len(text) <= width else f"{text[:width]!r}... ({len(text)} characters)"


def _call(what: str, function: Callable[[str], Any], text: str, problems: list[str]) -> Any:
    try:
        return function(text)
    except Exception as exc:  # noqa: BLE001 - the kit reports what a plugin raises, as the server would hit it
        problems.append(f"{what} raised {type(exc).__name__}: {exc} on {show(text)}")
        return None


def preprocessor_problems(pre: Preprocessor, texts: Iterable[str]) -> list[str]:
    """``apply`` must not raise, must answer a Preprocessed of its input whose copied runs are
    verbatim input, and must answer the same twice."""
    problems: list[str] = []
    what = f"preprocessor {pre.name!r}"
    for text in texts:
        out = _call(what, pre.apply, text, problems)
        if out is None:
            continue
        if not isinstance(out, Preprocessed):
            problems.append(f"{what} returned a {type(out).__name__}, not a Preprocessed, on {show(text)}")
            continue
        problems += [f"{what} on {show(text)}: {p}{REBUILD}" for p in check_preprocessed(text, out)]
        again = _call(what, pre.apply, text, problems)
        if again is not None and again != out:
            problems.append(f"{what} is not deterministic: two calls on {show(text)} gave different answers{PURE}")
    return problems


def segmenter_problems(segmenter: Segmenter, texts: Iterable[str]) -> list[str]:
    """``split`` must not raise, must give spans (or Segments) in order, disjoint, non-empty and
    inside the text, covering every word (context segments count), at least one for a text that
    is not blank, and the same spans twice."""
    problems: list[str] = []
    what = f"segmenter {segmenter.name!r}"
    for text in texts:
        spans = _call(what, segmenter.split, text, problems)
        if spans is None:
            continue
        spans = list(spans)
        problems += [f"{what} on {show(text)}: {p}" for p in check_segments(text, spans)]
        if not spans and text.strip():
            problems.append(f"{what} found no segment in {show(text)}: the text would get no answer")
        elif not check_segments(text, spans) and (left := _uncovered(text, spans)):
            problems.append(
                f"{what} on {show(text)}: {left!r} lies in no segment; every word must lie in one "
                "(for a part that should get no answer, return Segment(start, end, context=True))"
            )
        again = _call(what, segmenter.split, text, problems)
        if again is not None and list(again) != spans:
            problems.append(f"{what} is not deterministic: two calls on {show(text)} gave different spans{PURE}")
    return problems


def _uncovered(text: str, spans: Sequence[Span]) -> str:
    """The first word characters outside every span (empty: all covered). Punctuation and
    spaces between segments may be left out; words may not: nothing would answer for them."""
    covered = bytearray(len(text))
    for span in spans:
        covered[span.start : span.end] = b"\x01" * (span.end - span.start)
    for match in re.finditer(r"\w+", text):
        left = "".join(c for i, c in enumerate(match.group(), match.start()) if not covered[i])
        if left:
            return left
    return ""


def pipeline_problems(task: str, pipeline: TaskPipeline, texts: Iterable[str]) -> list[str]:
    """The task's whole path before the model (segmenter, then its preprocessors composed) must
    map every piece back into the original text: copied characters verbatim, ranges inside."""
    problems: list[str] = []
    what = f"task {task!r}"
    for text in texts:
        prepared = _call(f"{what}: preparing", pipeline.prepare, text, problems)
        for piece in prepared.pieces if prepared is not None else ():
            segment = text[piece.start : piece.end]
            if piece.offsets.source_length != len(segment):
                problems.append(f"{what} on {show(text)}: a piece's offsets do not describe its segment")
                continue
            for run in piece.offsets.runs:
                if run.copied and piece.text[run.out_start : run.out_end] != segment[run.src_start : run.src_end]:
                    problems.append(
                        f"{what} on {show(text)}: model text {piece.text[run.out_start : run.out_end]!r} is marked "
                        f"copied from {segment[run.src_start : run.src_end]!r}: offsets would point at the wrong words"
                    )
    return problems


def synthetic_prediction(spec: TaskSpec, labels: Sequence[str], text: str, start: int = 0, end: int = -1) -> Prediction:
    """An answer a head of the task's kind could give for ``text[start:end]`` (a segment, or the
    whole text): every label scored, some predicted, and (token tasks) an entity on every word,
    offsets into the original text."""
    end = len(text) if end < 0 else end
    scores = [LabelScore(label, round(1.0 / (i + 2), 3)) for i, label in enumerate(labels)]
    if not task_kind(spec.head_kind).per_token:
        return Prediction(labels=scores, predicted=list(labels[:1]))
    types = sorted(entity_types(labels)) or ["X"]
    words = list(re.compile(r"\S+").finditer(text, start, end))
    entities = [EntitySpan(types[i % len(types)], m.start(), m.end(), m.group(), 0.9) for i, m in enumerate(words)]
    return Prediction(entities=entities)


def entity_types(labels: Iterable[str]) -> set[str]:
    return {x.removeprefix("B-").removeprefix("I-") for x in labels if x != "O"}


def postprocessor_problems(
    spec: TaskSpec, pipeline: TaskPipeline, labels: Sequence[str], texts: Iterable[str]
) -> list[str]:
    """The task's postprocessor on synthetic answers, one per answered segment as the request
    path calls it (with the segment, for a postprocessor that takes one): it must not raise,
    must return a Prediction whose entities and labels stay inside the text and the task's
    labels, and must answer the same twice."""
    problems: list[str] = []
    if spec.postprocessor is None:
        return problems
    what = f"task {spec.name!r}: postprocessor"
    for text in (t for t in texts if t.strip()):
        try:
            pieces = pipeline.prepare(text).pieces
        except Exception:  # noqa: BLE001 - the segmenter's and preprocessors' checks report it
            continue
        for piece in pieces:
            segment = AnsweredSegment(piece.start, piece.end, text[piece.start : piece.end], piece.kind)
            given = synthetic_prediction(spec, labels, text, piece.start, piece.end)
            run = functools.partial(pipeline.postprocess, given, segment=segment)
            out = _call(what, run, text, problems)
            if out is None:
                continue
            if not isinstance(out, Prediction):
                problems.append(f"{what} returned a {type(out).__name__}, not a Prediction, on {show(text)}")
                continue
            problems += answer_problems(f"{what} on {show(text)}", text, out, labels)
            problems += [
                f"{what} on {show(text)}: entity {e.label!r} {e.start}-{e.end} leaves its segment "
                f"{piece.start}-{piece.end}"
                for e in out.entities
                if pipeline.segmenter is not None and not piece.start <= e.start < e.end <= piece.end
            ]
            if _call(what, run, text, problems) != out:
                problems.append(f"{what} is not deterministic: two calls on {show(text)} gave different answers{PURE}")
    return problems


Expected = Sequence[tuple[int, int, str]]  # answered segments: (start, end, kind)


def answer_problems(
    where: str, text: str, p: Prediction, labels: Sequence[str], segments: Expected | None = None
) -> list[str]:
    """What is wrong with an answer for ``text``: entities outside it or quoting other
    characters, labels the task does not have; for a segmented task (``segments``: what its
    segmenter marked to be answered), segments other than those."""
    problems = []
    types = entity_types(labels)
    for e in p.entities:
        if not 0 <= e.start < e.end <= len(text):
            problems.append(f"{where}: entity {e.label!r} {e.start}-{e.end} leaves the text (length {len(text)})")
        elif e.text != text[e.start : e.end]:
            problems.append(f"{where}: entity text {e.text!r} is not the original's {text[e.start : e.end]!r}")
        if types and e.label not in types:
            problems.append(f"{where}: entity label {e.label!r} is none of {sorted(types)}")
    unknown = sorted({x.label for x in p.labels} - set(labels)) + sorted(set(p.predicted) - set(labels))
    if unknown:
        problems.append(f"{where}: labels {unknown} are not the task's")
    if segments is not None:
        problems += _segment_problems(where, text, p, segments)
    return problems


def _segment_problems(where: str, text: str, p: Prediction, expected: Expected) -> list[str]:
    got = [(s.start, s.end, s.kind) for s in p.segments]
    if got != list(expected):
        return [
            f"{where}: answered segments {got} (start, end, kind), but the segmenter marked "
            f"{list(expected)} to be answered (context segments get no answer)"
        ]
    return [
        f"{where}: segment {s.start}-{s.end} quotes {s.text!r}, not the original's text"
        for s in p.segments
        if s.text != text[s.start : s.end]
    ]
