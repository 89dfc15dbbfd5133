"""The built-in plugin "generic": the head-kind tasks every server offers, and their metrics
(one of each per head kind, from hub.tasks.head_kinds), and the readers of tenants' own files
(CSV, TSV, JSON Lines, CoNLL: hub.tasks.readers).

Registered like any other plugin, but always, and with ``trylast=True`` (datasette style) so
that installed plugins' implementations run first.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.plugins.hookspecs import hookimpl
from hub.tasks.datasets import Reader
from hub.tasks.head_kinds import HEAD_KINDS
from hub.tasks.metrics import Metric
from hub.tasks.readers import BUILTIN_READERS
from hub.tasks.specs import GENERIC_TASKS, TaskSpec

NAME = "generic"


@hookimpl(trylast=True)
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    for spec in GENERIC_TASKS:
        register(spec)


@hookimpl(trylast=True)
def register_metrics(register: Callable[[Metric], None]) -> None:
    for kind in HEAD_KINDS.values():
        register(kind.metric)


@hookimpl(trylast=True)
def register_readers(register: Callable[[Reader], None]) -> None:
    for reader in BUILTIN_READERS:
        register(reader)
