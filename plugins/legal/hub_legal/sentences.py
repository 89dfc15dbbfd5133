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
# `(?<![.!?])`: a match starts only at the first mark of a run. Without it a run of n stops not
# followed by a capital was tried from each of its n marks, each scanning to the run's end.
STOP = re.compile(rf"(?<![.!?])[.!?]+[{re.escape(CLOSERS)}]*(?=\s+[{re.escape(OPENERS)}]?[A-Z0-9{re.escape(BULLETS)}])")
LIST_ITEM = re.compile(rf"\s*(?:[{re.escape(BULLETS)}]|\(?[0-9]{{1,3}}[.)]|\(?[a-zA-Z][.)]|\([ivxlc]+\))\s")
NON_SPACE = re.compile(r"\S")
HEADING_MAX = 80


def _word_before(text: str, stop: int) -> str:
    start = stop
    while start > 0 and not text[start - 1].isspace() and text[start - 1] not in OPENERS:
        start -= 1
    return text[start:stop]


def _ends_sentence(text: str, stop: int, indent: int) -> bool:
    """Whether the full stop at ``stop`` (the index of the punctuation) ends a sentence;
    ``indent``: where the text of the stop's line begins (its first non-blank character)."""
    if text[stop] in "!?":
        return True
    word = _word_before(text, stop)
    bare = word.lower().rstrip(".")
    if bare in ABBREVIATIONS or (len(bare) == 1 and bare.isalpha()):
        return False
    return not (bare.isdigit() and indent >= stop - len(word))


def _line_breaks(text: str) -> Iterator[int]:
    """Offsets of line breaks that end a sentence: a break after a line whose last non-blank
    line (``line``) ends in terminal punctuation, or before a list item, or after a heading.

    Linear: each line is looked at a fixed number of times (it was quadratic: every break
    sliced the text before and after it, 41 s for 8 texts of 20,000 newlines)."""
    lines = text.split("\n")
    # for each line i: where the first non-blank character after its break is (-1: none)
    following = [-1] * len(lines)
    offset, next_start = len(text) + 1, -1
    for i in range(len(lines) - 1, -1, -1):
        following[i] = next_start
        offset -= len(lines[i]) + 1
        content = lines[i].lstrip()
        if content:
            next_start = offset + len(lines[i]) - len(content)
    line, offset = "", 0
    for i, raw in enumerate(lines[:-1]):
        line = raw.strip() or line
        offset += len(raw) + 1
        nxt = following[i]
        if not line or nxt < 0:
            continue
        heading = len(line) <= HEADING_MAX and line[-1] not in ",;-\u2013(" and text[nxt].isupper()
        if line[-1] in '.!?:;"\u201d)' or LIST_ITEM.match(text, nxt) or heading:
            yield offset - 1


def _indent(text: str, line_start: int) -> int:
    """Where the first non-blank character at or after ``line_start`` is."""
    found = NON_SPACE.search(text, line_start)
    return found.start() if found else len(text)


def split_sentences(text: str) -> list[Span]:
    """Sentence spans, trimmed of surrounding whitespace, in order."""
    cuts = set(_line_breaks(text))
    indent, seen = _indent(text, 0), 0
    for match in STOP.finditer(text):
        newline = text.rfind("\n", seen, match.start())  # only what lies after the last match
        seen = match.start()
        if newline >= 0:
            indent = _indent(text, newline + 1)
        if _ends_sentence(text, match.start(), indent):
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
