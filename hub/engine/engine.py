"""One forward pass for a batch whose rows use different adapters and different heads.

Per call: place the batch's adapters in the bank (a no-op when resident), sort the rows so
each rank bucket's rows are contiguous (rows without adapter last), tokenize in that order,
set one plan shared by every wrapped Linear, run the backbone once, apply each head to its
rows, and hand the scores back in the caller's order.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from adapters_registry.manifest import HeadKind, Pooling
from hub.engine.backbone import Backbone
from hub.engine.bank import LoraBank, Placement
from hub.engine.lora_layer import BatchPlan, LoraContext, RowGroup, wrap_linears
from hub.engine.packing import PackedAdapter, PackedHead
from hub.engine.precision import check_quantize, quantize_linears
from hub.results import HeadScores


@dataclass(frozen=True)
class Row:
    text: str
    adapter: PackedAdapter | None
    head: PackedHead


class Engine:
    """Owns the wrapped backbone and its LoRA bank; ``run`` is serialized (one forward at a time)."""

    def __init__(self, backbone: Backbone, quantize: str = "none", bank_bytes: int = 1 << 30) -> None:
        check_quantize(quantize, backbone.device, backbone.dtype)
        self.backbone = backbone
        self.quantize = quantize
        self.context = LoraContext()
        self.layers = wrap_linears(backbone.model, self.context)
        shapes = {name: (m.in_features, m.out_features) for name, m in self.layers.items()}
        if quantize == "int8":
            quantize_linears(backbone.model)
        self.bank = LoraBank(shapes, backbone.device, backbone.dtype, bank_bytes)
        self._lock = threading.Lock()
        # A fast tokenizer keeps its padding state in shared Rust state: a padded batch on one
        # thread and an unpadded count on another corrupt each other. Each use has its own copy.
        self._tokenizer = copy.deepcopy(backbone.tokenizer)
        self._counter = copy.deepcopy(backbone.tokenizer)
        self._count_lock = threading.Lock()

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text, special tokens included (for request validation; any thread)."""
        with self._count_lock:
            encoded = self._counter(list(texts), add_special_tokens=True)  # type: ignore[operator]
        return [len(ids) for ids in encoded["input_ids"]]

    def run(self, rows: Sequence[Row]) -> list[HeadScores]:
        if not rows:
            return []
        with self._lock, torch.inference_mode():
            order, plan = self._plan(rows)
            ordered = [rows[i] for i in order]
            encoded = self._tokenizer(  # type: ignore[operator]
                [r.text for r in ordered],
                padding=True,
                return_offsets_mapping=True,
                return_tensors="pt",
            )
            offsets = encoded.pop("offset_mapping").numpy()
            inputs = {k: self._to_device(v) for k, v in encoded.items()}
            output = self._forward(inputs, plan)
            scores = apply_heads(ordered, output, inputs["attention_mask"], offsets, encoded)
        results: list[HeadScores] = [scores[0]] * len(rows)
        for position, index in enumerate(order):
            results[index] = scores[position]
        return results

    def forward_encoded(self, rows: Sequence[Row], inputs: dict[str, torch.Tensor]) -> object:
        """One forward of already tokenized rows (benchmarks): the backbone output, rows sorted
        as the plan wants them (heads not applied)."""
        with self._lock, torch.inference_mode():
            order, plan = self._plan(rows)
            index = self._to_device(torch.tensor(order, dtype=torch.long))
            return self._forward({k: v.index_select(0, index) for k, v in inputs.items()}, plan)

    def _forward(self, inputs: dict[str, torch.Tensor], plan: BatchPlan | None) -> object:
        self.context.plan = plan
        try:
            return self.backbone.model(**inputs)
        finally:
            self.context.plan = None

    # ---- LoRA plan ----------------------------------------------------------------------
    def _plan(self, rows: Sequence[Row]) -> tuple[list[int], BatchPlan | None]:
        """Row order (by bucket, target set and slot; no adapter last) and its row groups."""
        distinct: dict[int, PackedAdapter] = {}
        for row in rows:
            if row.adapter is not None:
                distinct.setdefault(row.adapter.uid, row.adapter)
        if not distinct:
            return list(range(len(rows))), None
        placed = self.bank.place(list(distinct.values()))
        target_sets: dict[frozenset[str], int] = {}
        keys: list[tuple[int, int, int, int]] = []
        for row in rows:
            if row.adapter is None:
                keys.append((1, 0, 0, 0))
                continue
            p = placed[row.adapter.uid]
            keys.append((0, p.bucket, target_sets.setdefault(p.layers, len(target_sets)), p.slot))
        order = sorted(range(len(rows)), key=keys.__getitem__)
        groups: list[RowGroup] = []
        start = 0
        while start < len(order) and keys[order[start]][0] == 0:
            end = start
            while end < len(order) and keys[order[end]][:3] == keys[order[start]][:3]:
                end += 1
            adapters = [rows[i].adapter for i in order[start:end]]
            groups.append(self._group(start, end, [placed[a.uid] for a in adapters if a]))
            start = end
        return order, BatchPlan(groups)

    def _group(self, start: int, end: int, placements: list[Placement]) -> RowGroup:
        first = placements[0]
        bucket = self.bank.buckets[first.bucket]
        slots = [p.slot for p in placements]
        single = slots[0] == slots[-1]  # sorted by slot: one adapter iff first == last
        index = None if single else self._to_device(torch.tensor(slots, dtype=torch.long))
        return RowGroup(start, end, first.layers, bucket.a, bucket.b, index, first.slot)

    def _to_device(self, tensor: torch.Tensor) -> torch.Tensor:
        device = self.backbone.device
        if device.type == "cuda":
            return tensor.pin_memory().to(device, non_blocking=True)
        return tensor


def apply_heads(
    rows: Sequence[Row],
    output: object,
    mask: torch.Tensor,
    offsets: np.ndarray,
    encoded: object,
) -> list[HeadScores]:
    """Each row's head on the backbone output (rows in the order they were encoded)."""
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
                words = [-1 if w is None else w for w in encoded.word_ids(i)[:n]]  # type: ignore[attr-defined]
                results[i] = HeadScores(probs[j, :n], offsets[i, :n], np.array(words))
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
