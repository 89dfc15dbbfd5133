"""Training data through the tasks' plugins: readers, held-out splits, model-facing texts.

Every task's files are read by the reader its plugin registered (or one named with
``--reader``); texts are rewritten by the task's preprocessors exactly as the request path
rewrites them, so the model trains on what it will be served.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from adapters_registry.manifest import Pooling
from hub.engine.train.types import Span, TaskData, TrainExample
from hub.errors import InvalidArgument
from hub.plugins.catalog import Catalog
from hub.tasks.datasets import Example, ReaderOptions, TokenExample
from hub.tasks.head_kinds import task_kind
from hub.tasks.metrics import Metric
from hub.tasks.pipeline import TaskPipeline
from hub.tasks.readers import choose_reader, suffixes
from hub.tasks.specs import TaskSpec

MAX_PROBLEMS = 5


@dataclass
class TaskInput:
    """One task of a training run, as the command line gives it."""

    task: str
    train: Path | None = None
    dev: Path | None = None
    reader: str = ""
    options: ReaderOptions | None = None  # --text-column, --label-column, --label-separator


@dataclass
class TaskSet:
    """A task ready to train: its spec, metric, pipeline, the head's data and its dev examples."""

    spec: TaskSpec
    metric: Metric
    pipeline: TaskPipeline
    data: TaskData
    dev: list[Example] = field(default_factory=list)
    dev_source: str = ""
    unused_labels: tuple[str, ...] = ()  # the head's labels no training example carries


def labels_without_examples(labels: Sequence[str], examples: Sequence[Example]) -> tuple[str, ...]:
    """The head's labels that no example carries: the head would never learn them. Token
    tasks count by entity type (a type with a B- or I- tag somewhere has both tags)."""
    seen = {x for e in examples for x in (e.tags if isinstance(e, TokenExample) else e.labels)}
    if any(isinstance(e, TokenExample) for e in examples):
        types = {t.partition("-")[2] for t in seen if t != "O"}
        return tuple(x for x in labels if x != "O" and x.partition("-")[2] not in types)
    return tuple(x for x in labels if x not in seen)


def read_examples(
    catalog: Catalog, spec: TaskSpec, path: Path, reader: str = "", options: ReaderOptions | None = None
) -> list[Example]:
    """``path``'s examples for ``spec``, read by ``reader``, else the task's own reader, else the
    built-in reader of the file's extension (hub.tasks.readers)."""
    per_token = task_kind(spec.head_kind).per_token
    name = reader or spec.reader or choose_reader(path, per_token)
    if not name:
        raise InvalidArgument(
            f"task {spec.name!r} registers no dataset reader and {path.name!r} is not a format the hub reads "
            f"by its extension ({', '.join(suffixes(per_token))}); name one with --reader "
            f"(registered: {', '.join(sorted(catalog.readers)) or 'none'})"
        )
    found = catalog.readers.get(name)
    if found is None:
        raise InvalidArgument(f"no reader {name!r}; registered: {', '.join(sorted(catalog.readers))}")
    if not path.is_file():
        raise InvalidArgument(f"{path}: no such file")
    if options is not None and options != ReaderOptions() and found.read_with is None:
        raise InvalidArgument(f"reader {name!r} takes no --text-column, --label-column or --label-separator")
    examples = list(found.read_with(path, options) if options is not None and found.read_with else found.read(path))
    if not examples:
        raise InvalidArgument(f"{path}: reader {name!r} found no examples")
    kind = task_kind(spec.head_kind)
    problems = [p for e in examples for p in kind.check_example(e, spec.labels)]
    if problems:
        more = f" (and {len(problems) - MAX_PROBLEMS} more)" if len(problems) > MAX_PROBLEMS else ""
        raise InvalidArgument(f"{path}: " + "; ".join(problems[:MAX_PROBLEMS]) + more)
    return examples


def holdout_split(examples: list[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """(kept, held out): a deterministic split by ``group`` (e.g. the document) when examples
    carry one, else by example.

    The units (distinct groups, or example positions) are sorted, shuffled with
    ``random.Random(seed)``, and the first ``round(fraction * units)`` are held out (at least
    one): the same file, fraction and seed always give the same split.
    """
    if not 0.0 < fraction < 1.0:
        raise InvalidArgument("the held-out fraction must be between 0 and 1")
    keys = [e.group or f"#{i}" for i, e in enumerate(examples)]
    units = sorted(set(keys))
    if len(units) < 2:
        raise InvalidArgument("a held-out split needs at least two groups (documents) or examples")
    random.Random(seed).shuffle(units)
    held = set(units[: min(len(units) - 1, max(1, round(fraction * len(units))))])
    kept = [e for e, k in zip(examples, keys, strict=True) if k not in held]
    out = [e for e, k in zip(examples, keys, strict=True) if k in held]
    return kept, out


def head_labels(spec: TaskSpec, examples: list[Example]) -> list[str]:
    """The task's fixed labels, else every label the training data uses (sorted; BIO: O first)."""
    if spec.labels is not None:
        return list(spec.labels)
    return task_kind(spec.head_kind).labels_from(examples)


def train_example(example: Example, pipeline: TaskPipeline) -> TrainExample:
    """The model's view of one example: the text after the task's preprocessors (no segmenter:
    an example is already one unit), its labels, and for token tasks the gold entities."""
    pre = TaskPipeline(pipeline.task, preprocessors=pipeline.preprocessors)
    piece = pre.prepare(example.text).pieces[0]
    offsets = None if not pipeline.preprocessors else piece.offsets
    if isinstance(example, TokenExample):
        spans = tuple(Span(start, end, label) for label, start, end in example.entities())
        return TrainExample(piece.text, spans=spans, offsets=offsets)
    return TrainExample(piece.text, labels=tuple(example.labels))


def load_tasks(
    catalog: Catalog,
    inputs: list[TaskInput],
    *,
    holdout: float,
    holdout_seed: int,
    pooling: Pooling | None,
    threshold: float,
) -> list[TaskSet]:
    if not inputs:
        raise InvalidArgument("name at least one task with --task")
    if len({i.task for i in inputs}) != len(inputs):
        raise InvalidArgument("each task may be given once (an adapter has one head per task)")
    sets = []
    for given in inputs:
        spec = catalog.tasks.get(given.task)
        if given.train is None:
            raise InvalidArgument(f"task {given.task!r}: give its training file with --train")
        if not spec.metric or spec.metric not in catalog.metrics:
            raise InvalidArgument(f"task {given.task!r} registers no metric to evaluate it with")
        train = read_examples(catalog, spec, given.train, given.reader, given.options)
        if given.dev is not None:
            dev, source = read_examples(catalog, spec, given.dev, given.reader, given.options), str(given.dev)
        elif holdout > 0:
            train, dev = holdout_split(train, holdout, holdout_seed)
            source = f"{given.train} (held-out {holdout:g}, seed {holdout_seed})"
        else:
            dev, source = [], ""
        pipeline = catalog.tasks.pipeline(spec.name)
        data = TaskData(
            task=spec.name,
            head_kind=spec.head_kind,
            labels=head_labels(spec, train),
            train=[train_example(e, pipeline) for e in train],
            pooling=pooling,
            threshold=threshold,
        )
        unused = labels_without_examples(data.labels, train)
        sets.append(TaskSet(spec, catalog.metrics[spec.metric], pipeline, data, dev, source, unused))
    return sets
