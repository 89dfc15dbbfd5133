"""The CLAUDETTE unfair-ToS TSV: ``document<TAB>sentence<TAB>tags`` with a header row.

Tags are category + level, space-separated (``ltd2 ter3``); level 1 is clearly fair, 2
potentially unfair, 3 clearly unfair. A sentence's labels are the categories it carries at
level 2 or 3, by name, in :data:`LABELS` order; anything else (level 1, ``countrym``) is not
a label. Sentences may be quoted and hold tabs, so the file is read as CSV, not split by line.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

from hub.plugin_api import TextExample

CATEGORIES = {
    "a": "arbitration",
    "ch": "unilateral_change",
    "cr": "content_removal",
    "j": "jurisdiction",
    "law": "choice_of_law",
    "ltd": "limitation_of_liability",
    "ter": "unilateral_termination",
    "use": "contract_by_using",
    "pinc": "privacy_included",
}
LABELS = tuple(CATEGORIES.values())
TAG = re.compile(r"^(?P<category>[a-z]+)(?P<level>[123])$")
UNFAIR_LEVEL = 2


def labels_of(tags: str) -> tuple[str, ...]:
    """The categories ``tags`` carries at level 2 or 3, in LABELS order."""
    found = set()
    for tag in tags.split():
        match = TAG.match(tag)
        if match and match["category"] in CATEGORIES and int(match["level"]) >= UNFAIR_LEVEL:
            found.add(CATEGORIES[match["category"]])
    return tuple(x for x in LABELS if x in found)


def read_tsv(path: Path) -> Iterator[TextExample]:
    """One TextExample per sentence; ``group`` is the document (split by it, never by sentence)."""
    with Path(path).open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle, delimiter="\t")
        header = next(rows, None)
        if header is None or [h.strip().lower() for h in header[:3]] != ["document", "sentence", "tags"]:
            raise ValueError(f"{path}: needs a header row document<TAB>sentence<TAB>tags")
        counts: dict[str, int] = {}
        for row in rows:
            if len(row) < 2:
                continue
            document, sentence = row[0].strip(), row[1].strip()
            if not sentence:
                continue
            n = counts[document] = counts.get(document, -1) + 1
            yield TextExample(sentence, labels_of(row[2] if len(row) > 2 else ""), id=f"{document}:{n}", group=document)
