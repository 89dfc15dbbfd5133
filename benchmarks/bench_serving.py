"""Serving speed: bare backbone vs hub engine vs PEFT, end to end over gRPC, and scaling.

One run measures every arm (interleaved where they share a table) and prints ratios:

1. engine: one forward of a mixed batch (rank-8 LoRA on query/key/value/dense, 1..128
   distinct adapters) on the hub engine and on PEFT ``adapter_names=``, against the bare
   backbone on the same token ids;
2. precision: float32 vs reduced precision (bfloat16 on CPU, float16 on CUDA) and dynamic
   int8 (CPU): speed and how far the served probabilities move;
3. end to end: a real gRPC server on 127.0.0.1, concurrent clients in another process,
   adapters drawn by a Zipf law (sequence and token tasks mixed); throughput and p50/p99
   against the in-process bare backbone at the same batch size and a naive PEFT server
   (one request at a time); open-loop latency at half of saturation; 1 / 100 / 1,000
   registered adapters.

    .venv/bin/python benchmarks/bench_serving.py --quick          # under a minute
    .venv/bin/python benchmarks/bench_serving.py --json out.json  # the full table
    .venv/bin/python benchmarks/bench_serving.py --device cuda --dtype float16   # on a GPU
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from serving_e2e import (
    bare_throughput,
    batch_stats,
    drive,
    hub_service,
    make_texts,
    naive_service,
    publish,
    serving,
    settings_for,
)
from serving_engine import bench_engine, bench_precision, setup_engine
from serving_fixtures import make_adapters

from hub.engine.runtime import Runtime

BACKBONE = "packaged:all-minilm-l6-v2"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small grid, short runs: under a minute")
    p.add_argument("--json", help="also write every number to this file")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda (default auto)")
    p.add_argument("--dtype", default="float32", help="serving dtype of the main arms (default float32)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    p.add_argument("--max-batch", type=int, default=32, help="server max batch rows (default 32)")
    p.add_argument("--wait-ms", type=float, default=2.0, help="server max batch wait (default 2 ms)")
    p.add_argument("--workers", type=int, default=96, help="server gRPC threads (default 96)")
    p.add_argument("--clients", type=int, default=64, help="concurrent clients (default 64)")
    p.add_argument("--duration", type=float, default=0, help="seconds per load phase (default 20; quick 3)")
    p.add_argument("--scales", default="", help="registered adapter counts (default 1,100,1000; quick 20)")
    p.add_argument("--skip", default="", help="comma list of sections to skip: engine,precision,e2e")
    return p.parse_args(argv)


def table(title: str, rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> None:
    """Print rows as a markdown table; columns are (key, format)."""
    print(f"\n### {title}\n")
    print("| " + " | ".join(k for k, _ in columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        cells = [format(row[k], f) if k in row else "" for k, f in columns]
        print("| " + " | ".join(cells) + " |")
    sys.stdout.flush()


def engine_section(args: argparse.Namespace, runtime: Runtime, out: dict[str, Any]) -> None:
    grid = [(32, 64)] if args.quick else [(32, 64), (32, 128), (128, 64), (128, 128)]
    distinct = [1, 32] if args.quick else [1, 8, 32, 128]
    setup = setup_engine(runtime, max(distinct), with_peft=True)
    rows: list[dict[str, Any]] = []
    for batch, seq in grid:
        ks = [k for k in distinct if k <= batch]
        rows += bench_engine(setup, batch, seq, ks, repeats=3 if args.quick else 5)
    out["engine"] = rows
    table(
        "Engine: one forward, seconds (median) and ratios to the bare backbone",
        rows,
        [("batch", "d"), ("seq", "d"), ("distinct", "d"), ("bare_s", ".3f"), ("hub_s", ".3f"),
         ("peft_s", ".3f"), ("hub_vs_bare", ".3f"), ("peft_vs_bare", ".3f"), ("peft_vs_hub", ".2f")],
    )  # fmt: skip
    del setup


def precision_section(args: argparse.Namespace, runtime: Runtime, out: dict[str, Any]) -> None:
    device = runtime.backbone.device
    variants: dict[str, Runtime] = {}
    half = "float16" if device.type == "cuda" else "bfloat16"
    variants[half] = Runtime.load(BACKBONE, device=str(device), dtype=half)
    if device.type == "cpu":
        variants["int8-dynamic"] = Runtime.load(BACKBONE, device="cpu", quantize="int8")
    adapters = make_adapters(8, runtime.backbone.spec)
    texts = make_texts(24 if args.quick else 96, 8, 96, seed=3)
    rows = bench_precision(runtime, variants, adapters, texts, 32, 64, repeats=2 if args.quick else 7)
    out["precision"] = rows
    table(
        "Precision: engine forward (batch 32, seq 64, 8 adapters) and served-probability deltas vs float32",
        rows,
        [("variant", "s"), ("forward_s", ".3f"), ("vs_float32", ".3f"), ("max_abs_dprob", ".2e"),
         ("mean_abs_dprob", ".2e"), ("top1_agreement", ".4f")],
    )  # fmt: skip


def e2e_section(args: argparse.Namespace, runtime: Runtime, out: dict[str, Any]) -> None:
    from transformers import AutoModel

    scales = [int(s) for s in (args.scales or ("20" if args.quick else "1,100,1000")).split(",")]
    main_scale = 20 if args.quick else 100
    duration = args.duration or (3.0 if args.quick else 20.0)
    warmup = 1.0 if args.quick else 3.0
    texts = make_texts(256, 8, 64, seed=1)
    backbone = runtime.backbone
    bare = AutoModel.from_pretrained(backbone.path, local_files_only=True, dtype=torch.float32)
    bare = bare.to(device=backbone.device, dtype=backbone.dtype).eval()
    load = {"clients": args.clients, "warmup_s": warmup, "duration_s": duration}
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        store = Path(tmp) / "store"
        published = 0
        settings = settings_for(store, args.max_batch, args.wait_ms, args.workers)
        for scale in scales:
            service = hub_service(settings)
            service.attach_runtime(runtime)
            publish(service, published, scale)
            published = max(published, scale)
            with serving(service, runtime) as target:
                drive(target, scale, texts, mode="closed", clients=args.clients, warmup_s=0.5, duration_s=1.0)
                before = (service.batcher.stats.batches, service.batcher.stats.rows)
                forwards = runtime.engine.forwards
                closed = drive(target, scale, texts, mode="closed", **load)
                forwards = runtime.engine.forwards - forwards
                row: dict[str, Any] = {"registered": scale, **closed, **batch_stats(service, before)}
                if scale == main_scale:
                    half = drive(target, scale, texts, mode="open", rate=closed["throughput"] / 2,
                                 warmup_s=warmup, duration_s=duration, clients=0)  # fmt: skip
                    ratio = half["p99_ms"] / max(half["p50_ms"], 1e-9)
                    row.update(half_rate=closed["throughput"] / 2, half_p50_ms=half["p50_ms"],
                               half_p99_ms=half["p99_ms"], half_p99_over_p50=ratio)  # fmt: skip
            row["forwards_per_batch"] = forwards / max(row["batches"], 1)
            row["bank_resident"] = len(runtime.engine.bank)
            results.append(row)
        main = next(r for r in results if r["registered"] == main_scale)
        bare_tps = bare_throughput(runtime, bare, texts, args.max_batch, duration)
        naive = naive_service(settings, runtime, make_adapters(main_scale, backbone.spec))
        with serving(naive, runtime) as target:
            naive_load = drive(target, main_scale, texts, mode="closed", **load)
    main.update(
        bare_inprocess_tps=bare_tps,
        vs_bare_inprocess=main["throughput"] / bare_tps,
        naive_tps=naive_load["throughput"],
        naive_p50_ms=naive_load["p50_ms"],
        naive_p99_ms=naive_load["p99_ms"],
        vs_naive=main["throughput"] / max(naive_load["throughput"], 1e-9),
    )
    out["e2e"] = results
    table(
        f"End to end over gRPC: {args.clients} clients, Zipf(1.1) adapters, 1 text of 8-64 tokens per request",
        results,
        [("registered", "d"), ("throughput", ".1f"), ("p50_ms", ".1f"), ("p99_ms", ".1f"),
         ("mean_batch_rows", ".1f"), ("forwards_per_batch", ".2f"), ("errors", "d"), ("bank_resident", "d")],
    )  # fmt: skip
    table(
        f"Against the baselines ({main_scale} registered adapters; texts/s)",
        [main],
        [("throughput", ".1f"), ("bare_inprocess_tps", ".1f"), ("vs_bare_inprocess", ".3f"),
         ("naive_tps", ".1f"), ("naive_p50_ms", ".1f"), ("naive_p99_ms", ".1f"), ("vs_naive", ".2f")],
    )  # fmt: skip
    table(
        "Latency at half of saturation (open loop, Poisson arrivals)",
        [main],
        [("half_rate", ".1f"), ("half_p50_ms", ".1f"), ("half_p99_ms", ".1f"), ("half_p99_over_p50", ".2f")],
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    runtime = Runtime.load(BACKBONE, device=args.device, dtype=args.dtype, threads=args.threads)
    device = runtime.backbone.device
    header = {
        "backbone": BACKBONE,
        "device": str(device) + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
        "dtype": args.dtype,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "quick": args.quick,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print("## bench_serving\n\n" + ", ".join(f"{k}: {v}" for k, v in header.items()))
    out: dict[str, Any] = {"header": header}
    sections = {"engine": engine_section, "precision": precision_section, "e2e": e2e_section}
    for name, section in sections.items():
        if name not in skip:
            begun = time.perf_counter()
            section(args, runtime, out)
            print(f"\n({name}: {time.perf_counter() - begun:.0f} s)")
    out["seconds"] = time.perf_counter() - started
    out["load_average_1m_end"] = round(os.getloadavg()[0], 2)
    print(f"\n(total {out['seconds']:.0f} s; 1-minute load average {header['load_average_1m']} at start, "
          f"{out['load_average_1m_end']} at end on {os.cpu_count()} CPUs)")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
