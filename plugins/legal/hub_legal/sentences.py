"""Split a Terms-of-Service document into the sentences CLAUDETTE annotates.

Rules, not a model: a sentence ends at . ! or ? (plus closing quotes or brackets) before
whitespace and a capital, digit, quote, bracket or bullet, unless the word before the stop is
a known abbreviation, a single letter (an initial, "(a)."), or a list number at a line start.
A line break ends a sentence too when the line ends in terminal punctuation or a colon, when
the next line starts a list item, or when the line looks like a heading (short, unpunctuated).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from hub.plugin_api import Span

ABBREVIATIONS = frozenset(
    {
        *("e.g", "i.e", "etc", "inc", "ltd", "llc", "co", "corp", "no", "nos", "vs", "v", "cf", "al", "fig"),
        *("mr", "mrs", "ms", "dr", "st", "art", "arts", "sec", "secs", "para", "paras", "approx", "incl", "ch"),
        *("u.s", "u.k", "e.u", "u.s.a", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept"),
        *("oct", "nov", "dec"),
    }
)
# Typographic quotes, bullets and dashes, written as escapes
OPENERS = "\"'\u201c\u2018(["
CLOSERS = "\"'\u201d\u2019)]"
BULLETS = "\u2022\u00b7-\u2013\u2014*"
STOP = re.compile(rf"[.!?]+[{re.escape(CLOSERS)}]*(?=\s+[{re.escape(OPENERS)}]?[A-Z0-9{re.escape(BULLETS)}])")
LIST_ITEM = re.compile(rf"\s*(?:[{re.escape(BULLETS)}]|\(?[0-9]{{1,3}}[.)]|\(?[a-zA-Z][.)]|\([ivxlc]+\))\s")
HEADING_MAX = 80


def _word_before(text: str, stop: int) -> str:
    start = stop
    while start > 0 and not text[start - 1].isspace() and text[start - 1] not in OPENERS:
        start -= 1
    return text[start:stop]


def _ends_sentence(text: str, stop: int, line_start: int) -> bool:
    """Whether the full stop at ``stop`` (the index of the punctuation) ends a sentence."""
    if text[stop] in "!?":
        return True
    word = _word_before(text, stop)
    bare = word.lower().rstrip(".")
    if bare in ABBREVIATIONS or (len(bare) == 1 and bare.isalpha()):
        return False
    return not (bare.isdigit() and not text[line_start : stop - len(word)].strip())


def _line_breaks(text: str) -> Iterator[int]:
    """Offsets of line breaks that end a sentence."""
    for match in re.finditer(r"\n", text):
        before = text[: match.start()].rstrip()
        line = before[before.rfind("\n") + 1 :].strip()
        rest = text[match.end() :]
        if not line or not rest.strip():
            continue
        next_line = rest.lstrip("\n")
        heading = len(line) <= HEADING_MAX and line[-1] not in ",;-\u2013(" and next_line.lstrip()[:1].isupper()
        if line[-1] in '.!?:;"”)' or LIST_ITEM.match(next_line) or heading:
            yield match.start()


def split_sentences(text: str) -> list[Span]:
    """Sentence spans, trimmed of surrounding whitespace, in order."""
    cuts = set(_line_breaks(text))
    for match in STOP.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        if _ends_sentence(text, match.start(), line_start):
            cuts.add(match.end())
    spans, start = [], 0
    for cut in [*sorted(cuts), len(text)]:
        piece = text[start:cut]
        if piece.strip():
            left = start + len(piece) - len(piece.lstrip())
            right = start + len(piece.rstrip())
            spans.append(Span(left, right))
        start = cut
    return spans
