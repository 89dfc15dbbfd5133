"""Where the time goes in a loaded hub (issue 21 point 4): py-spy on a real `adapter-hub serve`
(packaged backbone, float32, hub defaults) under ``--clients`` closed-loop single-text clients
(asyncio, in ``--procs`` other processes).

The load runs through consecutive windows of ``--seconds``: one without py-spy (the hub's own
/metrics only: engine duty = forward seconds per second, rows per batch, server time per request),
then one per py-spy recording, one at a time (``--nonblocking``: the server is never paused; each
window's metrics show what py-spy cost; three recorders at once starved a loaded server):

- ``all`` (``--idle``): every thread at every tick. The engine thread (the one whose stack holds
  the batcher's ``_loop``) is classified per sample: in a forward (a torch module's call on its
  stack), idle (waiting for work: a Condition wait at the top, no forward), other (batch
  planning, heads, results).
- ``running`` (no ``--idle``): only threads the OS had runnable, as a share of the window's
  ticks. A forward share in ``all`` well above the one here is a forward waiting (with one torch
  thread: for the GIL).
- ``gil`` (``--gil``): only the thread holding the GIL: which functions hold it (inclusive and
  leaf counts) and how much of it the engine thread gets.

    .venv/bin/python benchmarks/bench_profile.py --quick        # about 1 minute
    .venv/bin/python benchmarks/bench_profile.py --seconds 20
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub_process import PACKAGED, SHIPPED, free_port, loadavg, run_groups, serve

PY_SPY = Path(sys.executable).with_name("py-spy")
LINE = re.compile(r"^thread \((?P<tid>\d+)\): (?P<name>[^;]*);?(?P<stack>.*) (?P<count>\d+)$")
ENGINE_LOOP = re.compile(r"^(\w+\.)?_loop \([^)]*(scheduler|batching)\.py")  # the batcher's worker loop
WORDS = [
    "the",
    "company",
    "reported",
    "strong",
    "quarterly",
    "results",
    "and",
    "the",
    "board",
    "approved",
    "a",
    "new",
    "dividend",
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="8 s of recording")
    p.add_argument("--seconds", type=int, default=0, help="seconds of recording (default 20; quick 8)")
    p.add_argument("--rate", type=int, default=20, help="py-spy samples per second (default 20)")
    p.add_argument("--clients", type=int, default=64, help="closed-loop clients (default 64)")
    p.add_argument("--dtype", default="float32", help="server dtype (default float32)")
    p.add_argument("--json", help="also write every number to this file")
    p.add_argument("--keep", help="directory to keep the raw py-spy files in")
    return p.parse_args(argv)


def read_raw(path: Path) -> list[tuple[str, list[str], int]]:
    """(thread name, frames root first, count) per line of py-spy's raw (collapsed) output."""
    out = []
    for line in path.read_text().splitlines():
        m = LINE.match(line)
        if m:
            out.append((m["name"], [f for f in m["stack"].split(";") if f], int(m["count"])))
    return out


def is_engine(frames: list[str]) -> bool:
    return any(ENGINE_LOOP.match(f) for f in frames)


def kind(frames: list[str]) -> str:
    if any("_call_impl" in f or "torch/nn/modules" in f for f in frames):
        return "forward"
    if frames and re.match(r"^(\w+\.)?wait \(", frames[-1]) and "threading.py" in frames[-1]:
        return "idle"
    return "other"


def engine_counts(samples: list[tuple[str, list[str], int]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for _, frames, n in samples:
        if is_engine(frames):
            counts[kind(frames)] += n
    return counts


def gil_holders(samples: list[tuple[str, list[str], int]], top: int = 15) -> dict[str, Any]:
    """Inclusive and leaf counts of the functions seen holding the GIL, and by thread kind."""
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    for name, frames, n in samples:
        total += n
        threads["engine" if is_engine(frames) else "rpc handlers" if name.startswith("rpc") else name or "?"] += n
        for frame in set(frames):
            inclusive[_short(frame)] += n
        if frames:
            leaf[_short(frames[-1])] += n
    return {"total": total, "threads": dict(threads), "inclusive": inclusive.most_common(top),
            "leaf": leaf.most_common(top)}  # fmt: skip


def _short(frame: str) -> str:
    """``func (path/to/file.py:123)`` -> ``func (file.py)``: lines merged."""
    m = re.match(r"^(?P<func>.*) \((?P<file>[^:()]*)(:\d+)?\)$", frame)
    if not m:
        return frame
    parts = m["file"].split("/")
    return f"{m['func']} ({'/'.join(parts[-2:])})"


def record(pid: int, out: Path, seconds: int, rate: int, *flags: str) -> subprocess.Popen:
    argv = [str(PY_SPY), "record", "--pid", str(pid), "--format", "raw", "-d", str(seconds), "-r", str(rate),
            "--threads", "--nonblocking", "-o", str(out), *flags]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(spy: subprocess.Popen, seconds: int) -> str:
    """py-spy's last words; one that falls behind on a loaded machine (it reads every thread's stack
    at every tick) is stopped with SIGINT, which still writes what it sampled."""
    try:
        return spy.communicate(timeout=2 * seconds + 30)[0][-300:]
    except subprocess.TimeoutExpired:
        spy.send_signal(signal.SIGINT)
        return "(stopped late) " + spy.communicate(timeout=60)[0][-300:]


def scrape(port: int) -> dict[str, float]:
    """The hub's own sums from /metrics: forward seconds, queue seconds, request seconds, rows."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
        text = response.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = re.match(r"^(adapter_hub_(forward|queue|request)_seconds_(sum|count)|adapter_hub_batch_rows_sum)"
                     r"(\{[^}]*\})? ([0-9.e+-]+)$", line)  # fmt: skip
        if m:
            out[m[1]] = out.get(m[1], 0.0) + float(m[5])
    return out


def window(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    d = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    requests = d.get("adapter_hub_request_seconds_count", 0.0)
    batches = d.get("adapter_hub_forward_seconds_count", 0.0)
    return {
        "forward_duty": d.get("adapter_hub_forward_seconds_sum", 0.0) / seconds,
        "batches_per_s": batches / seconds,
        "rows_per_batch": d.get("adapter_hub_batch_rows_sum", 0.0) / batches if batches else 0.0,
        "server_request_s": d.get("adapter_hub_request_seconds_sum", 0.0) / requests if requests else 0.0,
        "queue_s": d.get("adapter_hub_queue_seconds_sum", 0.0) / max(d.get("adapter_hub_queue_seconds_count", 0), 1),
        "requests_per_s": requests / seconds,
    }


def profile(args: argparse.Namespace, seconds: int, tmp: Path) -> dict[str, Any]:
    """The load runs through consecutive windows of ``seconds``: the first without py-spy (the
    hub's metrics only), then one per recording, one py-spy at a time (three at once starved a
    loaded server: 0.06 cores instead of 0.31); each window's metrics show what py-spy cost."""
    rng = __import__("random").Random(1)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 62))) for _ in range(256)]
    mport = free_port()
    env = {"ADAPTER_HUB_DTYPE": args.dtype, "ADAPTER_HUB_METRICS_PORT": str(mport)}
    recordings: tuple[tuple[str, list[str]], ...] = (("all", ["--idle"]), ("running", []), ("gil", ["--gil"]))
    metrics: dict[str, dict[str, float]] = {}
    errors: dict[str, str] = {}
    with serve(PACKAGED, auth=False, env=env) as served:
        with served.client() as client:
            client.push(SHIPPED / "finance-tweet-sentiment", "sentiment")
            client.predict("sentiment", texts[:32])
        spec = {"target": served.target, "kind": "closed", "clients": args.clients, "adapter": "sentiment",
                "texts": texts}  # fmt: skip
        load: dict[str, Any] = {}
        warmup, span = 4.0, (1 + len(recordings)) * (seconds + 3) + 4.0
        runner = threading.Thread(target=lambda: load.update(run_groups({"load": spec}, warmup, span, {"load": 2})))
        runner.start()
        time.sleep(3.0 + warmup)  # the generators start 3 s after the call, then warm up
        for name, flags in (("without_py_spy", None), *recordings):
            m0, cpu0, t0 = scrape(mport), served.status()["cpu_s"], time.perf_counter()
            if flags is None:
                time.sleep(seconds)
            else:
                errors[name] = finish(record(served.pid, tmp / f"{name}.txt", seconds, args.rate, *flags), seconds)
            m1, cpu1, t1 = scrape(mport), served.status()["cpu_s"], time.perf_counter()
            metrics[name] = {**window(m0, m1, t1 - t0), "server_cores": (cpu1 - cpu0) / (t1 - t0)}
        runner.join(timeout=span + 120)
    result = {name: read_raw(tmp / f"{name}.txt") for name, _ in recordings}
    return {"load": load.get("load", {}), "server_cores": metrics["without_py_spy"]["server_cores"],
            "samples": result, "errors": errors, "metrics": metrics}  # fmt: skip


def ticks(stderr: str) -> int:
    m = re.search(r"Samples: (\d+)", stderr)
    return int(m[1]) if m else 0


def summarize(p: dict[str, Any], seconds: int, rate: int) -> dict[str, Any]:
    """Engine shares: ``all`` has the engine at every tick it took; ``running`` (another window)
    only at ticks where the OS had it running, out of about ``seconds * rate`` ticks."""
    everything, running = engine_counts(p["samples"]["all"]), engine_counts(p["samples"]["running"])
    total = sum(everything.values()) or 1
    expected = seconds * rate
    return {
        "engine_samples": total,
        "expected_ticks": expected,
        "forward": everything["forward"] / total,
        "other": everything["other"] / total,
        "idle": everything["idle"] / total,
        "forward_running": running["forward"] / expected,
        "other_running": running["other"] / expected,
        "gil": gil_holders(p["samples"]["gil"]),
        "throughput": p["load"].get("answers_per_s", 0.0),
        "p50_ms": p["load"].get("p50_ms", 0.0),
        "codes": p["load"].get("codes", {}),
        "generator_cores": p["load"].get("generator_cores", 0.0),
        "server_cores": p["server_cores"],
        "metrics": p["metrics"],
    }


def metrics_table(m: dict[str, dict[str, float]]) -> list[str]:
    """The hub's own account of each window (its /metrics): without py-spy, then one per recording."""
    rows = [("engine duty: forward seconds per second", "forward_duty", ".2f"), ("batches/s", "batches_per_s", ".2f"),
            ("rows per batch", "rows_per_batch", ".1f"), ("requests/s", "requests_per_s", ".1f"),
            ("server time per request (s)", "server_request_s", ".2f"),
            ("queue time per request (s)", "queue_s", ".2f"),
            ("server process cores", "server_cores", ".2f")]  # fmt: skip
    names = list(m)
    out = ["\n| the hub's /metrics per window | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    return out + [f"| {label} | " + " | ".join(format(m[n][k], f) for n in names) + " |" for label, k, f in rows]


def report(s: dict[str, Any], args: argparse.Namespace, seconds: int) -> list[str]:
    g = s["gil"]
    lines = [
        f"{args.clients} clients, {s['throughput']:.1f} texts/s (p50 {s['p50_ms']:.0f} ms, {s['codes']}), "
        f"server {s['server_cores']:.2f} cores, generator {s['generator_cores']:.2f} cores; "
        f"{seconds} s at {args.rate}/s per recording\n",
        "| engine thread (py-spy) | share |", "|---|---:|",
        f"| `all` window: in a forward | {s['forward']:.2f} |",
        f"| `all` window: batch planning / heads / results | {s['other']:.2f} |",
        f"| `all` window: idle (waiting for work) | {s['idle']:.2f} |",
        f"| `running` window: in a forward and running, of about {s['expected_ticks']} ticks | "
        f"{s['forward_running']:.2f} |",
        f"| `running` window: planning / heads / results and running | {s['other_running']:.2f} |",
        f"| engine samples in `all` | {s['engine_samples']} |",
        f"\nGIL samples: {g['total']}; by thread: "
        + ", ".join(f"{k} {v / max(g['total'], 1):.2f}" for k, v in Counter(g["threads"]).most_common()),
        "\n| function holding the GIL (inclusive) | share of GIL samples |", "|---|---:|",
    ]  # fmt: skip
    lines[1:1] = [*metrics_table(s["metrics"]), ""]
    lines += [f"| `{f}` | {n / max(g['total'], 1):.3f} |" for f, n in g["inclusive"]]
    lines += ["\n| leaf function holding the GIL | share |", "|---|---:|"]
    lines += [f"| `{f}` | {n / max(g['total'], 1):.3f} |" for f, n in g["leaf"]]
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    seconds = args.seconds or (8 if args.quick else 20)
    start_load = loadavg()
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        keep = Path(args.keep) if args.keep else Path(tmp)
        keep.mkdir(parents=True, exist_ok=True)
        p = profile(args, seconds, keep)
    s = summarize(p, seconds, args.rate)
    print(f"## bench_profile\n\nload average {start_load} at start, {loadavg()} at end ({os.cpu_count()} CPUs)\n")
    print("\n".join(report(s, args, seconds)))
    for name, err in p["errors"].items():
        if "Errors: 0" not in err and err.strip():
            print(f"\n(py-spy {name}: {err.strip().splitlines()[-1]})")
    if args.json:
        Path(args.json).write_text(json.dumps({**s, "load_start": start_load, "load_end": loadavg()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
