"""The device-resident bank of LoRA weights that a mixed batch gathers from.

Adapters are copied once into slots of a rank bucket (ranks rounded up to 8, 16, 32, ...),
so a forward never stacks per-adapter tensors: for each layer it gathers the rows' slots
from one ``(slots, R, in)`` / ``(slots, R, out)`` pair (Punica's BGMV, S-LoRA's unified
bank). A lower rank is zero-padded inside its bucket; an adapter that skips a layer has
zeros there. A slot is freed when its PackedAdapter is garbage collected (the residency tier
let it go and no request holds it), so the bank follows the device tier; over its own byte
budget it also reuses slots least-recently-used first, never one of the batch being planned
(the bank grows instead). Host -> device copies are non-blocking from pinned memory on a GPU.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict, deque
from dataclasses import dataclass, field

import torch

from hub.engine.packing import PackedAdapter

MIN_BUCKET = 8
INITIAL_SLOTS = 8


def rank_bucket(rank: int) -> int:
    """The bucket rank an adapter of ``rank`` is padded to: a power of two, at least 8."""
    bucket = MIN_BUCKET
    while bucket < rank:
        bucket *= 2
    return bucket


@dataclass(frozen=True)
class Placement:
    """Where one adapter lives in the bank: its bucket, its slot, the layers it changes."""

    bucket: int
    slot: int
    layers: frozenset[str]


@dataclass
class Bucket:
    rank: int
    capacity: int
    a: dict[str, torch.Tensor] = field(default_factory=dict)  # layer -> (capacity, R, in)
    b: dict[str, torch.Tensor] = field(default_factory=dict)  # layer -> (capacity, R, out)
    owners: dict[int, int] = field(default_factory=dict)  # slot -> adapter uid


@dataclass
class BankStats:
    loads: int = 0
    hits: int = 0
    evictions: int = 0  # slots reused for another adapter (over the byte budget)
    released: int = 0  # slots freed because their adapter was collected
    bytes: int = 0


class LoraBank:
    """Slots of packed LoRA weights per rank bucket, on the engine's device and dtype."""

    def __init__(
        self,
        shapes: dict[str, tuple[int, int]],
        device: torch.device,
        dtype: torch.dtype,
        max_bytes: int = 1 << 30,
        initial_slots: int = INITIAL_SLOTS,
    ) -> None:
        self.shapes = shapes  # layer -> (in_features, out_features)
        self.device = device
        self.dtype = dtype
        self.max_bytes = max_bytes  # soft: a batch's own adapters are never evicted
        self.initial_slots = max(1, initial_slots)
        self.buckets: dict[int, Bucket] = {}
        self.placements: OrderedDict[int, Placement] = OrderedDict()  # uid -> placement, LRU order
        self.stats = BankStats()
        self._released: deque[int] = deque()  # uids of collected adapters (appended by any thread)

    # ---- public ---------------------------------------------------------------------------
    def place(self, adapters: list[PackedAdapter]) -> dict[int, Placement]:
        """Make every adapter resident (loading the missing ones); return uid -> placement."""
        while self._released:
            if self._free(self._released.popleft()):
                self.stats.released += 1
        keep = {a.uid for a in adapters}
        placed: dict[int, Placement] = {}
        for adapter in adapters:
            placement = self.placements.get(adapter.uid)
            if placement is None:
                placement = self._load(adapter, keep)
            else:
                self.stats.hits += 1
                self.placements.move_to_end(adapter.uid)
            placed[adapter.uid] = placement
        return placed

    def evict(self, uid: int) -> bool:
        """Free the slot of adapter ``uid`` (call under the engine's lock)."""
        if not self._free(uid):
            return False
        self.stats.evictions += 1
        return True

    def _free(self, uid: int) -> bool:
        placement = self.placements.pop(uid, None)
        if placement is None:
            return False
        self.buckets[placement.bucket].owners.pop(placement.slot, None)
        return True

    def __len__(self) -> int:
        return len(self.placements)

    # ---- loading --------------------------------------------------------------------------
    def _load(self, adapter: PackedAdapter, keep: set[int]) -> Placement:
        rank = max((pair.rank for pair in adapter.layers.values()), default=1)
        bucket = self._bucket(rank_bucket(rank))
        slot = self._free_slot(bucket, keep)
        layers = frozenset(adapter.layers)
        for name in layers - set(bucket.a):
            self._allocate(bucket, name)
        non_blocking = self.device.type == "cuda"
        for name in bucket.a:
            a, b = bucket.a[name][slot], bucket.b[name][slot]
            pair = adapter.layers.get(name)
            if pair is None:
                a.zero_()
                b.zero_()
                continue
            r = pair.rank
            a[:r].copy_(pair.a, non_blocking=non_blocking)
            b[:r].copy_(pair.b, non_blocking=non_blocking)
            a[r:].zero_()
            b[r:].zero_()
        bucket.owners[slot] = adapter.uid
        placement = Placement(bucket.rank, slot, layers)
        self.placements[adapter.uid] = placement
        weakref.finalize(adapter, self._released.append, adapter.uid)
        self.stats.loads += 1
        return placement

    def _bucket(self, rank: int) -> Bucket:
        bucket = self.buckets.get(rank)
        if bucket is None:
            bucket = self.buckets[rank] = Bucket(rank, self.initial_slots)
        return bucket

    def _slot_bytes(self, bucket: Bucket) -> int:
        per_layer = sum(self.shapes[name][0] + self.shapes[name][1] for name in bucket.a)
        return max(per_layer, 1) * bucket.rank * _itemsize(self.dtype)

    def _free_slot(self, bucket: Bucket, keep: set[int]) -> int:
        for slot in range(bucket.capacity):
            if slot not in bucket.owners:
                return slot
        grown = bucket.capacity * 2
        over_budget = self.stats.bytes + bucket.capacity * self._slot_bytes(bucket) > self.max_bytes
        victim = self._victim(bucket, keep) if over_budget else None
        if victim is not None:
            self.evict(victim)
            return next(s for s in range(bucket.capacity) if s not in bucket.owners)
        self._grow(bucket, grown)
        return next(s for s in range(bucket.capacity) if s not in bucket.owners)

    def _victim(self, bucket: Bucket, keep: set[int]) -> int | None:
        for uid, placement in self.placements.items():  # least recently used first
            if placement.bucket == bucket.rank and uid not in keep:
                return uid
        return None

    def _allocate(self, bucket: Bucket, name: str) -> None:
        fan_in, fan_out = self.shapes[name]
        shape = (bucket.capacity, bucket.rank)
        bucket.a[name] = torch.zeros(*shape, fan_in, device=self.device, dtype=self.dtype)
        bucket.b[name] = torch.zeros(*shape, fan_out, device=self.device, dtype=self.dtype)
        self.stats.bytes += bucket.capacity * bucket.rank * (fan_in + fan_out) * _itemsize(self.dtype)

    def _grow(self, bucket: Bucket, capacity: int) -> None:
        extra = capacity - bucket.capacity
        for table in (bucket.a, bucket.b):
            for name, old in table.items():
                pad = torch.zeros(extra, *old.shape[1:], device=self.device, dtype=self.dtype)
                table[name] = torch.cat([old, pad])
                self.stats.bytes += pad.numel() * _itemsize(self.dtype)
        bucket.capacity = capacity


def _itemsize(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()
