"""`adapter-hub train` without the command line: data in, artifact directory out.

The output directory is the hub's artifact (ready for `adapter-hub push`): PEFT's
adapter_config.json + adapter_model.safetensors, heads.safetensors, hub_adapter.json and the
metrics card README.md, validated by the same build_artifact the server runs at upload. The
curves and the history go to ``training/`` inside it, which push leaves out (it sends files,
not folders).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters_registry.artifact import ALLOWED_FILES, UploadInfo, build_artifact
from adapters_registry.manifest import MANIFEST_FILE, MODEL_CARD_FILE, BaseAdapter, HeadSpec, Manifest, Pooling
from hub.engine.train.types import (
    DevEvaluator,
    DevResult,
    HeadLayout,
    Mode,
    Observer,
    Scorer,
    TrainOptions,
    TrainOutcome,
)
from hub.errors import InvalidArgument
from hub.plugins.catalog import Catalog
from hub.training.card import CardTask, render_card
from hub.training.data import TaskInput, TaskSet, load_tasks
from hub.training.evaluate import Evaluation, combine, evaluate, pipeline_predictor
from hub.training.plots import plot_curves

TRAINING_DIR = "training"
CURVES_FILE = "curves.png"
HISTORY_FILE = "history.json"
SUMMARY_FILE = "summary.json"


@dataclass
class TrainRequest:
    inputs: list[TaskInput]
    options: TrainOptions
    output: Path
    holdout: float = 0.0  # fraction of a task's training file held out as dev when no --dev
    holdout_seed: int = 0
    pooling: Pooling | None = None  # None: mean, or the family's with --head-layers family
    threshold: float = 0.5
    select_metric: str = ""  # the dev value early stopping watches (default: each headline)
    title: str = ""
    description: str = ""
    command: str = ""
    overwrite: bool = False
    base: BaseAdapter | None = None  # stacked on this domain adapter version ...
    base_files: dict[str, bytes] | None = None  # ... whose artifact this is (applied, frozen)


@dataclass
class TrainReport:
    output: Path
    outcome: TrainOutcome
    evaluations: list[Evaluation] = field(default_factory=list)
    servable: bool = True
    warnings: list[str] = field(default_factory=list)

    @property
    def curves(self) -> Path:
        return self.output / TRAINING_DIR / CURVES_FILE


def heads_for(tasks: list[TaskSet], layouts: dict[str, HeadLayout] | None = None) -> dict[str, HeadSpec]:
    """The manifest's heads (``layouts``: how training built each, once it has run)."""
    heads = {}
    for t in tasks:
        layout = (layouts or {}).get(t.spec.name) or HeadLayout(t.data.pooling or Pooling.MEAN)
        spec = HeadSpec(t.spec.name, t.spec.head_kind, list(t.data.labels), layout.pooling, t.data.threshold)
        heads[t.spec.name] = dataclasses.replace(spec, layers=layout.layers)
    return heads


def dev_evaluator(tasks: list[TaskSet], heads: dict[str, HeadSpec], select: str = "") -> DevEvaluator:
    """Each task's dev set scored the way the hub serves it, then the task's own metric."""

    def run(scorer: Scorer) -> DevResult:
        return combine(_evaluations(tasks, heads, scorer), select)

    return run


def _evaluations(tasks: list[TaskSet], heads: dict[str, HeadSpec], scorer: Scorer) -> list[Evaluation]:
    evaluations = []
    for t in tasks:
        if t.dev:
            predict = pipeline_predictor(t.pipeline, heads[t.spec.name], scorer)
            evaluations.append(evaluate(t.spec.name, t.spec.head_kind, t.metric, t.dev, predict))
    return evaluations


def prepare_output(path: Path, overwrite: bool) -> None:
    """Refuse to mix a new artifact into an old one unless told; then clear only our files."""
    ours = [path / name for name in ALLOWED_FILES] + [path / TRAINING_DIR]
    if path.exists() and not path.is_dir():
        raise InvalidArgument(f"{path} exists and is not a directory")
    if any(p.exists() for p in ours) and not overwrite:
        raise InvalidArgument(f"{path} already holds an artifact; pass --overwrite to replace it")
    for p in ours:
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    path.mkdir(parents=True, exist_ok=True)


def train(request: TrainRequest, catalog: Catalog, observer: Observer | None = None) -> TrainReport:
    options = request.options
    tasks = load_tasks(
        catalog,
        request.inputs,
        holdout=request.holdout,
        holdout_seed=request.holdout_seed,
        pooling=request.pooling,
        threshold=request.threshold,
    )
    prepare_output(request.output, request.overwrite)  # fail before hours of training, not after
    heads = heads_for(tasks)
    evaluator = dev_evaluator(tasks, heads, request.select_metric) if any(t.dev for t in tasks) else None
    from hub.engine.train.loop import run_training

    outcome = run_training([t.data for t in tasks], options, evaluator, observer, base=request.base_files)
    evaluations = []
    if outcome.best is not None:
        by_task = {t.spec.name: t for t in tasks}
        evaluations = [
            Evaluation(name, len(by_task[name].dev), metrics, request.select_metric or by_task[name].metric.headline)
            for name, metrics in outcome.best.metrics.items()
        ]
    report = TrainReport(request.output, outcome, evaluations, bool(outcome.files), label_warnings(tasks, request))
    if outcome.options is not None:  # as run: resolved against the backbone
        request = dataclasses.replace(request, options=outcome.options)
    _write(request, tasks, heads_for(tasks, outcome.heads), report, catalog)
    return report


def label_warnings(tasks: list[TaskSet], request: TrainRequest) -> list[str]:
    """One line per task whose training data leaves some of its head's labels without an
    example: the head trains on, but never learns to predict them."""
    return [
        f"task {t.spec.name!r}: labels {list(t.unused_labels)} have no example in {i.train}: the head never "
        "learns them (add examples of them, or train on data that has them)"
        for t, i in zip(tasks, request.inputs, strict=True)
        if t.unused_labels
    ]


def _summary(request: TrainRequest, tasks: list[TaskSet], report: TrainReport) -> dict[str, Any]:
    o = report.outcome
    return {
        "dev": {e.task: {k: round(v, 6) for k, v in e.metrics.items()} for e in report.evaluations},
        "headline": {t.spec.name: t.metric.headline for t in tasks},
        "selected_by": request.select_metric or "headline",
        "dev_data": {t.spec.name: t.dev_source for t in tasks if t.dev},
        "dev_examples": {t.spec.name: len(t.dev) for t in tasks if t.dev},
        "train_examples": {t.spec.name: len(t.data.train) for t in tasks},
        "labels_without_examples": {t.spec.name: list(t.unused_labels) for t in tasks if t.unused_labels},
        "training": {
            **request.options.to_json(),
            "steps": o.steps,
            "seconds": round(o.seconds, 1),
            "best_step": o.best.step if o.best else None,
            "stopped_early": o.stopped_early,
            "trainable_parameters": o.trainable_parameters,
            "backbone_parameters": o.backbone_parameters,
            "trainable_percent": round(100.0 * o.trainable_parameters / max(1, o.backbone_parameters), 4),
            "holdout": request.holdout,
            "holdout_seed": request.holdout_seed,
        },
    }


def _write(
    request: TrainRequest, tasks: list[TaskSet], heads: dict[str, HeadSpec], report: TrainReport, catalog: Catalog
) -> None:
    out, outcome = request.output, report.outcome
    summary = _summary(request, tasks, report)
    training = out / TRAINING_DIR
    training.mkdir(parents=True, exist_ok=True)
    (training / HISTORY_FILE).write_text(json.dumps(outcome.history.to_json(), indent=1) + "\n")
    (training / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    title = request.title or out.name
    shown = {t.spec.name: request.select_metric or t.metric.headline for t in tasks}
    plot_curves(outcome.history, training / CURVES_FILE, title, shown)
    card_tasks = [
        CardTask(
            t.spec.name,
            t.spec.head_kind.value,
            t.data.labels,
            str(i.train),
            len(t.data.train),
            t.dev_source,
            t.unused_labels,
        )
        for t, i in zip(tasks, request.inputs, strict=True)
    ]
    options = request.options
    card = render_card(title, request.description, card_tasks, report.evaluations, options, outcome, request.command)
    if request.options.mode is Mode.FULL:
        (out / MODEL_CARD_FILE).write_text(card)
        return
    manifest = Manifest(
        tasks=list(heads.values()),
        base_model_name=request.options.backbone,
        base_model_fingerprint=outcome.backbone.fingerprint,
        description=request.description or title,
        metrics=summary,
        base=request.base,
    )
    files = {**outcome.files, MANIFEST_FILE: manifest.dumps(), MODEL_CARD_FILE: card.encode()}
    artifact = build_artifact(files, UploadInfo(), outcome.backbone, catalog.tasks.contract)
    for name, data in artifact.files.items():
        (out / name).write_bytes(data)
