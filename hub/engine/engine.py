"""One forward pass for a batch whose rows use different adapters and different heads."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from adapters_registry.manifest import HeadKind, Pooling
from hub.engine.backbone import Backbone
from hub.engine.lora_layer import RowDelta, wrap_linears
from hub.engine.packing import LoraPair, PackedAdapter, PackedHead
from hub.results import HeadScores


@dataclass(frozen=True)
class Row:
    text: str
    adapter: PackedAdapter | None
    head: PackedHead


class Engine:
    """Owns the wrapped backbone; ``run`` is serialized (one forward at a time)."""

    def __init__(self, backbone: Backbone) -> None:
        self.backbone = backbone
        self.layers = wrap_linears(backbone.model)
        self._lock = threading.Lock()

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text, special tokens included (for request validation)."""
        encoded = self.backbone.tokenizer(list(texts), add_special_tokens=True)  # type: ignore[operator]
        return [len(ids) for ids in encoded["input_ids"]]

    def run(self, rows: Sequence[Row]) -> list[HeadScores]:
        with self._lock, torch.inference_mode():
            encoded = self.backbone.tokenizer(  # type: ignore[operator]
                [r.text for r in rows],
                padding=True,
                return_offsets_mapping=True,
                return_tensors="pt",
            )
            offsets = encoded.pop("offset_mapping").numpy()
            word_ids = [[-1 if w is None else w for w in encoded.word_ids(i)] for i in range(len(rows))]
            inputs = {k: v.to(self.backbone.device) for k, v in encoded.items()}
            self._install(rows)
            try:
                output = self.backbone.model(**inputs)
            finally:
                self._clear()
            mask = inputs["attention_mask"]
            return self._apply_heads(rows, output, mask, offsets, np.asarray(word_ids))

    # ---- LoRA plan ----------------------------------------------------------------------
    def _install(self, rows: Sequence[Row]) -> None:
        adapters: dict[int, PackedAdapter] = {id(r.adapter): r.adapter for r in rows if r.adapter}
        if not adapters:
            return
        row_adapter = [r.adapter for r in rows]
        for name in {n for a in adapters.values() for n in a.layers}:
            self.layers[name].delta = self._layer_delta(name, row_adapter, list(adapters.values()))

    def _layer_delta(
        self, name: str, row_adapter: list[PackedAdapter | None], adapters: list[PackedAdapter]
    ) -> RowDelta:
        users = [a for a in adapters if name in a.layers]
        rows = [i for i, a in enumerate(row_adapter) if a is not None and name in a.layers]
        every_row = len(rows) == len(row_adapter)
        if len(users) == 1 and every_row:
            pair = users[0].layers[name]
            return RowDelta(None, pair.a, pair.b)
        rank = max(a.layers[name].rank for a in users)
        position = {id(a): i for i, a in enumerate(users)}
        stacked_a = torch.stack([_pad_a(a.layers[name], rank) for a in users])
        stacked_b = torch.stack([_pad_b(a.layers[name], rank) for a in users])
        device = stacked_a.device
        pick = torch.tensor([position[id(row_adapter[i])] for i in rows], device=device)
        row_index = None if every_row else torch.tensor(rows, device=device)
        return RowDelta(row_index, stacked_a.index_select(0, pick), stacked_b.index_select(0, pick))

    def _clear(self) -> None:
        for layer in self.layers.values():
            layer.delta = None

    # ---- heads --------------------------------------------------------------------------
    def _apply_heads(
        self,
        rows: Sequence[Row],
        output: object,
        mask: torch.Tensor,
        offsets: np.ndarray,
        word_ids: np.ndarray,
    ) -> list[HeadScores]:
        hidden = output.last_hidden_state  # type: ignore[attr-defined]
        pooled = getattr(output, "pooler_output", None)
        groups: dict[int, list[int]] = {}
        for i, row in enumerate(rows):
            groups.setdefault(id(row.head), []).append(i)
        results: list[HeadScores | None] = [None] * len(rows)
        lengths = mask.sum(dim=1).tolist()
        for indices in groups.values():
            head = rows[indices[0]].head
            index = torch.tensor(indices, device=hidden.device)
            if head.kind is HeadKind.TOKEN:
                logits = hidden.index_select(0, index) @ head.weight.t() + head.bias
                probs = logits.float().softmax(dim=-1).cpu().numpy()
                for j, i in enumerate(indices):
                    n = int(lengths[i])
                    results[i] = HeadScores(probs[j, :n], offsets[i, :n], word_ids[i, :n])
                continue
            features = _pool(head.pooling, hidden, pooled, mask, index)
            logits = (features @ head.weight.t() + head.bias).float()
            activation = torch.sigmoid if head.kind is HeadKind.MULTI_LABEL else _softmax
            probs = activation(logits).cpu().numpy()
            for j, i in enumerate(indices):
                results[i] = HeadScores(probs[j])
        return [r for r in results if r is not None]


def _softmax(logits: torch.Tensor) -> torch.Tensor:
    return logits.softmax(dim=-1)


def _pool(
    pooling: Pooling,
    hidden: torch.Tensor,
    pooled: torch.Tensor | None,
    mask: torch.Tensor,
    index: torch.Tensor,
) -> torch.Tensor:
    if pooling is Pooling.POOLER:
        if pooled is None:
            raise ValueError("this backbone has no pooler; use a head with cls or mean pooling")
        return pooled.index_select(0, index)
    states = hidden.index_select(0, index)
    if pooling is Pooling.CLS:
        return states[:, 0]
    weights = mask.index_select(0, index).unsqueeze(-1).to(states.dtype)
    return (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def _pad_a(pair: LoraPair, rank: int) -> torch.Tensor:
    return F.pad(pair.a, (0, rank - pair.rank)) if pair.rank < rank else pair.a


def _pad_b(pair: LoraPair, rank: int) -> torch.Tensor:
    return F.pad(pair.b, (0, 0, 0, rank - pair.rank)) if pair.rank < rank else pair.b
