"""Fairness under overload: today's FIFO batcher against the fair scheduler, same run, same hub.

Hub defaults (batch 32, 2 ms wait, 96 handler threads, default queue bounds), auth on, the
packaged MiniLM backbone, three tenants with their own keys and adapters (quiet and flood weight
1, heavy weight 3). Clients run in other processes, one per tenant group; refused calls are
retried as the CLI retries them (after the retry-after-ms hint). Every arm starts a fresh server
with each scheduler. Arms (the issue's):

1. B: one request of 32 texts (a full batch) on the idle hub, median.
2. quiet alone: Poisson 2 requests/s of one text; then beside flood's 256 closed-loop clients:
   the quiet tenant's p50 in units of B and against alone; flood's own p50 and answers/s.
3. weights: flood (1) and heavy (3), 128 closed-loop clients each: shares of served tokens.
4. one tenant alone, 128 closed-loop clients: answers/s (fair / FIFO, aim >= 0.95).
5. the same clients with 1 s deadlines: answers/s against 4 (aim >= 0.8).
6. 384 clients x 8 texts, 60 s deadlines: refusals (only RESOURCE_EXHAUSTED, p99 <= 50 ms), no
   call past its deadline, admitted p99 against the queue bound + one batch.

    .venv/bin/python benchmarks/bench_fairness.py --quick        # about 5 minutes
    .venv/bin/python benchmarks/bench_fairness.py --json out.json

``--hostile`` (issue 21, benchmarks/fairness_hostile.py) runs the hostile client mode instead:
clients that resend at once and ignore retry hints, against a real `adapter-hub serve` process
(whatever front end the checkout has), with the hub's own scheduler setting:

    .venv/bin/python benchmarks/bench_fairness.py --hostile --quick   # about 4 minutes
    .venv/bin/python benchmarks/bench_fairness.py --hostile --skip flood1024,deadline
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
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
from fairness_setup import Hub, hub, measure_b, prepare, queue_bound_s, run_groups
from serving_fixtures import text_of_tokens

from hub.engine.runtime import Runtime

BACKBONE = "packaged:all-minilm-l6-v2"
ARMS = ("quiet", "weights", "alone", "deadline", "big")
SCHEDULERS = ("fifo", "fair")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="one round, short phases (3 s warm-up, 8 s measured)")
    p.add_argument("--json", help="also write every number to this file")
    p.add_argument("--device", default="cpu", help="cpu | cuda | auto (default cpu, as in the issue)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    p.add_argument("--duration", type=float, default=0, help="measured seconds per arm (default 20; quick 6)")
    p.add_argument("--warmup", type=float, default=0, help="warm-up seconds per arm (default 5; quick 3)")
    p.add_argument("--rounds", type=int, default=0, help="rounds per arm, alternating the order (default 2; quick 1)")
    p.add_argument(
        "--skip",
        default="",
        help=f"comma list of arms to skip: {','.join(ARMS)} (hostile: baseline,flood256,flood1024,deadline)",
    )
    p.add_argument("--hostile", action="store_true", help="the hostile client mode (issue 21) instead")
    return p.parse_args(argv)


def corpus(runtime: Runtime, count: int, low: int, high: int, seed: int) -> dict[str, list]:
    rng = random.Random(seed)
    texts = [text_of_tokens(rng.randint(low, high), seed + i) for i in range(count)]
    return {"texts": texts, "tokens": [e.tokens for e in runtime.encode(texts)]}


def closed(clients: int, words: dict[str, list], **extra: Any) -> dict[str, Any]:
    return {"mode": "closed", "clients": clients, **words, **extra}


def arm_quiet(h: Hub, words: dict[str, list], w: float, d: float) -> dict[str, Any]:
    quiet = {"mode": "open", "rate": 2.0, **words}
    alone = run_groups(h, {"quiet": dict(quiet)}, w, d)["quiet"]
    both = run_groups(h, {"quiet": dict(quiet), "flood": closed(256, words)}, w, d)
    return {"alone": alone, "quiet": both["quiet"], "flood": both["flood"]}


def arm_weights(h: Hub, words: dict[str, list], w: float, d: float) -> dict[str, Any]:
    return run_groups(h, {"flood": closed(128, words), "heavy": closed(128, words)}, w, d)


def arm_alone(h: Hub, words: dict[str, list], w: float, d: float) -> dict[str, Any]:
    return run_groups(h, {"flood": closed(128, words)}, w, d)["flood"]


def arm_deadline(h: Hub, words: dict[str, list], w: float, d: float) -> dict[str, Any]:
    return run_groups(h, {"flood": closed(128, words, deadline_s=1.0)}, w, d)["flood"]


def arm_big(h: Hub, words: dict[str, list], w: float, d: float) -> dict[str, Any]:
    # measured from the start: FIFO's queue needs minutes to reach its steady state, and what
    # the first 384 calls go through is the point
    spec = closed(384, words, per_request=8, deadline_s=60.0, steady_after_s=w)
    out = run_groups(h, {"flood": spec}, 0.0, w + d)["flood"]
    out["bound_s"], out["batch_s"] = queue_bound_s(h)
    return out


def run_all(args: argparse.Namespace, runtime: Runtime) -> dict[str, Any]:
    """Every arm with both schedulers, in rounds that alternate which goes first (the machine's
    load drifts); each number is the median over the rounds."""
    w = args.warmup or (3.0 if args.quick else 5.0)
    d = args.duration or (8.0 if args.quick else 20.0)
    rounds = args.rounds or (1 if args.quick else 2)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    words = corpus(runtime, 512, 16, 64, seed=1)  # one text per request: 16-64 tokens
    full_batch = corpus(runtime, 32, 16, 64, seed=99)["texts"]
    runs: dict[str, dict[str, list[Any]]] = {s: {} for s in SCHEDULERS}
    arms = {"quiet": arm_quiet, "weights": arm_weights, "alone": arm_alone, "deadline": arm_deadline, "big": arm_big}
    with tempfile.TemporaryDirectory(prefix="bench-fairness-") as tmp:
        store = Path(tmp) / "store"
        keys, adapters = prepare(runtime, store)
        for name, arm in [("b", None), *arms.items()]:
            if name in skip:
                continue
            for r in range(rounds):
                for scheduler in SCHEDULERS if r % 2 == 0 else SCHEDULERS[::-1]:
                    begun = time.perf_counter()
                    with hub(runtime, store, scheduler, keys, adapters) as h:
                        result = measure_b(h, full_batch, 3) if arm is None else arm(h, words, w, d)
                    runs[scheduler].setdefault("b_s" if arm is None else name, []).append(result)
                    print(f"({name} {scheduler} round {r + 1}: {time.perf_counter() - begun:.0f} s)",
                          file=sys.stderr, flush=True)  # fmt: skip
    return {s: {name: median_of(results) for name, results in runs[s].items()} for s in SCHEDULERS}


def median_of(results: list[Any]) -> Any:
    """The median of each number across rounds (dictionaries merged key by key)."""
    if isinstance(results[0], dict):
        keys = {k for r in results for k in r}
        return {k: median_of([r.get(k, 0) for r in results]) for k in sorted(keys)}
    return statistics.median(results)


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def _share(r: dict[str, Any]) -> float:
    heavy, light = r["weights"]["heavy"]["tokens"], r["weights"]["flood"]["tokens"]
    return ratio(heavy, heavy + light)


def _codes(group: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(group["codes"].items()))


def _pair(r: dict[str, Any], group: dict[str, Any], *keys: str, fmt: str = "{:.0f}") -> str:
    """Values of ``keys``; latencies that include calls unanswered at the cutoff are lower
    bounds (">=")."""
    text = " / ".join(fmt.format(group[k]) for k in keys)
    return f">= {text} ({group['unfinished']} unanswered)" if group.get("unfinished") and "p50_ms" in keys else text


# (arm needed, measure, value of one scheduler's results, aim)
MEASURES: list[tuple[str, str, Any, str]] = [
    ("b", "B: one request of 32 texts, idle hub (s)", lambda r: f"{r['b_s']:.3f}", ""),
    ("quiet", "quiet alone p50 (ms)", lambda r: f"{r['quiet']['alone']['p50_ms']:.0f}", ""),
    ("quiet", "quiet beside 256 flooding clients, p50 / p99 (ms)",
     lambda r: _pair(r, r["quiet"]["quiet"], "p50_ms", "p99_ms"), ""),
    ("quiet", "quiet p50 in units of B", lambda r: f"{r['quiet']['quiet']['p50_ms'] / 1000 / r['b_s']:.2f}",
     "aim <= 2 B"),
    ("quiet", "quiet p50 / alone",
     lambda r: f"{ratio(r['quiet']['quiet']['p50_ms'], r['quiet']['alone']['p50_ms']):.2f}", ""),
    ("quiet", "flood p50 (ms) / answers/s / refusals",
     lambda r: f"{r['quiet']['flood']['p50_ms']:.0f} / {r['quiet']['flood']['answers_per_s']:.1f} / "
               f"{r['quiet']['flood']['refusals']}", ""),
    ("weights", "weights 1:3: heavy's share of served tokens", lambda r: f"{_share(r):.3f}", "aim 0.75 (+- 10%)"),
    ("alone", "one tenant, 128 clients: answers/s", lambda r: f"{r['alone']['answers_per_s']:.1f}",
     "fair / FIFO >= 0.95"),
    ("deadline", "128 clients with 1 s deadlines: answers/s", lambda r: f"{r['deadline']['answers_per_s']:.1f}", ""),
    ("deadline", "  answered p50 / p99 (ms)", lambda r: _pair(r, r["deadline"], "p50_ms", "p99_ms"), ""),
    ("deadline", "  / answers/s without deadlines",
     lambda r: f"{ratio(r['deadline']['answers_per_s'], r['alone']['answers_per_s']):.3f}", "aim >= 0.8"),
    ("deadline", "  DEADLINE_EXCEEDED in the window",
     lambda r: str(r["deadline"]["codes"].get("DEADLINE_EXCEEDED", 0)), ""),
    ("big", "384 clients x 8 texts: admitted p50 / p99 (ms)", lambda r: _pair(r, r["big"], "p50_ms", "p99_ms"),
     "p99 <= queue bound + B"),
    ("big", "  queue bound + B (ms)", lambda r: f"{1000 * (r['big']['bound_s'] + r['b_s']):.0f}", ""),
    ("big", "  answered texts/s", lambda r: f"{r['big']['texts_per_s']:.1f}", ""),
    ("big", "  status codes in the window", lambda r: _codes(r["big"]), "only RESOURCE_EXHAUSTED refused"),
    ("big", "  refusal p50 / p99 (ms)", lambda r: _pair(r, r["big"], "refusal_p50_ms", "refusal_p99_ms", fmt="{:.1f}"),
     "p99 <= 50 ms"),
    ("big", "  after the first burst: admitted p99 / refusal p99 (ms)",
     lambda r: _pair(r, r["big"], "steady_p99_ms", "steady_refusal_p99_ms"), "calls sent after the warm-up time"),
    ("big", "  retry hint p50 (ms)", lambda r: f"{r['big']['hint_p50_ms']:.0f}", ""),
]  # fmt: skip


def report(out: dict[str, Any]) -> list[str]:
    lines = ["| measure | FIFO (today) | fair | aim |", "|---|---:|---:|---|"]
    for arm, label, value, aim in MEASURES:
        needed = {"b": "b_s"}.get(arm, arm)
        if all(needed in out[s] and "b_s" in out[s] for s in SCHEDULERS):
            lines.append(f"| {label} | {value(out['fifo'])} | {value(out['fair'])} | {aim} |")
    if all("alone" in out[s] for s in SCHEDULERS):
        alone = ratio(out["fair"]["alone"]["answers_per_s"], out["fifo"]["alone"]["answers_per_s"])
        lines.append(f"\nfair / FIFO throughput, one tenant alone: {alone:.3f}")
    return lines


def main_hostile(args: argparse.Namespace) -> int:
    from fairness_hostile import report_hostile, run_hostile

    started = time.perf_counter()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    print(f"## bench_fairness --hostile\n\nload average at start: {Path('/proc/loadavg').read_text().strip()}",
          flush=True)  # fmt: skip
    out = run_hostile(args.quick, args.warmup, args.duration, skip)
    print("\n" + "\n".join(report_hostile(out)))
    out["seconds"] = time.perf_counter() - started
    print(f"\n(total {out['seconds']:.0f} s; load average {out['load_start']} at start, "
          f"{Path('/proc/loadavg').read_text().strip()} at end on {os.cpu_count()} CPUs)")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.hostile:
        return main_hostile(args)
    started = time.perf_counter()
    runtime = Runtime.load(BACKBONE, device=args.device, threads=args.threads)
    header = {
        "backbone": BACKBONE,
        "device": str(runtime.backbone.device),
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "quick": args.quick,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print("## bench_fairness\n\n" + ", ".join(f"{k}: {v}" for k, v in header.items()), flush=True)
    out = run_all(args, runtime)
    print("\n" + "\n".join(report(out)))
    out["header"] = header
    out["seconds"] = time.perf_counter() - started
    out["load_average_1m_end"] = round(os.getloadavg()[0], 2)
    print(f"\n(total {out['seconds']:.0f} s; 1-minute load average {header['load_average_1m']} at start, "
          f"{out['load_average_1m_end']} at end on {os.cpu_count()} CPUs)")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
