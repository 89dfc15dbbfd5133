"""The hooks a plugin may implement: one typed spec each (tox style).

``register_*`` hooks receive a ``register`` callback (llm style) and call it once per thing they
add; the hub checks each thing as it arrives (type, ``<domain>.<name>`` name in a namespace the
plugin owns, clashes) and files it in registries that are frozen before the server starts. They run once, at start-up.
``validate_adapter`` runs at upload; ``adapter_loaded`` / ``adapter_evicted`` are observers: the
hub calls each plugin's implementation on its own and logs, never propagates, what it raises.
Every spec here has a section in docs/plugins.md and a test named ``test_hook_<name>``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pluggy

from adapters_registry.manifest import Manifest
from hub.tasks.datasets import Reader
from hub.tasks.metrics import Metric
from hub.tasks.specs import TaskSpec
from hub.tasks.text import Preprocessor, Segmenter

PROJECT = "adapter_hub"
ENTRY_POINT_GROUP = "adapter_hub.plugins"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@dataclass(frozen=True)
class AdapterEvent:
    """An adapter version entered or left the hub's memory.

    ``reason``: "loaded" on load; on eviction why it left: "capacity" (least recently used,
    to make room), "deleted", "superseded" (no alias leads to it any more), "unloaded" (an
    operator's Unload), or another reason a later hub adds. ``tasks`` is empty on eviction.
    """

    tenant: str
    adapter: str
    version: int
    reason: str
    tasks: tuple[str, ...] = ()


@hookspec
def register_namespaces(register: Callable[[str], None]) -> None:
    """Claim namespaces besides the plugin's own name: ``register("acme")`` once per namespace.

    A plugin registers names only in namespaces it owns: the one spelled like its plugin (entry-
    point) name, and those it declares here that no other installed plugin is named so or declares.
    Runs before the other ``register_*`` hooks.
    """


@hookspec
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    """Add tasks: ``register(TaskSpec(...))`` once per task.

    A task names its head kind, fixed labels (or None: each adapter brings its own), and by
    registered name its preprocessors, segmenter, metric and reader; its postprocessor is a
    callable ``(Prediction, original_text) -> Prediction``, or with a third argument, the
    ``AnsweredSegment`` it answers.
    """


@hookspec
def register_preprocessors(register: Callable[[Preprocessor], None]) -> None:
    """Add text rewrites run before the model: ``register(Preprocessor(name, apply))``.

    ``apply(text) -> Preprocessed``: pure, and its offset map must tile input and output
    (build it with ``apply_edits`` or ``replace_patterns``).
    """


@hookspec
def register_segmenters(register: Callable[[Segmenter], None]) -> None:
    """Add text splitters: ``register(Segmenter(name, split))``, ``split(text) -> [Span | Segment]``.

    A task with a segmenter answers each span on its own, with offsets into the whole text;
    a ``Segment`` may carry a ``kind`` and be ``context`` (part of the text, not answered).
    """


@hookspec
def register_readers(register: Callable[[Reader], None]) -> None:
    """Add dataset formats for training: ``register(Reader(name, read))``.

    ``read(path)`` yields TextExample or TokenExample objects lazily.
    """


@hookspec
def register_metrics(register: Callable[[Metric], None]) -> None:
    """Add metrics: ``register(Metric(name, head_kind, compute, headline))``.

    ``compute(gold, predicted) -> {name: float in [0, 1]}``.
    """


@hookspec
def validate_adapter(manifest: Manifest, task: TaskSpec) -> list[str]:
    """Extra checks at upload, called once per task the adapter serves that THIS plugin registered
    (another plugin's tasks, and the built-in ones, are never shown to it).

    Return the problems found (empty: fine). Any problem from any plugin rejects the upload
    with INVALID_ARGUMENT, listed with the hub's own findings. ``manifest.task(task.name)`` is
    the adapter's head for the task.
    """
    raise NotImplementedError  # a spec: never called


@hookspec
def adapter_loaded(event: AdapterEvent) -> None:
    """An adapter version was packed into memory. An observer: keep it quick, it may not raise."""


@hookspec
def adapter_evicted(event: AdapterEvent) -> None:
    """An adapter version left memory (see AdapterEvent.reason). An observer: may not raise."""
