"""Adapter Hub plugin "legal": potentially unfair clauses in Terms of Service (CLAUDETTE).

Task ``legal.unfair_clause``: multi-label over the nine CLAUDETTE categories, a category being
predicted when a sentence is potentially or clearly unfair on it (level >= 2). A client may
send a whole document: the ``legal.sentences`` segmenter splits it and every sentence gets its
own answer with offsets into the document.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from hub.plugin_api import (
    HeadKind,
    Manifest,
    Metric,
    Reader,
    Segmenter,
    TaskSpec,
    hookimpl,
    multi_label_scores,
)
from hub_legal.claudette import LABELS, read_tsv
from hub_legal.sentences import split_sentences

TASK = "legal.unfair_clause"
THRESHOLD_RANGE = (0.05, 0.95)


def unfair_f1(gold: Sequence[Collection[str]], predicted: Sequence[Collection[str]]) -> dict[str, float]:
    """Micro P/R/F1 over every (sentence, category) decision, macro-F1 over categories seen."""
    return multi_label_scores(gold, predicted, labels=LABELS)


@hookimpl
def register_segmenters(register: Callable[[Segmenter], None]) -> None:
    register(Segmenter("legal.sentences", split_sentences, "Terms-of-Service sentences, as CLAUDETTE splits them"))


@hookimpl
def register_readers(register: Callable[[Reader], None]) -> None:
    register(Reader("legal.claudette", read_tsv, "CLAUDETTE TSV document<TAB>sentence<TAB>tags; labels at level >= 2"))


@hookimpl
def register_metrics(register: Callable[[Metric], None]) -> None:
    register(
        Metric(
            "legal.unfair_f1",
            HeadKind.MULTI_LABEL,
            unfair_f1,
            headline="micro_f1",
            description="micro P/R/F1, macro-F1 over the categories seen, F1 per category",
        )
    )


@hookimpl
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    register(
        TaskSpec(
            TASK,
            HeadKind.MULTI_LABEL,
            "Potentially unfair clause categories per Terms-of-Service sentence; send whole "
            "documents, answered sentence by sentence",
            labels=LABELS,
            segmenter="legal.sentences",
            metric="legal.unfair_f1",
            reader="legal.claudette",
        )
    )


@hookimpl
def validate_adapter(manifest: Manifest, task: TaskSpec) -> list[str]:
    """A threshold near 0 or 1 flags every sentence or none: refuse it at upload."""
    head = manifest.task(task.name)
    if task.name != TASK or head is None:
        return []
    low, high = THRESHOLD_RANGE
    if not low <= head.threshold <= high:
        return [
            f"task {TASK!r}: threshold {head.threshold} is outside [{low}, {high}]; it would flag every "
            "sentence or none"
        ]
    return []
