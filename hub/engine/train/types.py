"""Torch-free values shared by the training orchestration and the engine's training loop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from adapters_registry.manifest import ACTIVATIONS, BackboneSpec, HeadKind, HeadLayer, LayerType, Pooling
from hub.errors import InvalidArgument
from hub.tasks.results import HeadScores
from hub.tasks.text import OffsetMap

FAMILY_HEAD = "family"  # --head-layers family: the head the backbone family's task models build


def parse_head_layers(text: str) -> tuple[HeadLayer, ...] | str:
    """``--head-layers``: "" (the classifier alone), ``family``, or a comma-separated list of
    ``linear``, ``layer_norm`` and activations (e.g. ``linear,tanh``); each linear keeps the width."""
    text = text.strip()
    if text in ("", FAMILY_HEAD):
        return text
    layers: list[HeadLayer] = []
    counts: dict[str, int] = {}
    for item in (x.strip() for x in text.split(",")):
        base = {"linear": "dense", "layer_norm": "norm"}.get(item)
        if base is not None:
            n = counts[base] = counts.get(base, 0) + 1
            layers.append(HeadLayer(LayerType(item), name=base if n == 1 else f"{base}_{n}"))
        elif item in ACTIVATIONS:
            layers.append(HeadLayer(LayerType.ACTIVATION, function=item))
        else:
            raise InvalidArgument(
                f"--head-layers: {item!r} is not a layer; use {FAMILY_HEAD!r} or a list of linear, layer_norm "
                f"and activations ({', '.join(ACTIVATIONS)})"
            )
    return tuple(layers)


@dataclass(frozen=True)
class HeadLayout:
    """How a trained head reads the backbone: its pooling and the layers before its classifier."""

    pooling: Pooling
    layers: tuple[HeadLayer, ...] = ()


class Mode(StrEnum):
    LORA = "lora"  # LoRA on the frozen backbone + heads: the hub's artifact
    FULL = "full"  # every backbone weight trained (a baseline; the hub cannot serve it)
    HEAD_ONLY = "head_only"  # frozen backbone, heads only (a baseline; served with a zero LoRA)


@dataclass(frozen=True)
class Span:
    """A gold entity: character offsets into the example's text (end exclusive)."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class TrainExample:
    """One training example as the model reads it.

    ``text`` is the model-facing text (after the task's preprocessors). Sequence tasks:
    ``labels`` holds one label; multi-label tasks: any number (none = no label). Token tasks:
    ``spans`` are the gold entities in the ORIGINAL text and ``offsets`` maps ``text`` back to
    it (None: ``text`` is the original).
    """

    text: str
    labels: tuple[str, ...] = ()
    spans: tuple[Span, ...] = ()
    offsets: OffsetMap | None = None


@dataclass
class TaskData:
    task: str
    head_kind: HeadKind
    labels: list[str]  # head outputs, in order (BIO tags for token tasks)
    train: list[TrainExample]
    pooling: Pooling | None = None  # None: mean, or the family's pooling with --head-layers family
    threshold: float = 0.5


@dataclass
class TrainOptions:
    backbone: str = "packaged:all-minilm-l6-v2"
    mode: Mode = Mode.LORA
    rank: int = 8
    alpha: int | None = None  # None: 2 * rank
    lora_dropout: float = 0.1
    target_modules: tuple[str, ...] = ()  # (): every Linear of the backbone, by its own names
    head_layers: str = ""  # parse_head_layers: "", "family" or a list such as "linear,tanh"
    lr: float = 1e-3
    head_lr: float | None = None  # None: same as lr
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_grad_norm: float = 1.0
    pos_weight: float | None = None  # multi-label heads: weight of positive labels in the loss
    epochs: float = 3.0
    max_steps: int | None = None  # overrides epochs
    batch_size: int = 32
    eval_batch_size: int = 64
    max_seq_length: int = 128
    seed: int = 0
    eval_every: int | None = None  # steps between dev evaluations; None: once per epoch
    patience: int | None = None  # evaluations without improvement before stopping
    threads: int | None = None  # torch CPU threads; None: torch's default
    device: str = "cpu"
    save_dtype: str = "float32"  # the artifact's tensors: float32 | float16 | bfloat16

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["mode"] = self.mode.value
        data["target_modules"] = list(self.target_modules)
        return data


@dataclass(frozen=True)
class StepRecord:
    step: int
    epoch: float
    loss: float  # mean training loss since the previous record
    lr: float


@dataclass(frozen=True)
class EvalRecord:
    step: int
    epoch: float
    score: float  # the value early stopping watches (mean of the tasks' primary metrics)
    metrics: dict[str, dict[str, float]]  # task -> metric name -> value


@dataclass
class History:
    steps: list[StepRecord] = field(default_factory=list)
    evals: list[EvalRecord] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"steps": [asdict(s) for s in self.steps], "evals": [asdict(e) for e in self.evals]}


# (task, texts) -> what the serving engine would return for those texts
Scorer = Callable[[str, list[str]], list[HeadScores]]


@dataclass(frozen=True)
class DevResult:
    score: float
    metrics: dict[str, dict[str, float]]


# Scores every task's dev set with the given scorer and computes the tasks' metrics.
DevEvaluator = Callable[[Scorer], DevResult]


class Observer:
    """Progress callbacks from the training loop (the CLI draws a progress bar with them)."""

    def start(self, total_steps: int) -> None:
        """Called once, before the first step."""

    def step(self, step: int, loss: float) -> None:
        """Called after every optimizer step with that step's loss."""

    def evaluated(self, record: EvalRecord, best: bool) -> None:
        """Called after every dev evaluation."""

    def close(self) -> None:
        """Called once, after the last step (also on failure)."""


@dataclass
class TrainOutcome:
    files: dict[str, bytes]  # PEFT + heads files; empty for a full fine-tune
    history: History
    best: EvalRecord | None
    steps: int
    seconds: float
    trainable_parameters: int
    backbone_parameters: int
    backbone: BackboneSpec
    stopped_early: bool = False
    options: TrainOptions | None = None  # as run: the default target modules resolved
    heads: dict[str, HeadLayout] = field(default_factory=dict)  # task -> how its head was trained
