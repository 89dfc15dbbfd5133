"""One batch of rows with different adapters and different heads, at about the bare backbone's cost.

Per call: place the batch's adapters in the bank (a no-op when resident), take each row's tokens
(encoded once per text by ``Engine.encode`` on the request's thread; rows without them are
encoded here), split the rows into forwards of similar lengths (``chunking``), and for each forward
sort its rows so each bank bucket's rows are contiguous (rows without adapter last), pad, set
one plan shared by every wrapped Linear, run the backbone, apply each head to its rows. Scores
come back in the caller's order.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from hub.engine.backbone import Backbone
from hub.engine.bank import LoraBank, Placement
from hub.engine.chunking import split_by_length
from hub.engine.heads import apply_heads
from hub.engine.lora_layer import BatchPlan, LoraContext, RowGroup, wrap_linears
from hub.engine.packing import PackedAdapter, PackedHead
from hub.engine.precision import check_quantize, quantize_linears
from hub.engine.tokens import Encoded, encode, pad
from hub.tasks.results import HeadScores

# The fixed cost of one more forward, in tokens of work: on a CPU compute follows tokens and a
# forward's Python/dispatch overhead is worth a few dozen tokens; on a GPU small forwards are
# launch-bound, so a batch is split only when padding would be very large.
SPLIT_OVERHEAD_TOKENS = {"cpu": 64, "cuda": 4096}
MAX_FORWARD_TOKENS = 16384  # padded tokens per forward (bounds activation memory)


@dataclass(frozen=True)
class Row:
    text: str
    adapter: PackedAdapter | None
    head: PackedHead
    encoded: Encoded | None = None  # the text's tokens from Engine.encode; None: encoded by run


class Engine:
    """Owns the wrapped backbone and its LoRA bank; ``run`` is serialized (one batch at a time)."""

    def __init__(
        self,
        backbone: Backbone,
        quantize: str = "none",
        bank_bytes: int = 1 << 30,
        split_overhead: int | None = None,
        max_forward_tokens: int = MAX_FORWARD_TOKENS,
    ) -> None:
        check_quantize(quantize, backbone.device, backbone.dtype)
        self.backbone = backbone
        self.quantize = quantize
        self.context = LoraContext()
        self.layers = wrap_linears(backbone.model, self.context)
        shapes = {name: (m.in_features, m.out_features) for name, m in self.layers.items()}
        if quantize == "int8":
            quantize_linears(backbone.model)
        self.bank = LoraBank(shapes, backbone.device, backbone.dtype, bank_bytes)
        default_overhead = SPLIT_OVERHEAD_TOKENS.get(backbone.device.type, 4096)
        self.split_overhead = default_overhead if split_overhead is None else split_overhead
        self.max_forward_tokens = max_forward_tokens
        self._lock = threading.Lock()
        # A fast tokenizer keeps its padding state in shared Rust state: a padded batch on one
        # thread and an unpadded encoding on another corrupt each other. The engine encodes with
        # its own copy, one call at a time; nobody else (training, benchmarks) uses that copy.
        self._tokenizer = copy.deepcopy(backbone.tokenizer)
        self._encode_lock = threading.Lock()
        self._pad_id = int(getattr(backbone.tokenizer, "pad_token_id", 0) or 0)
        self.forwards = 0

    def encode(self, texts: Sequence[str]) -> list[Encoded]:
        """Each text's tokens, special tokens included, no padding (any thread): callers count
        them for validation and hand them to ``run`` in their Row, which then does not tokenize."""
        with self._encode_lock:
            return encode(self._tokenizer, texts)

    def run(self, rows: Sequence[Row]) -> list[HeadScores]:
        if not rows:
            return []
        results: list[HeadScores | None] = [None] * len(rows)
        with self._lock, torch.inference_mode():
            placed = self._place(rows)
            encodings = self._encodings(rows)
            lengths = [e.tokens for e in encodings]
            by_length = sorted(range(len(rows)), key=lengths.__getitem__)
            chunks = split_by_length([lengths[i] for i in by_length], self.split_overhead, self.max_forward_tokens)
            for start, end in chunks:
                chunk = by_length[start:end]
                order, plan = self._plan([rows[i] for i in chunk], placed)
                members = [chunk[p] for p in order]
                inputs = self._pad([encodings[i] for i in members])
                output = self._forward(inputs, plan)
                member_rows = [rows[i] for i in members]
                scores = apply_heads(member_rows, output, inputs["attention_mask"], [encodings[i] for i in members])
                for i, score in zip(members, scores, strict=True):
                    results[i] = score
        return [r for r in results if r is not None]

    def _encodings(self, rows: Sequence[Row]) -> list[Encoded]:
        """Each row's tokens: as the request encoded them, else encoded now (tests, benchmarks)."""
        missing = [i for i, row in enumerate(rows) if row.encoded is None]
        fresh = dict(zip(missing, self.encode([rows[i].text for i in missing]), strict=True)) if missing else {}
        return [row.encoded if row.encoded is not None else fresh[i] for i, row in enumerate(rows)]

    def forward_encoded(self, rows: Sequence[Row], inputs: dict[str, torch.Tensor]) -> object:
        """One forward of already tokenized rows (benchmarks): the backbone output, rows sorted
        as the plan wants them (heads not applied, no length split)."""
        with self._lock, torch.inference_mode():
            order, plan = self._plan(rows, self._place(rows))
            index = self._to_device(torch.tensor(order, dtype=torch.long))
            return self._forward({k: v.index_select(0, index) for k, v in inputs.items()}, plan)

    def _forward(self, inputs: dict[str, torch.Tensor], plan: BatchPlan | None) -> object:
        self.forwards += 1
        self.context.threads = torch.get_num_threads()
        self.context.plan = plan
        try:
            return self.backbone.model(**inputs)
        finally:
            self.context.plan = None

    def _pad(self, rows: Sequence[Encoded]) -> dict[str, torch.Tensor]:
        """The rows' token ids (and masks, token types) padded to the longest, on the device."""
        return {k: self._to_device(torch.from_numpy(a)) for k, a in pad(rows, self._pad_id).items()}

    # ---- LoRA plan ----------------------------------------------------------------------
    def _place(self, rows: Sequence[Row]) -> dict[int, Placement]:
        distinct: dict[int, PackedAdapter] = {}
        for row in rows:
            if row.adapter is not None:
                distinct.setdefault(row.adapter.uid, row.adapter)
        return self.bank.place(list(distinct.values())) if distinct else {}

    def _plan(
        self, rows: Sequence[Row], placed: dict[int, Placement] | None = None
    ) -> tuple[list[int], BatchPlan | None]:
        """Row order (by bucket, target set and slot; no adapter last) and its row groups."""
        placed = self._place(rows) if placed is None else placed
        if not any(row.adapter is not None for row in rows):
            return list(range(len(rows))), None
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
