"""Training examples and the readers that produce them (the API training code builds on).

A reader turns one file into examples. Two shapes cover the hub's head kinds:
:class:`TextExample` (a text and its labels: one for sequence tasks, any number for
multi-label ones) and :class:`TokenExample` (words and one BIO tag per word).
:func:`gold` turns an example into what a task's metric compares.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from adapters_registry.manifest import HeadKind

SPACE = " "


@dataclass(frozen=True)
class TextExample:
    """A text and its gold labels. ``group`` names the unit to split by (e.g. the document)."""

    text: str
    labels: tuple[str, ...]
    id: str = ""
    group: str = ""


@dataclass(frozen=True)
class TokenExample:
    """Words with one BIO tag each (CoNLL style)."""

    tokens: tuple[str, ...]
    tags: tuple[str, ...]
    id: str = ""
    group: str = ""

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
class Reader:
    """A named dataset format: ``read(path)`` yields examples, lazily, in file order."""

    name: str
    read: Callable[[Path], Iterator[Example]]
    description: str = ""


def gold(example: Example, head_kind: HeadKind) -> str | frozenset[str] | tuple[str, ...]:
    """What a metric of ``head_kind`` compares for one example.

    sequence: the label; multi-label: the set of labels; token: the tag of each word.
    """
    if head_kind is HeadKind.TOKEN:
        if not isinstance(example, TokenExample):
            raise TypeError("a token task needs TokenExample examples")
        return example.tags
    if not isinstance(example, TextExample):
        raise TypeError(f"a {head_kind.value} task needs TextExample examples")
    if head_kind is HeadKind.MULTI_LABEL:
        return frozenset(example.labels)
    if len(example.labels) != 1:
        raise ValueError(f"example {example.id!r} has {len(example.labels)} labels; a sequence task needs one")
    return example.labels[0]


def check_example(example: object, head_kind: HeadKind, labels: Sequence[str] | None) -> list[str]:
    """Problems with one example for a task (empty when it is valid)."""
    where = f"example {getattr(example, 'id', '')!r}"
    if head_kind is HeadKind.TOKEN:
        if not isinstance(example, TokenExample):
            return [f"{where}: a token task needs TokenExample, got {type(example).__name__}"]
        problems = []
        if not example.tokens or len(example.tokens) != len(example.tags):
            problems.append(f"{where}: {len(example.tokens)} tokens but {len(example.tags)} tags")
        if any(not t or any(c.isspace() for c in t) for t in example.tokens):
            problems.append(f"{where}: tokens must be non-empty and hold no whitespace")
        bad = [t for t in example.tags if t != "O" and not t.startswith(("B-", "I-"))]
        bad += [t for t in example.tags if labels is not None and t not in labels]
        if bad:
            problems.append(f"{where}: tags {sorted(set(bad))[:5]} are not BIO tags of the task")
        return problems
    if not isinstance(example, TextExample):
        return [f"{where}: a {head_kind.value} task needs TextExample, got {type(example).__name__}"]
    problems = [] if example.text.strip() else [f"{where}: empty text"]
    if head_kind is HeadKind.SEQUENCE and len(example.labels) != 1:
        problems.append(f"{where}: a sequence task needs exactly one label, got {list(example.labels)}")
    unknown = [x for x in example.labels if labels is not None and x not in labels]
    if unknown:
        problems.append(f"{where}: labels {unknown} are not labels of the task")
    return problems
