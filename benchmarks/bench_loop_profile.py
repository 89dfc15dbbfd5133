"""The event loop's Python per call (issue 21, capacity): where a single-text Predict's time on
the hub's loop thread goes, by function, with the tiny random backbone.

A hub runs in this process (HubServer, auth off, the tiny backbone of bench_frontend.py) under
``--procs`` x ``--clients`` closed-loop single-text clients in other processes (the same
generator). For ``--seconds`` of the load, cProfile runs on the loop thread ONLY (enabled and
disabled by callbacks on the loop), so the other threads (worker pool, scheduler, engine) run
unprofiled. Printed: the loop's profiled seconds per answered call, and per function its own
and cumulative microseconds per call, the hub's functions (and grpc's Python) first.

cProfile slows every Python call it sees (several-fold for small functions), and it measures
wall time: on a thread sharing the GIL, a function's time includes the waits for the GIL that
fall inside it (a forced switch lands at the next eval-breaker check, e.g. a loop's backward
jump). So the table locates where the loop waits as much as where it computes: time a
suspect alone (timeit) before calling it a hot spot, and compare runs only with each other.

    .venv/bin/python benchmarks/bench_loop_profile.py --seconds 6
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_frontend import closed, make_texts, tiny_backbone
from hub_process import loadavg, run_groups

OWN = ("hub/", "grpc/", "asyncio/", "contextlib", "logging/", "prometheus_client/", "google/protobuf")


def start_hub(tmp: Path) -> tuple[Any, Any]:
    from adapter_hub_client import HubClient

    from hub.config.settings import Settings
    from hub.serving.app import build_authenticator, build_service
    from hub.transport.server import HubServer

    backbone, adapter = tiny_backbone(tmp)
    settings = Settings.from_env(
        environ={}, host="127.0.0.1", port=0, store=str(tmp / "store"), disk_cache_dir="off", backbone=str(backbone)
    )
    service = build_service(settings)
    server = HubServer(service, build_authenticator(settings, service))
    server.start(load_backbone=False)
    service.load_backbone()
    with HubClient(f"127.0.0.1:{server.port}", timeout=60, retries=0) as client:
        client.push(adapter, "tiny", task="generic.sequence_classification", labels=["a", "b", "c"])
        client.predict("tiny", ["warm up"])
    return server, service


def profile_loop(server: Any, seconds: float) -> cProfile.Profile:
    """cProfile on the server's loop thread for ``seconds``."""
    profiler = cProfile.Profile()
    server.loop.call_soon_threadsafe(profiler.enable)
    time.sleep(seconds)
    done = threading.Event()

    def stop() -> None:
        profiler.disable()
        done.set()

    server.loop.call_soon_threadsafe(stop)
    done.wait(10)
    return profiler


def report(profiler: cProfile.Profile, calls: int, top: int) -> None:
    stats = pstats.Stats(profiler)
    rows = []
    for (path, line, name), (_, ncalls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = next((path[path.index(k) :] for k in OWN if k in path), Path(path).name)
        rows.append((cumulative, own, ncalls, f"{name} ({where}:{line})"))
    total = sum(own for _, own, _, _ in rows)
    print(f"loop thread, profiled: {1e6 * total / calls:.0f} us of Python per answered call ({calls} calls)\n")
    print("| function | own us/call | cumulative us/call | calls/call |\n|---|---:|---:|---:|")
    for cumulative, own, ncalls, label in sorted(rows, reverse=True)[:top]:
        print(f"| {label[:110]} | {1e6 * own / calls:.1f} | {1e6 * cumulative / calls:.1f} | {ncalls / calls:.2f} |")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=6.0, help="profiled seconds of the load (default 6)")
    p.add_argument("--procs", type=int, default=2)
    p.add_argument("--clients", type=int, default=64, help="closed-loop clients per process (default 64)")
    p.add_argument("--top", type=int, default=45, help="rows of the table (by cumulative time)")
    args = p.parse_args(argv)
    texts = make_texts(256, 8, 32, seed=1)
    print(f"load average at start: {loadavg()}")
    with tempfile.TemporaryDirectory(prefix="bench-loop-") as tmp:
        server, _service = start_hub(Path(tmp))
        try:
            out: dict[str, Any] = {}
            spec = closed(f"127.0.0.1:{server.port}", "tiny", texts, args.procs * args.clients)
            warmup = 2.0
            load = threading.Thread(
                target=lambda: out.update(run_groups({"load": spec}, warmup, args.seconds + 1, {"load": args.procs}))
            )
            load.start()
            time.sleep(3.0 + warmup + 0.5)  # the generator's start, its warm-up
            profiler = profile_loop(server, args.seconds)
            load.join()
        finally:
            server.stop(grace=2)
    result = out["load"]
    calls = int(result["answers_per_s"] * args.seconds)
    print(f"load: {result['answers_per_s']:.0f} Predict/s while profiled, p50 {result['p50_ms']:.0f} ms\n")
    report(profiler, max(1, calls), args.top)
    print(f"\n(load average at end: {loadavg()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
