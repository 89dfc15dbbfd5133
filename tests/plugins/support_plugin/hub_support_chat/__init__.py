"""Adapter Hub plugin "support": what each customer turn of a support chat wants.

Written from docs/plugins.md alone, importing nothing of the hub but ``hub.plugin_api``:

- ``support.mask`` masks e-mail addresses, phone numbers and order numbers before the model;
- ``support.turns`` splits a chat transcript into turns: a customer's turn is answered, an
  agent's turn is context (part of the text, never answered), and the ``Customer:`` /
  ``Agent:`` speaker labels are context too, so the model reads what the customer wrote;
- ``support.intent`` answers one intent per customer turn; its postprocessor sees the turn
  (a question is never just ``thanks``);
- ``support.csv`` reads ``text,intent`` rows for training.

Every pattern has bounded repetition, so each costs linear time in the text's length.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from hub.plugin_api import (
    AnsweredSegment,
    HeadKind,
    LabelScore,
    Prediction,
    Preprocessed,
    Preprocessor,
    Reader,
    Segment,
    Segmenter,
    TaskSpec,
    TextExample,
    hookimpl,
    replace_patterns,
)

LABELS = ("order_status", "refund", "account", "thanks")
EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
PHONE = re.compile(r"\+?\d{1,3}(?:[ .-]?\(?\d{2,4}\)?){2,4}")
ORDER = re.compile(r"#\d{3,12}\b|\b[A-Z]{2}\d{6,12}\b")
SPEAKER = re.compile(r"(customer|agent)\s{0,4}:", re.IGNORECASE)


def mask(text: str) -> Preprocessed:
    """Order numbers first (``#12345`` would otherwise read as a phone number), then e-mail
    addresses, then phone numbers; where matches overlap the earliest, then longest wins."""
    return replace_patterns(text, [(ORDER, "[ORDER]"), (EMAIL, "[EMAIL]"), (PHONE, "[PHONE]")])


def turns(text: str) -> list[Segment]:
    """One segment per non-blank line. ``Agent:`` starts agent turns, ``Customer:`` customer
    turns; a line without a speaker continues the last one (a text without any is the
    customer's). Speaker labels and agent turns are context."""
    segments: list[Segment] = []
    speaker = "customer"
    position = 0
    for line in text.splitlines(keepends=True):
        start, end = position + len(line) - len(line.lstrip()), position + len(line.rstrip())
        position += len(line)
        if start >= end:
            continue
        label = SPEAKER.match(text, start, end)
        if label is not None:
            speaker = label.group(1).lower()
            segments.append(Segment(start, label.end(), kind="speaker", context=True))
            start = label.end() + len(text[label.end() : end]) - len(text[label.end() : end].lstrip())
        if start < end:
            segments.append(Segment(start, end, kind=speaker, context=speaker == "agent"))
    return segments


def questions_are_not_thanks(prediction: Prediction, text: str, segment: AnsweredSegment) -> Prediction:
    """A customer turn that asks something is never only ``thanks``: take the best other label."""
    if prediction.predicted != ["thanks"] or not segment.text.rstrip().endswith("?"):
        return prediction
    best = next((x for x in prediction.labels if x.label != "thanks"), None)
    if best is None:
        return prediction
    labels = [best, *(x for x in prediction.labels if x is not best)]
    return Prediction(labels=[LabelScore(x.label, x.score) for x in labels], predicted=[best.label])


def read_csv(path: Path) -> Iterator[TextExample]:
    """A header row with ``text`` and ``intent`` (``id`` optional); one example per row."""
    with Path(path).open(encoding="utf-8", newline="") as handle:
        for n, row in enumerate(csv.DictReader(handle), start=1):
            if (row.get("text") or "").strip():
                yield TextExample(row["text"], (row.get("intent") or "").strip(), id=row.get("id") or str(n))


@hookimpl
def register_preprocessors(register: Callable[[Preprocessor], None]) -> None:
    register(Preprocessor("support.mask", mask, "order numbers, e-mail addresses, phones -> [ORDER] [EMAIL] [PHONE]"))


@hookimpl
def register_segmenters(register: Callable[[Segmenter], None]) -> None:
    register(Segmenter("support.turns", turns, "chat turns: the customer's answered, the agent's as context"))


@hookimpl
def register_readers(register: Callable[[Reader], None]) -> None:
    register(Reader("support.csv", read_csv, "CSV with a header: text,intent"))


@hookimpl
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    register(
        TaskSpec(
            "support.intent",
            HeadKind.SEQUENCE,
            "What each customer turn of a support chat wants: " + ", ".join(LABELS),
            labels=LABELS,
            preprocessors=("support.mask",),
            segmenter="support.turns",
            postprocessor=questions_are_not_thanks,
            metric="generic.classification",
            reader="support.csv",
        )
    )
