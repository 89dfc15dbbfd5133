"""The built-in plugin "generic": the head-kind tasks every server offers, and their metrics.

Registered like any other plugin, but always, and with ``trylast=True`` (datasette style) so
that installed plugins' implementations run first.
"""

from __future__ import annotations

from collections.abc import Callable

from adapters_registry.manifest import HeadKind
from hub.plugins.hookspecs import hookimpl
from hub.tasks.metrics import Metric, classification_scores, entity_scores, multi_label_scores
from hub.tasks.specs import GENERIC_TASKS, TaskSpec

NAME = "generic"


@hookimpl(trylast=True)
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    for spec in GENERIC_TASKS:
        register(spec)


@hookimpl(trylast=True)
def register_metrics(register: Callable[[Metric], None]) -> None:
    register(
        Metric(
            "generic.classification",
            HeadKind.SEQUENCE,
            classification_scores,
            headline="macro_f1",
            description="accuracy, macro-F1 over the labels seen, F1 per label",
        )
    )
    register(
        Metric(
            "generic.multi_label",
            HeadKind.MULTI_LABEL,
            multi_label_scores,
            headline="micro_f1",
            description="micro P/R/F1, macro-F1 over the labels seen, F1 per label, exact match",
        )
    )
    register(
        Metric(
            "generic.entities",
            HeadKind.TOKEN,
            entity_scores,
            headline="f1",
            description="strict entity-level P/R/F1 (exact boundaries and type), F1 per type",
        )
    )
