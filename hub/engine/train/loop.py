"""The training loop: seeded, length-bucketed multi-task batches, AdamW with linear warm-up and
decay, dev evaluation with early stopping on the dev metric, best weights restored at the end."""

from __future__ import annotations

import dataclasses
import json
import math
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from adapters_registry.manifest import HEADS_FILE, PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE
from hub.engine.backbone import load_backbone
from hub.engine.head_kinds import engine_kind
from hub.engine.head_layers import HeadNet
from hub.engine.train.encode import Batch, EncodedTask, collate, encode_task, epoch_batches, label_frequencies
from hub.engine.train.model import TrainModel, head_key
from hub.engine.train.types import (
    DevEvaluator,
    EvalRecord,
    History,
    Mode,
    Observer,
    StepRecord,
    TaskData,
    TrainOptions,
    TrainOutcome,
)

SAVE_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
MAX_LOSS_POINTS = 200  # loss records kept for the curves, whatever the run length


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (1 << 32))
    torch.manual_seed(seed)


def run_training(
    tasks: list[TaskData],
    options: TrainOptions,
    evaluate: DevEvaluator | None = None,
    observer: Observer | None = None,
    base: dict[str, bytes] | None = None,
) -> TrainOutcome:
    """Train, keep the weights of the best dev evaluation, return the artifact's tensor files.
    ``base``: a domain adapter's files, applied and frozen under what is trained (train/base.py)."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # ours is the one progress bar
    observer = observer or Observer()
    if options.threads:
        torch.set_num_threads(options.threads)
    backbone = load_backbone(options.backbone, device=options.device)
    backbone_parameters = backbone.parameters  # before LoRA layers join the module tree
    if base is not None:
        from hub.engine.train.base import merge_base

        merge_base(backbone, base)  # after fingerprinting: the artifact records the bare backbone's
    seed_everything(options.seed)
    model = TrainModel(backbone, tasks, options)
    encoded = [encode_task(backbone.tokenizer, t, options.max_seq_length) for t in tasks]
    _set_pos_weights(model, options)
    for task in encoded:
        model.init_head_bias(task.data, label_frequencies(task))
    started = time.perf_counter()
    loop = _Loop(model, encoded, options, evaluate, observer)
    loop.run()
    seconds = time.perf_counter() - started
    files = {} if options.mode is Mode.FULL else export_files(model, options)
    return TrainOutcome(
        files=files,
        history=loop.history,
        best=loop.best,
        steps=loop.step,
        seconds=seconds,
        trainable_parameters=model.trainable_count(),
        backbone_parameters=backbone_parameters,
        backbone=backbone.spec,
        stopped_early=loop.stopped,
        options=dataclasses.replace(options, target_modules=tuple(model.target_modules)),
        heads=dict(model.layouts),
    )


def _set_pos_weights(model: TrainModel, options: TrainOptions) -> None:
    """Multi-label heads: weigh positive labels (rare in most corpora) by ``pos_weight``."""
    if options.pos_weight is None:
        return
    for task in model.tasks.values():
        if engine_kind(task.head_kind).uses_pos_weight:
            model.pos_weight[task.task] = torch.full(
                (len(task.labels),), options.pos_weight, device=model.backbone.device
            )


def _optimizer(model: TrainModel, options: TrainOptions) -> torch.optim.Optimizer:
    head_lr = options.head_lr if options.head_lr is not None else options.lr
    groups = []
    for params, lr in ((model.encoder_trainable(), options.lr), (model.head_parameters(), head_lr)):
        decay = [p for p in params if p.dim() >= 2]
        plain = [p for p in params if p.dim() < 2]
        groups += [
            {"params": decay, "lr": lr, "weight_decay": options.weight_decay},
            {"params": plain, "lr": lr, "weight_decay": 0.0},
        ]
    return torch.optim.AdamW([g for g in groups if g["params"]])


def _schedule(total: int, warmup_ratio: float) -> Callable[[int], float]:
    """Linear warm-up over the first ``warmup_ratio`` of the steps, then linear decay to 0."""
    warmup = max(1, round(total * warmup_ratio))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


class _Loop:
    """One training run's mutable state: steps, loss window, best evaluation and its weights."""

    def __init__(
        self,
        model: TrainModel,
        encoded: list[EncodedTask],
        options: TrainOptions,
        evaluate: DevEvaluator | None,
        observer: Observer,
    ) -> None:
        self.model, self.encoded, self.options = model, encoded, options
        self.evaluate, self.observer = evaluate, observer
        self.per_epoch = sum(math.ceil(len(t.input_ids) / options.batch_size) for t in encoded)
        self.total = options.max_steps or max(1, math.ceil(options.epochs * self.per_epoch))
        self.eval_every = options.eval_every or self.per_epoch
        self.log_every = max(1, self.total // MAX_LOSS_POINTS)
        self.optimizer = _optimizer(model, options)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, _schedule(self.total, options.warmup_ratio))
        self.params = [p for group in self.optimizer.param_groups for p in group["params"]]
        self.pad_id = int(model.backbone.tokenizer.pad_token_id or 0)  # type: ignore[attr-defined]
        self.history = History()
        self.best: EvalRecord | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self.step = 0
        self.bad = 0
        self.stopped = False
        self.window: list[float] = []

    def run(self) -> None:
        rng = random.Random(self.options.seed)
        self.model.train()
        self.observer.start(self.total)
        try:
            while self.step < self.total and not self.stopped:
                for t, rows in epoch_batches(self.encoded, self.options.batch_size, rng):
                    self._train_step(collate(self.encoded[t], rows, self.pad_id))
                    if self.evaluate is not None and (self.step % self.eval_every == 0 or self.step == self.total):
                        self._evaluate(self.evaluate)
                    if self.step >= self.total or self.stopped:
                        break
        finally:
            self.observer.close()
        if self.best_state is not None:
            self.model.load_trainable_state(self.best_state)
        if self.options.mode is not Mode.FULL and self.options.save_dtype != "float32":
            self._round_to_saved_dtype()
        self.model.eval()

    def _round_to_saved_dtype(self) -> None:
        """Make the weights in memory exactly what the artifact will hold, and measure those."""
        dtype = SAVE_DTYPES[self.options.save_dtype]
        with torch.no_grad():
            for p in self.params:
                p.copy_(p.to(dtype).to(p.dtype))
        if self.evaluate is not None and self.best is not None:
            batch_size = self.options.eval_batch_size
            result = self.evaluate(lambda task, texts: self.model.score(task, texts, batch_size))
            self.best = EvalRecord(self.best.step, self.best.epoch, result.score, result.metrics)

    def _train_step(self, batch: Batch) -> None:
        loss = self.model.loss(batch)
        loss.backward()
        if self.options.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.params, self.options.max_grad_norm)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        lr = float(self.scheduler.get_last_lr()[0])
        self.scheduler.step()
        self.step += 1
        self.window.append(float(loss.detach()))
        self.observer.step(self.step, self.window[-1])
        if self.step % self.log_every == 0 or self.step == self.total:
            mean = sum(self.window) / len(self.window)
            self.history.steps.append(StepRecord(self.step, round(self.step / self.per_epoch, 4), mean, lr))
            self.window = []

    def _evaluate(self, evaluate: DevEvaluator) -> None:
        batch_size = self.options.eval_batch_size
        result = evaluate(lambda task, texts: self.model.score(task, texts, batch_size))
        record = EvalRecord(self.step, round(self.step / self.per_epoch, 4), result.score, result.metrics)
        self.history.evals.append(record)
        improved = self.best is None or record.score > self.best.score
        if improved:
            self.best, self.best_state, self.bad = record, self.model.trainable_state(), 0
        else:
            self.bad += 1
        self.observer.evaluated(record, improved)
        if self.options.patience is not None and self.bad >= self.options.patience:
            self.stopped = True


def export_files(model: TrainModel, options: TrainOptions) -> dict[str, bytes]:
    """adapter_config.json + adapter_model.safetensors as PEFT's save_pretrained writes them (the
    base model path replaced by the backbone's name; tensors in ``save_dtype``), heads.safetensors."""
    dtype = SAVE_DTYPES[options.save_dtype]
    with tempfile.TemporaryDirectory(prefix="adapter-hub-export-") as tmp:
        from peft import PeftModel

        assert isinstance(model.encoder, PeftModel)
        model.encoder.save_pretrained(tmp)
        config = json.loads((Path(tmp) / PEFT_CONFIG_FILE).read_text())
        config["base_model_name_or_path"] = _base_name(options.backbone, model.backbone.name)
        files = {
            PEFT_CONFIG_FILE: (json.dumps(config, indent=2, sort_keys=True) + "\n").encode(),
            PEFT_WEIGHTS_FILE: _cast((Path(tmp) / PEFT_WEIGHTS_FILE).read_bytes(), dtype),
        }
    heads: dict[str, torch.Tensor] = {}
    for task in model.tasks:
        head = model.heads[head_key(task)]
        assert isinstance(head, HeadNet)
        heads.update({name: t.to(dtype).cpu().contiguous() for name, t in head.tensors(task).items()})
    files[HEADS_FILE] = save_safetensors(heads)
    return files


def _cast(data: bytes, dtype: torch.dtype) -> bytes:
    if dtype is torch.float32:
        return data
    tensors = load_safetensors(data)
    return save_safetensors({k: v.to(dtype).contiguous() for k, v in tensors.items()}, metadata={"format": "pt"})


def _base_name(requested: str, name: str) -> str:
    """The backbone as the user named it, never a path of this machine."""
    return requested if requested.startswith("packaged:") else name
