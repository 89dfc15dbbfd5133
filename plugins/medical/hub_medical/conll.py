"""The CoNLL-style TSV the NCBI-disease and BC5CDR corpora come in: ``token<TAB>tag`` per line,
a blank line between sentences (IOB2 tags)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from hub.plugin_api import TokenExample


def read_conll(path: Path) -> Iterator[TokenExample]:
    """One TokenExample per sentence, in file order (``id`` is ``<file stem>:<n>``)."""
    tokens: list[str] = []
    tags: list[str] = []
    count = 0
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                if tokens:
                    yield TokenExample(tuple(tokens), tuple(tags), id=f"{Path(path).stem}:{count}")
                    count += 1
                    tokens, tags = [], []
                continue
            if fields[0] == "-DOCSTART-":
                continue
            if len(fields) < 2:
                raise ValueError(f"{path}:{number}: expected 'token<TAB>tag', got {line.rstrip()!r}")
            tokens.append(fields[0])
            tags.append(fields[-1])
    if tokens:
        yield TokenExample(tuple(tokens), tuple(tags), id=f"{Path(path).stem}:{count}")
