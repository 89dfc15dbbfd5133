"""A batch's tickets handed from the scheduler's thread to the event loop (issue 21, capacity):
``asyncio.wrap_future`` per ticket (one ``call_soon_threadsafe`` and loop wake-up each, the
front end before) against ``hub.transport.completions.Completions`` (one wake-up while one is
pending), alternating rounds in one process.

A worker thread completes ``--batch`` concurrent futures back to back, as FairBatcher's
``_deliver`` does; the loop awaits them all. Reported per batch: wall time from the first
completion to the loop having every result, loop wake-ups, and process CPU, each arm's median
over ``--rounds`` rounds, and the ratio (wrap_future / Completions).

    .venv/bin/python benchmarks/bench_completions.py            # about 10 s
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub.transport.completions import Completions

Wrap = Callable[[concurrent.futures.Future[Any]], "asyncio.Future[Any]"]


def _complete(sources: list[concurrent.futures.Future[int]], started: list[float]) -> None:
    """As FairBatcher's ``_deliver``: every ticket of the batch completed back to back."""
    started[0] = time.perf_counter()
    for i, source in enumerate(sources):
        source.set_result(i)


async def one_round(wrap: Wrap, batch: int, batches: int) -> tuple[float, float]:
    """(seconds per batch, CPU seconds per batch) over ``batches`` batches."""
    wall = 0.0
    cpu0 = time.process_time()
    for _ in range(batches):
        sources = [concurrent.futures.Future[int]() for _ in range(batch)]
        targets = [wrap(s) for s in sources]
        started = [0.0]
        worker = threading.Thread(target=_complete, args=(sources, started))
        worker.start()
        await asyncio.gather(*targets)
        wall += time.perf_counter() - started[0]
        worker.join()
    return wall / batches, (time.process_time() - cpu0) / batches


async def measure(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    loop = asyncio.get_running_loop()
    completions = Completions(loop)
    arms: dict[str, Wrap] = {"wrap_future": asyncio.wrap_future, "completions": completions.wrap}
    walls: dict[str, list[float]] = {name: [] for name in arms}
    cpus: dict[str, list[float]] = {name: [] for name in arms}
    for r in range(args.rounds):
        for name in sorted(arms, reverse=bool(r % 2)):  # alternate which arm goes first
            wall, cpu = await one_round(arms[name], args.batch, args.batches)
            walls[name].append(wall)
            cpus[name].append(cpu)
    wakeups = completions.deliveries / (args.rounds * args.batches)
    return {
        name: {
            "ms_per_batch": 1000 * statistics.median(walls[name]),
            "cpu_ms_per_batch": 1000 * statistics.median(cpus[name]),
            "wakeups_per_batch": wakeups if name == "completions" else float(args.batch),
        }
        for name in arms
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=32, help="tickets per batch (default 32: a full batch)")
    p.add_argument("--batches", type=int, default=200, help="batches per round (default 200)")
    p.add_argument("--rounds", type=int, default=5, help="rounds per arm, alternating (default 5)")
    args = p.parse_args(argv)
    out = asyncio.run(measure(args))
    a, b = out["wrap_future"], out["completions"]
    print(f"load average {Path('/proc/loadavg').read_text().split()[:3]}")
    print("| hand-off of a batch of", args.batch, "tickets | wrap_future | Completions | ratio |")
    print("|---|---:|---:|---:|")
    for key, label in (("ms_per_batch", "ms per batch"), ("cpu_ms_per_batch", "process CPU ms per batch")):
        print(f"| {label} (median of {args.rounds}) | {a[key]:.3f} | {b[key]:.3f} | {a[key] / b[key]:.2f}x |")
    print(f"| loop wake-ups per batch | {a['wakeups_per_batch']:.0f} | {b['wakeups_per_batch']:.2f} | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
