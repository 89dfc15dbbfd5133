"""Tasks the hub can serve: a name, a head kind, optional fixed labels, and how scores become answers.

The registry is built once at start-up (built-in generic tasks now; plugins add theirs) and is
read-only afterwards, so the request path does dictionary look-ups only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from adapters_registry.errors import InvalidArgument, NotFound
from adapters_registry.manifest import HeadKind, TaskContract


@dataclass(frozen=True)
class TaskSpec:
    name: str
    head_kind: HeadKind
    description: str = ""
    labels: tuple[str, ...] | None = None  # None: every adapter brings its own label list
    plugin: str = "generic"

    def contract(self) -> TaskContract:
        return TaskContract(self.head_kind, self.labels)


GENERIC_TASKS = (
    TaskSpec(
        "generic.sequence_classification",
        HeadKind.SEQUENCE,
        "One label per text; probabilities from a softmax over the adapter's labels.",
    ),
    TaskSpec(
        "generic.multi_label_classification",
        HeadKind.MULTI_LABEL,
        "Any number of labels per text; independent sigmoid scores, predicted at or above "
        "the head's threshold (default 0.5).",
    ),
    TaskSpec(
        "generic.token_classification",
        HeadKind.TOKEN,
        "BIO tags per token, decoded to entity spans with character offsets into the text.",
    ),
)


class TaskRegistry:
    """A frozen name -> TaskSpec map."""

    def __init__(self, specs: Iterable[TaskSpec]) -> None:
        table: dict[str, TaskSpec] = {}
        for spec in specs:
            if spec.name in table:
                raise ValueError(
                    f"task {spec.name!r} registered twice "
                    f"(by {table[spec.name].plugin!r} and {spec.plugin!r})"
                )
            table[spec.name] = spec
        self._tasks: Mapping[str, TaskSpec] = MappingProxyType(table)

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
