"""Tasks the hub can serve: a name, a head kind, optional fixed labels, and how scores become answers.

The registry is built once at start-up (built-in generic tasks now; plugins add theirs) and is
read-only afterwards, so the request path does dictionary look-ups only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from adapters_registry.manifest import HeadKind, TaskContract
from hub.errors import FailedPrecondition, InvalidArgument, NotFound
from hub.tasks.head_kinds import HEAD_KINDS, task_kind
from hub.tasks.pipeline import Postprocessor, TaskPipeline


@dataclass(frozen=True)
class TaskSpec:
    """A task: what its heads look like, and (by registered name) how requests and data flow.

    ``preprocessors`` run in order before the model; ``segmenter`` splits a text into segments
    answered one by one; ``postprocessor`` runs on each answer after decoding, offsets already
    in the original text. ``metric`` and ``reader`` name how training data is read and scored.
    ``plugin`` is filled in by the hub with the registering plugin's name.
    """

    name: str
    """``<namespace>.<name>``."""
    head_kind: HeadKind
    """``SEQUENCE`` (softmax), ``MULTI_LABEL`` (sigmoid + threshold) or ``TOKEN`` (BIO tags)."""
    description: str = ""
    """One line for listings."""
    labels: tuple[str, ...] | None = None
    """The labels every adapter for the task must have, in this order; ``None``: each adapter
    brings its own."""
    plugin: str = "generic"
    """Filled in by the hub: the plugin that registered the task."""
    preprocessors: tuple[str, ...] = ()
    """Registered preprocessor names, run in order before the model."""
    segmenter: str = ""
    """A registered segmenter's name, or ``""`` to answer the text whole."""
    postprocessor: Postprocessor | None = None
    """``(prediction, text)`` or ``(prediction, text, segment) -> Prediction``, once per answer."""
    metric: str = ""
    """A registered metric's name, for training and evaluation."""
    reader: str = ""
    """A registered reader's name: the format the task's training data is in."""

    def contract(self) -> TaskContract:
        kind = task_kind(self.head_kind)
        return TaskContract(self.head_kind, self.labels, pools=not kind.per_token, check_labels=kind.label_problems)


# The built-in task of every head kind (registered by the generic plugin).
GENERIC_TASKS = tuple(
    TaskSpec(k.generic_task, k.kind, k.generic_description, metric=k.metric.name) for k in HEAD_KINDS.values()
)


class TaskRegistry:
    """A frozen name -> (TaskSpec, TaskPipeline) map.

    Tasks with preprocessors or a segmenter need their resolved pipelines (hub.plugins.catalog builds
    them from the plugins' registrations); the others get a plain one.
    """

    def __init__(self, specs: Iterable[TaskSpec], pipelines: Mapping[str, TaskPipeline] | None = None) -> None:
        table: dict[str, TaskSpec] = {}
        for spec in specs:
            if spec.name in table:
                raise ValueError(
                    f"task {spec.name!r} registered twice (by {table[spec.name].plugin!r} and {spec.plugin!r})"
                )
            table[spec.name] = spec
        self._tasks: Mapping[str, TaskSpec] = MappingProxyType(table)
        resolved = dict(pipelines or {})
        for spec in table.values():
            if spec.name not in resolved:
                if spec.preprocessors or spec.segmenter:
                    raise ValueError(f"task {spec.name!r} needs its resolved pipeline (see hub.plugins.catalog)")
                resolved[spec.name] = TaskPipeline(spec.name, postprocessor=spec.postprocessor)
        self._pipelines: Mapping[str, TaskPipeline] = MappingProxyType(resolved)

    def get(self, name: str) -> TaskSpec:
        spec = self._tasks.get(name)
        if spec is None:
            raise NotFound(f"task {name!r} is not offered by this server")
        return spec

    def contract(self, name: str) -> TaskContract | None:
        spec = self._tasks.get(name)
        return spec.contract() if spec else None

    def all(self) -> list[TaskSpec]:
        return sorted(self._tasks.values(), key=lambda s: s.name)

    def pipeline(self, name: str) -> TaskPipeline:
        pipeline = self._pipelines.get(name)
        if pipeline is None:
            raise FailedPrecondition(
                f"task {name!r} is not offered by this server now (is its plugin installed and "
                "allowed? see ListPlugins)"
            )
        return pipeline


def default_task_registry() -> TaskRegistry:
    return TaskRegistry(GENERIC_TASKS)


def choose_task(requested: str, available: list[str], adapter: str) -> str:
    """The task a request means: the one it names, or the adapter's only task."""
    if requested:
        if requested not in available:
            raise InvalidArgument(f"adapter {adapter} has no task {requested!r}; it has {available}")
        return requested
    if len(available) == 1:
        return available[0]
    raise InvalidArgument(f"adapter {adapter} serves several tasks {available}: name one with task")
