"""What the cluster simulation (benchmarks/sim_cluster.py) runs: its configuration, the costs it
charges (from BENCHMARKS.md, or marked as assumed), and the trace it replays."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

# Tensor bytes of the adapter BENCHMARKS.md "Residency" timed: rank 8 on MiniLM-L6's 37
# query/key/value/dense Linears, float32 (1.30 MiB); load costs scale from it by size.
REF_BYTES = 1_351_680


@dataclass(frozen=True)
class Backbone:
    params_per_rank: int  # LoRA parameters per unit of rank: r x (in + out) over the 37 Linears
    encoder_params: int  # the layers' Linear weights: what a forward's compute follows on a CPU


# MiniLM-L6's adapter size checked against examples/adapters (r=16, float16: 1,351,680 tensor
# bytes = 16 x 42,240 x 2). The others by the same count (hidden 768 / 3072 x 12 layers; 1024 /
# 4096 x 24), pooler included.
BACKBONES = {
    "minilm-l6": Backbone(42_240, 10_616_832),
    "bert-base": Backbone(167_424, 84_934_656),
    "bert-large": Backbone(444_416, 301_989_888),
}


@dataclass(frozen=True)
class Profile:
    """Costs on one replica's engine. ``*_busy``: engine time; ``cold_wait``: I/O alone."""

    forward_fixed_ms: float
    forward_row_ms: float
    max_batch: int
    warm_busy_ms: float  # host -> device (pack), per REF_BYTES
    cold_wait_ms: float  # store fetch, per REF_BYTES
    cold_busy_ms: float  # the rest of a cold load (verify, disk write, pack), per REF_BYTES
    serve_bytes: int  # bytes per packed parameter (the serving dtype)
    source: str


PROFILES = {
    # BENCHMARKS.md "Serving speed", end to end at 100 adapters: 81.6 texts/s float32 (one text a
    # request, batches of 32) -> 12.25 ms of engine per text. "Residency": host -> device swap
    # 0.93 ms p50; cold 14.4 ms p50 of which store fetch 9.5 ms.
    "cpu": Profile(0.0, 1000 / 81.6, 32, 0.93, 9.5, 4.9, 4, "measured: BENCHMARKS.md Serving speed + Residency"),
    # the same in bfloat16: 160.0 texts/s; packed adapters in 16 bits
    "cpu-bf16": Profile(0.0, 1000 / 160.0, 32, 0.93, 9.5, 4.9, 2, "measured: Serving speed (bf16) + Residency"),
    # ASSUMED, not measured (no GPU was available): a launch-bound forward of 4 ms + 0.25 ms a row
    # (about 2,900 texts/s at batch 64), a pack + PCIe copy of 0.2 ms; the fetch stays I/O.
    "gpu": Profile(4.0, 0.25, 64, 0.2, 9.5, 0.5, 2, "assumed: no GPU measurement yet"),
}


@dataclass(frozen=True)
class SimConfig:
    replicas: int = 100
    adapters: int = 10_000
    requests: int = 1_500_000
    zipf: float = 1.1
    load: float = 0.7  # offered rate as a fraction of the replicas' forward capacity
    rate: float = 0.0  # requests/s in all; overrides ``load`` when > 0
    device_bytes: int = 2 << 30  # ADAPTER_HUB_DEVICE_CACHE_BYTES
    host_bytes: int = 2 << 30  # ADAPTER_HUB_HOST_CACHE_BYTES
    routes_cap: int = 2048  # ClusterConfig.models_per_replica (routes_for: 2 GiB / 1 MiB); 0: none
    max_ongoing: int = 64  # ClusterConfig.max_ongoing_requests
    max_queued: int = 0  # waiting at the routers in all; 0: 256 per proxy, one proxy per 4 replicas
    profile: str = "cpu"
    costs_override: str = ""  # e.g. "cold_busy_ms=15,forward_fixed_ms=1": the profile's costs replaced
    backbone: str = "minilm-l6"
    forward_scale: float = 0.0  # forward costs x this; 0: the backbone's encoder weights / MiniLM-L6's
    ranks: str = "8:0.5,16:0.35,32:0.1,64:0.05"
    fp16_share: float = 0.5  # adapters stored in 16 bits (the hub's own export); the rest float32 (PEFT's)
    size_scale: float = 1.0  # adapter sizes x this (other target modules, heads)
    eps: float = 0.25
    timeout_s: float = 1.0  # RAY_SERVE_MULTIPLEXED_MODEL_ID_MATCHING_TIMEOUT_S
    report_lag_ms: float = 100.0  # PUSH_MULTIPLEXED_MODEL_IDS_INTERVAL_S: route changes reach the router
    warmup: float = 0.2
    seed: int = 0

    @property
    def costs(self) -> Profile:
        """The profile, with the overrides, its forward costs scaled to the backbone."""
        base = PROFILES[self.profile]
        pairs = [item.split("=") for item in self.costs_override.split(",") if item]
        costs = replace(base, **{k.strip(): type(getattr(base, k.strip()))(float(v)) for k, v in pairs})
        scale = self.forward_scale or BACKBONES[self.backbone].encoder_params / BACKBONES["minilm-l6"].encoder_params
        return replace(
            costs, forward_fixed_ms=costs.forward_fixed_ms * scale, forward_row_ms=costs.forward_row_ms * scale
        )

    def capacity_rps(self) -> float:
        """Forward capacity of all replicas with full batches and no loads."""
        p = self.costs
        return self.replicas * p.max_batch / (p.forward_fixed_ms + p.forward_row_ms * p.max_batch) * 1000

    def arrival_rate(self) -> float:
        return self.rate if self.rate > 0 else self.load * self.capacity_rps()

    def queue_bound(self) -> int:
        return self.max_queued or 256 * math.ceil(self.replicas / 4)


QUICK = SimConfig(replicas=10, adapters=1_000, requests=100_000)


@dataclass
class Trace:
    times: list[float]
    adapters: list[int]
    device_bytes: list[int]
    host_bytes: list[int]
    popular: list[int]  # adapter ids, most requested first
    warm_s: list[float]  # engine time of a host -> device load, per adapter
    cold_wait_s: list[float]
    cold_busy_s: list[float]


def parse_ranks(text: str) -> tuple[list[int], list[float]]:
    pairs = [item.split(":") for item in text.split(",") if item]
    ranks, weights = [int(r) for r, _ in pairs], [float(w) for _, w in pairs]
    return ranks, [w / sum(weights) for w in weights]


def make_trace(config: SimConfig) -> Trace:
    """Poisson arrivals; adapter by Zipf(s) popularity over a random order; sizes by rank."""
    rng = np.random.default_rng(config.seed)
    n, count = config.requests, config.adapters
    times = np.cumsum(rng.exponential(1 / config.arrival_rate(), n))
    weights = np.arange(1, count + 1, dtype=float) ** -config.zipf
    cdf = np.cumsum(weights / weights.sum())
    popular = rng.permutation(count)
    picks = popular[np.minimum(np.searchsorted(cdf, rng.random(n)), count - 1)]
    ranks, shares = parse_ranks(config.ranks)
    params = rng.choice(ranks, size=count, p=shares) * BACKBONES[config.backbone].params_per_rank * config.size_scale
    file_bytes = (params * np.where(rng.random(count) < config.fp16_share, 2, 4)).astype(np.int64)
    p = config.costs
    device = (params * p.serve_bytes).astype(np.int64)
    if device.max() > config.device_bytes:
        raise ValueError("an adapter is larger than the device tier: the hub would refuse it")
    return Trace(
        times.tolist(),
        picks.tolist(),
        device.tolist(),
        file_bytes.tolist(),
        popular.tolist(),
        (device / REF_BYTES * p.warm_busy_ms / 1000).tolist(),
        (file_bytes / REF_BYTES * p.cold_wait_ms / 1000).tolist(),
        (device / REF_BYTES * p.cold_busy_ms / 1000).tolist(),
    )
