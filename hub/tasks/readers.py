"""The built-in dataset readers a tenant's own files go through: CSV, TSV, JSON Lines and CoNLL.

Tables (CSV, TSV) have a header row; the text and the label are columns named by ReaderOptions
(``text`` and ``label`` unless told). A label cell holds one label, several joined by
``label_separator``, or a JSON list (``["a", "b"]``); an empty cell is no label (a multi-label
example with none). JSON Lines: one object per line with the same two fields (the label a string
or a list of strings), or ``tokens`` and ``tags`` lists for token tasks. CoNLL: one token per
line, its tag in the last column (tab or spaces), a blank line between sentences,
``-DOCSTART-`` lines between documents (held-out splits then keep documents whole).

Every problem is an InvalidArgument naming the file, the line and what is wrong; nothing is
guessed (a row with a missing field is an error, not a shorter example).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

from hub.errors import InvalidArgument
from hub.tasks.datasets import Example, Reader, ReaderOptions, TextExample, TokenExample

CSV, TSV, JSONL, CONLL = "generic.csv", "generic.tsv", "generic.jsonl", "generic.conll"
# Which reader a file is read with when neither the task nor --reader names one:
# (per-token task, suffix) -> reader. A token task's .tsv is CoNLL (token<TAB>tag).
BY_SUFFIX = {
    (False, ".csv"): CSV,
    (False, ".tsv"): TSV,
    (False, ".jsonl"): JSONL,
    (False, ".ndjson"): JSONL,
    (True, ".conll"): CONLL,
    (True, ".tsv"): CONLL,
    (True, ".txt"): CONLL,
    (True, ".iob"): CONLL,
    (True, ".bio"): CONLL,
    (True, ".jsonl"): JSONL,
    (True, ".ndjson"): JSONL,
}


def choose_reader(path: Path, per_token: bool) -> str | None:
    """The built-in reader for ``path`` by its extension (None: none fits)."""
    return BY_SUFFIX.get((per_token, path.suffix.lower()))


def suffixes(per_token: bool) -> list[str]:
    return sorted(suffix for token, suffix in BY_SUFFIX if token == per_token)


def _text(path: Path) -> str:
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidArgument(f"{path}:{line}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None


def _labels(cell: object, options: ReaderOptions, where: str) -> tuple[str, ...]:
    if isinstance(cell, list):
        if not all(isinstance(x, str) for x in cell):
            raise InvalidArgument(f"{where}: labels must be strings, got {cell!r}")
        return tuple(x.strip() for x in cell if x.strip())
    if not isinstance(cell, str):
        raise InvalidArgument(f"{where}: the label must be a string or a list of strings, got {cell!r}")
    cell = cell.strip()
    if cell.startswith("["):
        try:
            return _labels(json.loads(cell), options, where)
        except json.JSONDecodeError:
            raise InvalidArgument(f"{where}: labels {cell!r} start like a JSON list but are not one") from None
    if options.label_separator:
        return tuple(x.strip() for x in cell.split(options.label_separator) if x.strip())
    return (cell,) if cell else ()


def read_table(path: Path, options: ReaderOptions, delimiter: str) -> Iterator[TextExample]:
    rows = csv.reader(io.StringIO(_text(path), newline=""), delimiter=delimiter)
    try:
        header = [cell.strip() for cell in next(rows, [])]
        if not any(header):
            raise InvalidArgument(f"{path}:1: no header row (the first line names the columns)")
        columns = {}
        for role, name in (("--text-column", options.text_column), ("--label-column", options.label_column)):
            if name not in header:
                raise InvalidArgument(f"{path}:1: no column {name!r} (the header has {header}); name it with {role}")
            columns[role] = header.index(name)
        for record in rows:
            where = f"{path}:{rows.line_num}"
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                raise InvalidArgument(f"{where}: {len(record)} fields, the header has {len(header)}")
            text = record[columns["--text-column"]].strip()
            labels = _labels(record[columns["--label-column"]], options, where)
            yield TextExample(text, labels, id=f"{path.name}:{rows.line_num}")
    except csv.Error as exc:
        raise InvalidArgument(f"{path}:{rows.line_num}: {exc}") from None


def read_jsonl(path: Path, options: ReaderOptions) -> Iterator[Example]:
    for number, line in enumerate(_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidArgument(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(record, dict):
            raise InvalidArgument(f"{where}: each line must be a JSON object, got {type(record).__name__}")
        if options.text_column not in record and "tokens" in record:
            yield _token_record(record, where, f"{path.name}:{number}")
            continue
        text = record.get(options.text_column)
        if not isinstance(text, str):
            fields = sorted(record)[:10]
            raise InvalidArgument(
                f"{where}: no string field {options.text_column!r} (fields: {fields}); name it with --text-column"
            )
        if options.label_column not in record:
            raise InvalidArgument(f"{where}: no field {options.label_column!r}; name it with --label-column")
        labels = _labels(record[options.label_column], options, where)
        yield TextExample(text.strip(), labels, id=f"{path.name}:{number}")


def _token_record(record: dict[str, object], where: str, example_id: str) -> TokenExample:
    tokens, tags = record.get("tokens"), record.get("tags")
    for name, value in (("tokens", tokens), ("tags", tags)):
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise InvalidArgument(f"{where}: {name!r} must be a list of strings")
    assert isinstance(tokens, list) and isinstance(tags, list)
    if len(tokens) != len(tags):
        raise InvalidArgument(f"{where}: {len(tokens)} tokens but {len(tags)} tags")
    return TokenExample(tuple(tokens), tuple(tags), id=example_id)


def read_conll(path: Path) -> Iterator[TokenExample]:
    tokens: list[str] = []
    tags: list[str] = []
    start, document, documents = 0, "", 0
    for number, raw in enumerate([*_text(path).splitlines(), ""], start=1):
        line = raw.strip()
        if not line or line.startswith("-DOCSTART-"):
            if tokens:
                yield TokenExample(tuple(tokens), tuple(tags), id=f"{path.name}:{start}", group=document)
            tokens, tags = [], []
            if line:
                documents += 1
                document = f"document {documents}"
            continue
        parts = line.split()
        if len(parts) < 2:
            raise InvalidArgument(f"{path}:{number}: expected a token and its tag (tab or spaces between), got {raw!r}")
        tag = parts[-1]
        if not (tag == "O" or (tag[:2] in ("B-", "I-") and len(tag) > 2)):
            raise InvalidArgument(f"{path}:{number}: tag {tag!r} is not O, B-TYPE or I-TYPE")
        if not tokens:
            start = number
        tokens.append(parts[0])
        tags.append(tag)


DEFAULT = ReaderOptions()
BUILTIN_READERS = (
    Reader(
        CSV,
        lambda path: read_table(path, DEFAULT, ","),
        "CSV with a header row: text and label columns (--text-column, --label-column)",
        lambda path, options: read_table(path, options, ","),
    ),
    Reader(
        TSV,
        lambda path: read_table(path, DEFAULT, "\t"),
        "tab-separated, with a header row: text and label columns",
        lambda path, options: read_table(path, options, "\t"),
    ),
    Reader(
        JSONL,
        lambda path: read_jsonl(path, DEFAULT),
        'JSON Lines: {"text": ..., "label": ... or [...]} or {"tokens": [...], "tags": [...]}',
        read_jsonl,
    ),
    Reader(CONLL, read_conll, "CoNLL: a token and its BIO tag per line, a blank line between sentences"),
)
