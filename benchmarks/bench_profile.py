"""Where the time goes in a loaded hub (issue 21 point 4): py-spy on a real `adapter-hub serve`
(packaged backbone, float32, hub defaults) under ``--clients`` closed-loop single-text clients
(asyncio, in ``--procs`` other processes).

Three py-spy recordings of the same seconds, side by side (``--nonblocking``, so the server is
never paused):

- ``all`` (``--idle``): every thread at every tick. The engine thread (the one whose stack holds
  the scheduler's ``_loop``) is classified per sample: in a forward (a torch module's call on
  its stack), idle (waiting for work: a Condition wait at the top, no forward), other (batch
  planning, heads, results).
- ``running`` (no ``--idle``): only threads the OS had running. An engine sample in a forward
  that ``all`` has but ``running`` does not is a forward blocked: with one torch thread, that is
  the GIL (the engine thread is runnable but waits for Python's lock).
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
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub_process import PACKAGED, SHIPPED, loadavg, run_groups, serve

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
    p.add_argument("--rate", type=int, default=50, help="py-spy samples per second, each recording (default 50)")
    p.add_argument("--clients", type=int, default=64, help="closed-loop clients (default 64)")
    p.add_argument("--procs", type=int, default=2, help="load generator processes (default 2)")
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
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def finish(spy: subprocess.Popen, seconds: int) -> str:
    """py-spy's last words; one that falls behind on a loaded machine (it reads every thread's stack
    at every tick) is stopped with SIGINT, which still writes what it sampled."""
    try:
        return spy.communicate(timeout=2 * seconds + 30)[1][-300:]
    except subprocess.TimeoutExpired:
        spy.send_signal(signal.SIGINT)
        return "(stopped late) " + spy.communicate(timeout=60)[1][-300:]


def profile(args: argparse.Namespace, seconds: int, tmp: Path) -> dict[str, Any]:
    rng = __import__("random").Random(1)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 62))) for _ in range(256)]
    with serve(PACKAGED, auth=False, env={"ADAPTER_HUB_DTYPE": args.dtype}) as served:
        with served.client() as client:
            client.push(SHIPPED / "finance-tweet-sentiment", "sentiment")
            client.predict("sentiment", texts[:32])
        spec = {"target": served.target, "kind": "closed", "clients": args.clients, "adapter": "sentiment",
                "texts": texts}  # fmt: skip
        load: dict[str, Any] = {}
        warmup = 4.0
        runner = threading.Thread(
            target=lambda: load.update(run_groups({"load": spec}, warmup, seconds + 2.0, {"load": args.procs}))
        )
        runner.start()
        time.sleep(3.0 + warmup)  # the generators start 3 s after the call, then warm up
        cpu0 = served.status()["cpu_s"]
        spies = {name: record(served.pid, tmp / f"{name}.txt", seconds, args.rate, *flags)
                 for name, flags in (("all", ["--idle"]), ("running", []), ("gil", ["--gil"]))}  # fmt: skip
        errors = {name: finish(spy, seconds) for name, spy in spies.items()}
        server_cores = (served.status()["cpu_s"] - cpu0) / seconds
        runner.join(timeout=seconds + 120)
    result = {name: read_raw(tmp / f"{name}.txt") for name in spies}
    return {"load": load.get("load", {}), "server_cores": server_cores, "samples": result, "errors": errors}


def ticks(stderr: str) -> int:
    m = re.search(r"Samples: (\d+)", stderr)
    return int(m[1]) if m else 0


def summarize(p: dict[str, Any]) -> dict[str, Any]:
    everything, running = engine_counts(p["samples"]["all"]), engine_counts(p["samples"]["running"])
    total = sum(everything.values()) or 1
    # each recording's own tick count (py-spy's "Samples: N"): one that fell behind took fewer
    scale = total / max(ticks(p["errors"]["running"]) or total, 1)
    run_forward, run_other = running["forward"] * scale, running["other"] * scale
    return {
        "engine_samples": total,
        "ticks": {name: ticks(err) for name, err in p["errors"].items()},
        "forward_running": run_forward / total,
        "forward_blocked_gil": max(0.0, everything["forward"] - run_forward) / total,
        "other_running": run_other / total,
        "other_blocked": max(0.0, everything["other"] - run_other) / total,
        "idle": everything["idle"] / total,
        "gil": gil_holders(p["samples"]["gil"]),
        "throughput": p["load"].get("answers_per_s", 0.0),
        "p50_ms": p["load"].get("p50_ms", 0.0),
        "codes": p["load"].get("codes", {}),
        "generator_cores": p["load"].get("generator_cores", 0.0),
        "server_cores": p["server_cores"],
    }


def report(s: dict[str, Any], args: argparse.Namespace, seconds: int) -> list[str]:
    g = s["gil"]
    lines = [
        f"{args.clients} clients, {s['throughput']:.1f} texts/s (p50 {s['p50_ms']:.0f} ms, {s['codes']}), "
        f"server {s['server_cores']:.2f} cores, generator {s['generator_cores']:.2f} cores; "
        f"{seconds} s at {args.rate}/s per recording\n",
        "| engine thread, share of its samples | |", "|---|---:|",
        f"| in a forward, running | {s['forward_running']:.2f} |",
        f"| in a forward, runnable but not running (waiting for the GIL) | {s['forward_blocked_gil']:.2f} |",
        f"| batch planning / heads / results, running | {s['other_running']:.2f} |",
        f"| batch planning / heads / results, not running (GIL) | {s['other_blocked']:.2f} |",
        f"| idle (waiting for work) | {s['idle']:.2f} |",
        f"| samples (py-spy ticks of each recording: {s['ticks']}) | {s['engine_samples']} |",
        f"\nGIL samples: {g['total']}; by thread: "
        + ", ".join(f"{k} {v / max(g['total'], 1):.2f}" for k, v in Counter(g["threads"]).most_common()),
        "\n| function holding the GIL (inclusive) | share of GIL samples |", "|---|---:|",
    ]  # fmt: skip
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
    s = summarize(p)
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
