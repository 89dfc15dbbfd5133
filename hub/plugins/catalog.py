"""Start-up: run every plugin's ``register_*`` hooks and file what they add in frozen registries.

Each plugin's implementation is called on its own, in pluggy's call order, with a ``register``
callback bound to that plugin, so every problem names the plugin it came from. Namespaces are
settled first (hub.plugins.namespaces): a name outside the plugin's own namespaces is refused.
Problems are collected, not raised one by one: start-up fails once, listing all of them
(PluginError).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import pluggy

from adapters_registry.manifest import HeadKind
from hub.plugins.namespaces import NamespaceClaims, Namespaces
from hub.tasks.datasets import Reader
from hub.tasks.head_kinds import HEAD_KINDS, task_kind
from hub.tasks.metrics import Metric
from hub.tasks.pipeline import TaskPipeline, postprocessor_arity
from hub.tasks.specs import TaskRegistry, TaskSpec
from hub.tasks.text import Preprocessor, Segmenter

NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")

# kind -> (hook, the type its register() takes); components first, tasks refer to them by name
KINDS: dict[str, tuple[str, type]] = {
    "preprocessors": ("register_preprocessors", Preprocessor),
    "segmenters": ("register_segmenters", Segmenter),
    "readers": ("register_readers", Reader),
    "metrics": ("register_metrics", Metric),
    "tasks": ("register_tasks", TaskSpec),
}


class PluginError(Exception):
    """Start-up refused: a plugin failed to import, clashed, or broke a hook's contract."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"- {p}" for p in self.problems)
        super().__init__(f"plugins could not be loaded ({len(self.problems)} problem(s)):\n{lines}")


@dataclass(frozen=True)
class Catalog:
    """Everything the plugins registered, frozen; the request path only looks names up here."""

    tasks: TaskRegistry
    preprocessors: Mapping[str, Preprocessor]
    segmenters: Mapping[str, Segmenter]
    readers: Mapping[str, Reader]
    metrics: Mapping[str, Metric]
    owners: Mapping[str, Mapping[str, tuple[str, ...]]]  # plugin -> kind -> names
    namespaces: Namespaces  # namespace -> owning plugin

    def registered_by(self, plugin: str) -> Mapping[str, tuple[str, ...]]:
        return self.owners.get(plugin, MappingProxyType({}))


def call_order(pm: pluggy.PluginManager, hook: str) -> Iterator[Any]:
    """The hook's implementations in the order pluggy calls them (trylast ones last)."""
    caller = getattr(pm.hook, hook, None)
    yield from reversed(caller.get_hookimpls() if caller is not None else [])


def call_impl(impl: Any, **kwargs: object) -> Any:
    """Call one implementation with the arguments it asks for (pluggy allows a subset)."""
    return impl.function(**{name: kwargs[name] for name in impl.argnames})


class _Collector:
    def __init__(self, namespaces: Namespaces) -> None:
        self.namespaces = namespaces
        self.tables: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
        self.owner: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
        self.problems: list[str] = []

    def register_for(self, plugin: str, kind: str) -> Callable[[object], None]:
        hook, expected = KINDS[kind]

        def register(item: object) -> None:
            if not isinstance(item, expected):
                self.problems.append(
                    f"plugin {plugin!r}: {hook} passed a {type(item).__name__} to register(); "
                    f"it takes a {expected.__name__}"
                )
                return
            name = getattr(item, "name", "")
            if not isinstance(name, str) or not NAME.match(name):
                self.problems.append(
                    f"plugin {plugin!r}: {kind[:-1]} name {name!r} is not namespaced "
                    "'<domain>.<name>' (lowercase letters, digits, _)"
                )
                return
            outside = self.namespaces.problem(plugin, kind[:-1], name)
            if outside is not None:
                self.problems.append(outside)
                return
            if name in self.tables[kind]:  # only one plugin owns a namespace: it registered the name twice
                self.problems.append(f"plugin {plugin!r}: {kind[:-1]} name {name!r} is registered twice")
                return
            checked = self._check(plugin, kind, item)
            if checked is not None:
                self.tables[kind][name] = checked
                self.owner[kind][name] = plugin

        return register

    def _check(self, plugin: str, kind: str, item: Any) -> Any:
        where = f"plugin {plugin!r}: {kind[:-1]} {item.name!r}"
        before = len(self.problems)
        if kind == "tasks":
            labels = None if item.labels is None else tuple(item.labels)
            item = dataclasses.replace(item, plugin=plugin, labels=labels, preprocessors=tuple(item.preprocessors))
            self._check_task(where, item)
        elif kind == "metrics" and (
            not isinstance(item.head_kind, HeadKind) or item.head_kind not in HEAD_KINDS or not item.headline
        ):
            self.problems.append(f"{where}: needs a HeadKind and the name of its headline value")
        for attr in ("apply", "split", "read", "compute"):
            if hasattr(item, attr) and not callable(getattr(item, attr)):
                self.problems.append(f"{where}: {attr} must be callable")
        return item if len(self.problems) == before else None

    def _check_task(self, where: str, spec: TaskSpec) -> None:
        if not isinstance(spec.head_kind, HeadKind) or spec.head_kind not in HEAD_KINDS:
            self.problems.append(f"{where}: head_kind must be a HeadKind, got {spec.head_kind!r}")
            return
        labels = spec.labels
        if labels is not None:
            if not labels or not all(isinstance(x, str) and x for x in labels) or len(set(labels)) != len(labels):
                self.problems.append(f"{where}: labels must be distinct non-empty strings (or None)")
            else:
                rule = task_kind(spec.head_kind).label_problems(labels, defining_task=True)
                self.problems += [f"{where}: {problem}" for problem in rule]
        if spec.postprocessor is not None and (
            not callable(spec.postprocessor) or postprocessor_arity(spec.postprocessor) is None
        ):
            self.problems.append(
                f"{where}: postprocessor must be a function (prediction, text) or (prediction, text, segment)"
            )

    def resolve(self) -> dict[str, TaskPipeline]:
        """Each task's pipeline, checking that every name it refers to exists and fits."""
        pipelines = {}
        for name, spec in self.tables["tasks"].items():
            where = f"plugin {spec.plugin!r}: task {name!r}"
            pres = [self._lookup(where, "preprocessors", p) for p in spec.preprocessors]
            segmenter = self._lookup(where, "segmenters", spec.segmenter) if spec.segmenter else None
            metric = self._lookup(where, "metrics", spec.metric) if spec.metric else None
            if spec.reader:
                self._lookup(where, "readers", spec.reader)
            if metric is not None and metric.head_kind is not spec.head_kind:
                self.problems.append(
                    f"{where}: metric {spec.metric!r} scores {metric.head_kind.value} tasks, "
                    f"the task is {spec.head_kind.value}"
                )
            pipelines[name] = TaskPipeline(name, tuple(p for p in pres if p), segmenter, spec.postprocessor)
        return pipelines

    def _lookup(self, where: str, kind: str, name: str) -> Any:
        found = self.tables[kind].get(name)
        if found is None:
            known = ", ".join(sorted(self.tables[kind])) or "none"
            self.problems.append(
                f"{where} names {kind[:-1]} {name!r}, which no enabled plugin registers (registered: {known})"
            )
        return found


def _run(
    pm: pluggy.PluginManager, hook: str, problems: list[str], register: Callable[[str], Callable[[object], None]]
) -> None:
    """Call each plugin's ``hook`` with its own ``register(plugin)`` callback, noting what breaks."""
    for impl in call_order(pm, hook):
        if impl.hookwrapper or impl.wrapper:
            problems.append(f"plugin {impl.plugin_name!r}: {hook} may not be a hook wrapper")
            continue
        try:
            call_impl(impl, register=register(impl.plugin_name))
        except Exception as exc:  # noqa: BLE001 - reported, naming the plugin
            problems.append(f"plugin {impl.plugin_name!r}: {hook} raised {type(exc).__name__}: {exc}")


def build_catalog(pm: pluggy.PluginManager, installed: Mapping[str, str] = MappingProxyType({})) -> Catalog:
    """Run the register hooks of every registered plugin; raise PluginError listing all problems.

    ``installed``: every installed plugin's name (loaded or not) -> its distribution and version;
    their names stay their namespaces even while they are not loaded.
    """
    loaded = [name for name, _ in pm.list_name_plugin()]
    claims = NamespaceClaims(loaded, installed)
    _run(pm, "register_namespaces", claims.problems, claims.register_for)
    collector = _Collector(claims.settle())
    collector.problems += claims.problems
    for kind, (hook, _) in KINDS.items():
        _run(pm, hook, collector.problems, functools.partial(collector.register_for, kind=kind))
    pipelines = collector.resolve()
    if collector.problems:
        raise PluginError(collector.problems)
    owners: dict[str, dict[str, list[str]]] = {}
    for kind, table in collector.owner.items():
        for name, plugin in sorted(table.items()):
            owners.setdefault(plugin, {}).setdefault(kind, []).append(name)
    frozen = {kind: MappingProxyType(dict(table)) for kind, table in collector.tables.items()}
    return Catalog(
        tasks=TaskRegistry(frozen["tasks"].values(), pipelines),
        preprocessors=frozen["preprocessors"],
        segmenters=frozen["segmenters"],
        readers=frozen["readers"],
        metrics=frozen["metrics"],
        owners=MappingProxyType(
            {p: MappingProxyType({k: tuple(v) for k, v in kinds.items()}) for p, kinds in owners.items()}
        ),
        namespaces=collector.namespaces,
    )
