"""Evaluate an adapter directory in-process: through a throwaway HubService, the same code a
running server answers Predict with (upload validation, task pipeline, engine, decoding)."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from pathlib import Path

from adapters_registry.manifest import PEFT_WEIGHTS_FILE
from hub.config.settings import Settings
from hub.errors import InvalidArgument
from hub.plugins.catalog import Catalog
from hub.plugins.manager import HubPlugins
from hub.serving.auth import LOCAL_TENANT, Caller
from hub.serving.service import HubService, Target
from hub.serving.upload import UploadHeader
from hub.tasks.datasets import Example, ReaderOptions
from hub.tasks.results import Prediction
from hub.training.data import holdout_split, read_examples
from hub.training.evaluate import Evaluation, Predictor, batched, evaluate

EVAL_NAME = "evaluated"


@dataclass(frozen=True)
class EvalData:
    task: str
    path: Path
    reader: str = ""
    holdout: float = 0.0  # >0: evaluate only the held-out part that `train --holdout` set aside
    holdout_seed: int = 0
    options: ReaderOptions | None = None  # --text-column, --label-column, --label-separator


def eval_examples(catalog: Catalog, data: EvalData) -> list[Example]:
    spec = catalog.tasks.get(data.task)
    examples = read_examples(catalog, spec, data.path, data.reader, data.options)
    if data.holdout > 0:
        examples = holdout_split(examples, data.holdout, data.holdout_seed)[1]
    return examples


def adapter_files(directory: Path) -> dict[str, bytes]:
    """The files `adapter-hub push` would send: the directory's plain, non-hidden files."""
    files = {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file() and not p.name.startswith(".")}
    if PEFT_WEIGHTS_FILE not in files:
        raise InvalidArgument(f"{directory} holds no {PEFT_WEIGHTS_FILE}: not a servable adapter")
    return files


def local_service(plugins: HubPlugins, settings: Settings) -> HubService:
    from hub.serving.app import build_service

    memory = dataclasses.replace(settings, store=f"memory://eval-{uuid.uuid4().hex}")
    service = build_service(memory, plugins)
    service.load_backbone()
    return service


def service_predictor(service: HubService, name: str, task: str, batch_size: int) -> Predictor:
    caller = Caller(LOCAL_TENANT, admin=True)

    def predict(texts: list[str]) -> list[Prediction]:
        return service.predict(caller, Target(name, task=task), texts).predictions

    return batched(predict, min(batch_size, service.settings.max_texts_per_request))


def evaluate_directory(
    directory: Path, data: EvalData, plugins: HubPlugins, settings: Settings, batch_size: int = 64
) -> Evaluation:
    """Upload the directory into an in-memory hub and evaluate it there."""
    catalog = plugins.catalog
    spec = catalog.tasks.get(data.task)
    if not spec.metric or spec.metric not in catalog.metrics:
        raise InvalidArgument(f"task {data.task!r} registers no metric")
    examples = eval_examples(catalog, data)
    service = local_service(plugins, settings)
    service.upload(Caller(LOCAL_TENANT, admin=True), UploadHeader(EVAL_NAME), adapter_files(directory))
    predictor = service_predictor(service, EVAL_NAME, data.task, batch_size)
    return evaluate(data.task, spec.head_kind, catalog.metrics[spec.metric], examples, predictor)
