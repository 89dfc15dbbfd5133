"""Serving cost of stacking (issue 25): one mixed batch where half the rows are stacked (a
tenant's rank-8 LoRA on a rank-8 domain adapter), against the same batch unstacked and against
rows without adapter, on the hub engine.

Every arm gets the same token ids (exactly ``--seq`` tokens per row) and runs one forward
(``Engine.forward_encoded``); arms are interleaved round by round so drift on a shared machine
hits each alike, and the median per arm is reported with the ratios.

- none:      no adapter rows (the backbone through the engine's wrapped Linears, no LoRA plan)
- unstacked: --adapters distinct tenant adapters, row i uses adapter i mod --adapters
- stacked:   the same rows; the rows of the first half of the adapters are stacked on the domain
             adapter (packing.stack_adapters: the two updates joined along the rank, 8 + 8)

    .venv/bin/python benchmarks/bench_stacking.py                  # batch 32 x 64 tokens, CPU
    .venv/bin/python benchmarks/bench_stacking.py --batch 8 --seq 128 --repeats 40
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from serving_fixtures import artifact, make_adapter

from hub.engine.engine import Row
from hub.engine.packing import PackedAdapter, stack_adapters
from hub.engine.runtime import Runtime


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backbone", default="packaged:all-minilm-l6-v2")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq", type=int, default=64)
    p.add_argument("--adapters", type=int, default=8, help="distinct tenant adapters in the batch")
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                   help="cpu: this thread's CPU time (with --threads 1 the forward runs on it: other "
                   "processes on a shared machine do not count); wall: elapsed time")  # fmt: skip
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    runtime = Runtime.load(args.backbone, device="cpu")
    spec = runtime.backbone.spec

    def pack(seed: int) -> PackedAdapter:
        art = artifact(make_adapter(f"a{seed}", spec, seed, token=False), spec)
        return runtime.pack(f"a{seed}", art.files, art.manifest)

    tenants = [pack(100 + i) for i in range(args.adapters)]
    domain = pack(7)
    half = args.adapters // 2
    stacked = [stack_adapters(pack(100 + i), domain) if i < half else tenants[i] for i in range(args.adapters)]
    vocab = int(getattr(runtime.backbone.model, "config").vocab_size)  # noqa: B009
    ids = torch.randint(1000, vocab - 1, (args.batch, args.seq), generator=torch.Generator().manual_seed(0))
    ids[:, 0], ids[:, -1] = 101, 102
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids)}
    head = next(iter(tenants[0].heads.values()))
    engine = runtime.engine

    def rows(adapters: list[PackedAdapter] | None) -> list[Row]:
        return [Row("", adapters[i % len(adapters)] if adapters else None, head) for i in range(args.batch)]

    arms: dict[str, Callable[[], object]] = {
        "none": lambda: engine.forward_encoded(rows(None), inputs),
        "unstacked": lambda: engine.forward_encoded(rows(tenants), inputs),
        "stacked": lambda: engine.forward_encoded(rows(stacked), inputs),
    }
    times: dict[str, list[float]] = {name: [] for name in arms}
    names = list(arms)
    for fn in arms.values():  # warm-up: allocator, bank loads
        fn()
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter
    for r in range(args.repeats):  # each round starts at another arm
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = clock()
            arms[name]()
            times[name].append(clock() - start)
    median = {name: statistics.median(t) for name, t in times.items()}
    stacked_rows = sum(1 for i in range(args.batch) if i % args.adapters < half)
    print(f"batch {args.batch} x {args.seq} tokens, {args.adapters} tenant adapters (rank 8, every Linear), "
          f"{stacked_rows} rows stacked on a rank-8 domain adapter; {args.threads} thread(s), "
          f"{args.repeats} interleaved rounds, median {args.clock} time per forward")  # fmt: skip
    for name, value in median.items():
        print(f"  {name:<10} {1000 * value:8.2f} ms")
    print(f"stacked / unstacked: {median['stacked'] / median['unstacked']:.3f}x")
    print(f"stacked / none:      {median['stacked'] / median['none']:.3f}x")
    print(f"unstacked / none:    {median['unstacked'] / median['none']:.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
