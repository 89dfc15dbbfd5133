"""The CSV of "Twitter Financial News Sentiment": ``text,label`` with 0 Bearish, 1 Bullish, 2 Neutral."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from hub.plugin_api import TextExample

LABELS = ("Bearish", "Bullish", "Neutral")  # the corpus's label ids 0, 1, 2, in order


def read_csv(path: Path) -> Iterator[TextExample]:
    """One TextExample per row; the label may be the id (0/1/2) or the name. ``id`` is the row."""
    with Path(path).open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"text", "label"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: needs a header with columns text,label")
        for row, record in enumerate(reader, start=2):
            raw = (record["label"] or "").strip()
            if raw.isdigit() and int(raw) < len(LABELS):
                label = LABELS[int(raw)]
            elif raw in LABELS:
                label = raw
            else:
                raise ValueError(f"{path}:{row}: label {raw!r} is not 0, 1, 2 or one of {list(LABELS)}")
            text = (record["text"] or "").strip()
            if text:
                yield TextExample(text, (label,), id=str(row))
