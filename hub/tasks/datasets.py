"""Training examples and the readers that produce them (the API training code builds on).

A reader turns one file into examples. Two shapes cover the hub's head kinds:
:class:`TextExample` (a text and its labels: one for sequence tasks, any number for
multi-label ones) and :class:`TokenExample` (words and one BIO tag per word).
Each head kind (hub.tasks.head_kinds) says which shape its tasks take, how one is checked, and
what a metric compares for it (``gold``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SPACE = " "


@dataclass(frozen=True)
class TextExample:
    """A text and its gold labels. ``group`` names the unit to split by (e.g. the document).

    ``labels`` is kept as a tuple; one label may be given as a plain string ("ask" means
    ("ask",), never three one-letter labels).
    """

    text: str
    """The text, as a client would send it."""
    labels: Sequence[str]
    """Its gold labels, kept as a tuple: one for sequence tasks, any number for multi-label ones;
    a plain string is one label."""
    id: str = ""
    """Where it came from (a row number, a document and sentence), for messages."""
    group: str = ""
    """What to split by when holding data out (a document), so that no group is in both halves;
    ``""``: the example is its own group."""

    def __post_init__(self) -> None:
        labels = (self.labels,) if isinstance(self.labels, str) else tuple(self.labels)
        if not all(isinstance(x, str) for x in labels):
            raise TypeError(f"TextExample labels must be strings, got {labels!r} (example {self.id!r})")
        object.__setattr__(self, "labels", labels)


@dataclass(frozen=True)
class TokenExample:
    """Words with one BIO tag each (CoNLL style)."""

    tokens: tuple[str, ...]
    """The words."""
    tags: tuple[str, ...]
    """One tag per word: ``O``, ``B-X`` or ``I-X``."""
    id: str = ""
    """Where it came from, for messages."""
    group: str = ""
    """What to split by when holding data out (a document); ``""``: its own group."""

    @property
    def text(self) -> str:
        """The words joined by single spaces (what a model is given at training time)."""
        return SPACE.join(self.tokens)

    def token_spans(self) -> list[tuple[int, int]]:
        """Character range of each word inside :attr:`text`."""
        spans, position = [], 0
        for token in self.tokens:
            spans.append((position, position + len(token)))
            position += len(token) + len(SPACE)
        return spans

    def entities(self) -> list[tuple[str, int, int]]:
        """(label, start, end) character spans of the tagged entities inside :attr:`text`."""
        spans = self.token_spans()
        return [(label, spans[s][0], spans[e - 1][1]) for label, s, e in bio_chunks(self.tags)]


def bio_chunks(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """(label, first word, end word) of each entity in a BIO tag sequence.

    conlleval chunking, as :func:`hub.tasks.results.decode_bio` reads the model's tags: an I-X that
    does not continue an X entity starts a new one.
    """
    chunks: list[tuple[str, int, int]] = []
    label, start = "", -1
    for i, tag in enumerate([*tags, "O"]):
        kind, _, name = tag.partition("-")
        if kind == "I" and name == label and start >= 0:
            continue
        if start >= 0:
            chunks.append((label, start, i))
        label, start = (name, i) if kind in ("B", "I") else ("", -1)
    return chunks


Example = TextExample | TokenExample


@dataclass(frozen=True)
class ReaderOptions:
    """Where a table reader finds an example (``--text-column``, ``--label-column``) and how a
    label cell holds several labels (``--label-separator``; a JSON list always does)."""

    text_column: str = "text"
    label_column: str = "label"
    label_separator: str = ""  # "": one label per cell, unless the cell is a JSON list


@dataclass(frozen=True)
class Reader:
    """A named dataset format: ``read(path)`` yields examples, lazily, in file order.

    ``read_with``: for formats with named columns, the same reader told where to look."""

    name: str
    """``<namespace>.<name>``."""
    read: Callable[[Path], Iterator[Example]]
    """``path -> examples``, lazily, in file order."""
    description: str = ""
    """One line for listings."""
    read_with: Callable[[Path, ReaderOptions], Iterator[Example]] | None = None
    """For formats with named columns: the same reader told where to look (``--text-column``)."""
