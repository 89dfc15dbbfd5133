"""{{cookiecutter.description}}.

A sequence task over support messages, a preprocessor that masks e-mail addresses and numbers
before the model reads them, and a JSONL reader for training data. Everything it registers is
named "{{cookiecutter.plugin_name}}.<name>": a plugin registers names only in its own namespace
(its entry-point name) or in namespaces it declares with ``register_namespaces``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from hub.plugin_api import (
    HeadKind,
    Preprocessed,
    Preprocessor,
    Reader,
    TaskSpec,
    TextExample,
    hookimpl,
    replace_patterns,
)

NAMESPACE = "{{cookiecutter.plugin_name}}"
LABELS = ("question", "complaint", "thanks")
# Bounded repetition (an address's parts have length limits): an unbounded `[\w.+-]+@` retries
# every start of a long run of dots and backtracks through it, which the kit's linear-time
# check fails (docs/plugins.md, "Time budget").
EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
NUMBER = re.compile(r"#?\d+(?:[.,]\d+)*")  # order numbers, amounts


def mask(text: str) -> Preprocessed:
    """E-mail addresses and numbers become placeholders; the offset map points back to them."""
    return replace_patterns(text, [(EMAIL, "[EMAIL]"), (NUMBER, "[NUMBER]")])


def read_jsonl(path: Path) -> Iterator[TextExample]:
    """One JSON object per line: {"text": "...", "label": "question"}; "id" is optional."""
    with path.open(encoding="utf-8") as lines:
        for n, line in enumerate(lines, 1):
            if line.strip():
                row = json.loads(line)
                yield TextExample(row["text"], row["label"], id=str(row.get("id", n)))


@hookimpl
def register_preprocessors(register: Callable[[Preprocessor], None]) -> None:
    register(Preprocessor(f"{NAMESPACE}.mask", mask, "e-mail addresses and numbers -> [EMAIL], [NUMBER]"))


@hookimpl
def register_readers(register: Callable[[Reader], None]) -> None:
    register(Reader(f"{NAMESPACE}.jsonl", read_jsonl, 'JSONL: {"text": ..., "label": ...} per line'))


@hookimpl
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    register(
        TaskSpec(
            f"{NAMESPACE}.intent",
            HeadKind.SEQUENCE,
            "What a support message wants: " + ", ".join(LABELS),
            labels=LABELS,
            preprocessors=(f"{NAMESPACE}.mask",),
            metric="generic.classification",
            reader=f"{NAMESPACE}.jsonl",
        )
    )
