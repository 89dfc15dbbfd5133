"""The request path's plugin code, run under the plugin time budget (hub.plugins.workers).

A request whose task has plugin code before the model (a segmenter, preprocessors) makes ONE
hop to a worker process carrying all its texts; one whose task has a postprocessor makes one
more for its answers. A task without plugin code (the built-in ones) makes none: its
pipeline runs here, as before. ``plugin_workers`` 0 runs everything here, without a budget.

Measured per request (benchmarks/bench_plugin_budget.py, BENCHMARKS.md "Plugin code under a
time budget"): the hop's cost against running the same pipeline in-process, on ordinary texts.
"""

from __future__ import annotations

import dataclasses
import functools
import weakref
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from adapters_registry.manifest import HeadSpec
from hub.config.settings import Settings
from hub.observe import request_log as rl
from hub.plugins.workers import WorkerPool
from hub.tasks.answers import answers
from hub.tasks.pipeline import Piece, Prepared, TaskPipeline
from hub.tasks.results import Prediction
from hub.tasks.specs import TaskRegistry
from hub.tasks.text import OffsetMap, Preprocessor, Run, Segmenter

# A Prepared as it crosses the pipe: plain tuples pickle in a tenth of the time of the frozen
# dataclasses (measured: 32 medical texts, 460 -> 9 us to load), and the original text, which
# the server has, is not sent back. (segmented, (a Piece's fields in order, its OffsetMap as
# (source length, runs)), ...); every field of Piece travels, whatever fields it gains.
_PIECE_FIELDS = tuple(f.name for f in dataclasses.fields(Piece) if f.init)
Packed = tuple[bool, tuple[tuple[Any, ...], ...]]


def _pack(p: Prepared) -> Packed:
    def field(q: Piece, name: str) -> Any:
        value = getattr(q, name)
        if isinstance(value, OffsetMap):
            return value.source_length, tuple(
                (r.out_start, r.out_end, r.src_start, r.src_end, r.copied) for r in value.runs
            )
        return value

    return p.segmented, tuple(tuple(field(q, name) for name in _PIECE_FIELDS) for q in p.pieces)


def _unpack(original: str, packed: Packed) -> Prepared:
    segmented, pieces = packed
    return Prepared(original, tuple(_piece(values) for values in pieces), segmented)


def _piece(values: tuple[Any, ...]) -> Piece:
    given = dict(zip(_PIECE_FIELDS, values, strict=True))
    length, runs = given["offsets"]
    given["offsets"] = OffsetMap(tuple(Run(*r) for r in runs), length)
    return Piece(**given)


def runs_before(pipeline: TaskPipeline) -> bool:
    return pipeline.segmenter is not None or bool(pipeline.preprocessors)


def runs_after(pipeline: TaskPipeline) -> bool:
    return pipeline.postprocessor is not None


class PluginWork:
    """Prepare texts and finish answers: in the workers when plugin code is involved."""

    def __init__(self, tasks: TaskRegistry, workers: int, budget_s: float) -> None:
        self.tasks = tasks
        self.budget_s = budget_s
        self.components: list[str] = []
        self._index: dict[tuple[str, str], int] = {}
        for spec in tasks.all():
            self._describe(tasks.pipeline(spec.name), spec.plugin)
        self._marker: Any = None  # in a worker: the shared int naming what runs
        self._marked: dict[str, TaskPipeline] = {}  # in a worker: pipelines that set the marker
        self.pool: WorkerPool | None = None
        if workers > 0 and self.components:
            self.pool = WorkerPool(
                {"prepare": self._prepare_here, "answers": self._answers_here},
                workers=workers,
                budget_s=budget_s,
                components=self.components,
                on_start=self._started,
            )

    @classmethod
    def started(cls, owner: object, tasks: TaskRegistry, settings: Settings) -> PluginWork:
        """The service's plugin work, by its settings; its workers stop when ``close`` is
        called or when ``owner`` is garbage collected (a service nobody closed)."""
        work = cls(tasks, settings.plugin_workers, settings.plugin_budget_s)
        weakref.finalize(owner, work.close)
        return work

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()

    # ---- the request path ---------------------------------------------------------------
    def prepare(self, jobs: Sequence[tuple[TaskPipeline, str]]) -> list[Prepared]:
        """Each (pipeline, text) prepared: in one worker call when any pipeline has plugin code."""
        if self.pool is None or not any(runs_before(p) for p, _ in jobs):
            return [pipeline.prepare(text) for pipeline, text in jobs]
        packed = self.pool.call(_tenant(), "prepare", [(p.task, text) for p, text in jobs])
        return [_unpack(text, p) for (_, text), p in zip(jobs, packed, strict=True)]

    def answers(
        self, pipeline: TaskPipeline, head: HeadSpec, prepared: Sequence[Prepared], scores: Sequence[Any]
    ) -> list[Prediction]:
        """hub.tasks.answers.answers: in a worker when the task has a postprocessor."""
        if self.pool is None or not runs_after(pipeline):
            return answers(pipeline, head, prepared, scores)
        packed = [(p.original, _pack(p)) for p in prepared]
        result: list[Prediction] = self.pool.call(_tenant(), "answers", pipeline.task, head, packed, list(scores))
        return result

    # ---- in a worker ----------------------------------------------------------------------
    def _started(self, marker: Any) -> None:
        self._marker = marker

    def _prepare_here(self, jobs: list[tuple[str, str]]) -> list[Packed]:
        return [_pack(self._pipeline(task).prepare(text)) for task, text in jobs]

    def _answers_here(
        self, task: str, head: HeadSpec, packed: list[tuple[str, Packed]], scores: list[Any]
    ) -> list[Prediction]:
        return answers(self._pipeline(task), head, [_unpack(text, p) for text, p in packed], scores)

    def _pipeline(self, task: str) -> TaskPipeline:
        """The task's pipeline with each component marking itself while it runs."""
        if task not in self._marked:
            p = self.tasks.pipeline(task)
            self._marked[task] = replace(
                p,
                preprocessors=tuple(
                    Preprocessor(x.name, self._mark(("preprocessor", x.name), x.apply), x.description)
                    for x in p.preprocessors
                ),
                segmenter=None
                if p.segmenter is None
                else Segmenter(
                    p.segmenter.name,
                    self._mark(("segmenter", p.segmenter.name), p.segmenter.split),
                    p.segmenter.description,
                ),
                postprocessor=None if p.postprocessor is None else self._mark(("postprocessor", task), p.postprocessor),
            )
        return self._marked[task]

    def _mark(self, key: tuple[str, str], function: Callable[..., Any]) -> Callable[..., Any]:
        code, marker = self._index[key], self._marker

        @functools.wraps(function)  # the pipeline reads the postprocessor's signature through it
        def marked(*args: Any, **kwargs: Any) -> Any:
            marker.value = code
            return function(*args, **kwargs)

        return marked

    # ---- names for errors -----------------------------------------------------------------
    def _describe(self, pipeline: TaskPipeline, plugin: str) -> None:
        found: list[tuple[tuple[str, str], str]] = []
        if pipeline.segmenter is not None:
            name = pipeline.segmenter.name
            found.append(
                (
                    ("segmenter", name),
                    f"plugin {_owner(name)!r}: segmenter {name!r} ({_where(pipeline.segmenter.split)})",
                )
            )
        for pre in pipeline.preprocessors:
            found.append(
                (
                    ("preprocessor", pre.name),
                    f"plugin {_owner(pre.name)!r}: preprocessor {pre.name!r} ({_where(pre.apply)})",
                )
            )
        if pipeline.postprocessor is not None:
            where = _where(pipeline.postprocessor)
            found.append(
                (
                    ("postprocessor", pipeline.task),
                    f"plugin {plugin!r}: the postprocessor of task {pipeline.task!r} ({where})",
                )
            )
        for key, text in found:
            if key not in self._index:
                self._index[key] = len(self.components)
                self.components.append(text)


def _owner(name: str) -> str:
    """A registered name's namespace: its plugin's name (or a namespace the plugin declared)."""
    return name.split(".", 1)[0]


def _where(function: Callable[..., Any]) -> str:
    module = getattr(function, "__module__", None) or "?"
    return f"{module}.{getattr(function, '__qualname__', type(function).__name__)}"


def _tenant() -> str:
    record = rl.current()
    return record.tenant if record is not None else ""
