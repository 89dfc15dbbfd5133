"""The model being trained: the backbone (LoRA-wrapped, fully trainable, or frozen) plus heads.

Heads are computed exactly as the serving engine computes them (the same head-kind objects:
features, activation, scores; the same encoding and padding), so what the trainer measures on
its dev set is what the hub will serve.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from torch import nn

from hub.engine.backbone import Backbone
from hub.engine.head_kinds import engine_kind
from hub.engine.head_layers import HeadNet
from hub.engine.tokens import encode, pad
from hub.engine.train.encode import Batch
from hub.engine.train.layouts import backbone_targets, init_from_checkpoint, resolve_layout
from hub.engine.train.types import HeadLayout, Mode, TaskData, TrainOptions
from hub.tasks.results import HeadScores

PRIOR_FLOOR = 1e-4  # labels never seen in training start at this frequency


def head_key(task: str) -> str:
    return task.replace(".", "__")  # ModuleDict keys may not contain dots


class TrainModel(nn.Module):
    def __init__(self, backbone: Backbone, tasks: Sequence[TaskData], options: TrainOptions) -> None:
        super().__init__()
        self.backbone = backbone
        self.mode = options.mode
        self.tasks = {t.task: t for t in tasks}
        self.target_modules = options.target_modules or backbone_targets(backbone.spec)
        self.layouts: dict[str, HeadLayout] = {
            t.task: resolve_layout(options.head_layers, backbone.spec, engine_kind(t.head_kind).per_token, t.pooling)
            for t in tasks
        }
        model = backbone.model
        if options.mode is Mode.FULL:
            model.requires_grad_(True)
            self.encoder: nn.Module = model
        else:
            from peft import LoraConfig, get_peft_model

            config = LoraConfig(
                r=options.rank,
                lora_alpha=options.alpha if options.alpha is not None else 2 * options.rank,
                lora_dropout=options.lora_dropout,
                target_modules=list(self.target_modules),
                bias="none",
            )
            with warnings.catch_warnings():  # transformers' deprecation notes, via peft
                warnings.simplefilter("ignore", FutureWarning)
                self.encoder = get_peft_model(model, config)
            if options.mode is Mode.HEAD_ONLY:
                self.encoder.requires_grad_(False)  # lora_B stays zero: the update is nil
        hidden = int(backbone.spec.hidden_size)
        self.heads = nn.ModuleDict(
            {head_key(t.task): HeadNet(hidden, len(t.labels), self.layouts[t.task].layers) for t in tasks}
        )
        for head in self.heads.values():
            assert isinstance(head, HeadNet)
            init_from_checkpoint(head, backbone.spec)
        self.pos_weight: dict[str, torch.Tensor] = {}
        self._encoder_frozen = not self.encoder_trainable()

    def init_head_bias(self, task: TaskData, frequencies: list[float]) -> None:
        """Start each head at the training data's label prior: log-frequency for softmax heads,
        log-odds for sigmoid ones. Otherwise the first steps spend their gradient, through the
        encoder too, on learning how rare a label is; with rare multi-label categories that can
        collapse the LoRA-adapted features to one point before any text is told apart."""
        p = torch.tensor(frequencies).clamp(PRIOR_FLOOR, 1.0 - PRIOR_FLOOR)
        bias = engine_kind(task.head_kind).prior_bias(p)
        head = self.heads[head_key(task.task)]
        assert isinstance(head, HeadNet)
        with torch.no_grad():
            head.classifier.bias.copy_(bias.to(head.classifier.bias.device))

    # ---- parameters --------------------------------------------------------------------
    def encoder_trainable(self) -> list[nn.Parameter]:
        return [p for p in self.encoder.parameters() if p.requires_grad]

    def head_parameters(self) -> list[nn.Parameter]:
        return list(self.heads.parameters())

    def trainable_count(self) -> int:
        return sum(p.numel() for p in (*self.encoder_trainable(), *self.head_parameters()))

    def trainable_state(self) -> dict[str, torch.Tensor]:
        """A copy of every trainable tensor (for keeping the best checkpoint in memory)."""
        return {n: p.detach().clone() for n, p in self.named_parameters() if p.requires_grad}

    def load_trainable_state(self, state: dict[str, torch.Tensor]) -> None:
        params = dict(self.named_parameters())
        with torch.no_grad():
            for name, value in state.items():
                params[name].copy_(value)

    # ---- forward -----------------------------------------------------------------------
    def _encode(self, inputs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
        if not self._encoder_frozen:
            output = self.encoder(**inputs)
        else:
            with torch.no_grad():
                output = self.encoder(**inputs)
        return output.last_hidden_state, getattr(output, "pooler_output", None)

    def logits(
        self, task: TaskData, hidden: torch.Tensor, pooled: torch.Tensor | None, mask: torch.Tensor
    ) -> torch.Tensor:
        head = self.heads[head_key(task.task)]
        index = torch.arange(hidden.shape[0], device=hidden.device)
        pooling = self.layouts[task.task].pooling
        return head(engine_kind(task.head_kind).features(pooling, hidden, pooled, mask, index))

    def loss(self, batch: Batch) -> torch.Tensor:
        task = self.tasks[batch.task]
        inputs = {k: v.to(self.backbone.device) for k, v in batch.inputs.items()}
        targets = batch.targets.to(self.backbone.device)
        hidden, pooled = self._encode(inputs)
        logits = self.logits(task, hidden, pooled, inputs["attention_mask"])
        return engine_kind(task.head_kind).loss(logits, targets, self.pos_weight.get(task.task))

    # ---- serving-equivalent scoring ----------------------------------------------------
    @torch.no_grad()
    def score(self, task_name: str, texts: list[str], batch_size: int) -> list[HeadScores]:
        """What the serving engine returns for these texts (no truncation, same decoding input)."""
        task = self.tasks[task_name]
        was_training = self.training
        self.eval()
        results: list[HeadScores | None] = [None] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        try:
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                for i, scores in zip(rows, self._score_batch(task, [texts[i] for i in rows]), strict=True):
                    results[i] = scores
        finally:
            self.train(was_training)
        return [r for r in results if r is not None]

    def _score_batch(self, task: TaskData, texts: list[str]) -> list[HeadScores]:
        tokenizer = self.backbone.tokenizer
        encodings = encode(tokenizer, texts)
        padded = pad(encodings, int(getattr(tokenizer, "pad_token_id", 0) or 0))
        inputs = {k: torch.from_numpy(a).to(self.backbone.device) for k, a in padded.items()}
        hidden, pooled = self._encode(inputs)
        kind = engine_kind(task.head_kind)
        probs = kind.activate(self.logits(task, hidden, pooled, inputs["attention_mask"]).float()).cpu().numpy()
        return [kind.row_scores(probs[j], e) for j, e in enumerate(encodings)]
