"""The hostile client mode of bench_fairness (issue 21): clients that resend the moment a call
ends, refusals and retry hints ignored, against a real `adapter-hub serve` (packaged backbone,
auth on, every other setting at the hub's default) on 127.0.0.1. Clients are asyncio (grpc.aio,
raw stubs, no client retries), many per process across a few processes; each arm reports the
generator's own CPU so it can be seen not to be the limit.

Arms (two tenants, ``quiet`` and ``flood``, weight 1 each, each with its own key and a copy of
the shipped finance sentiment adapter; texts of 16-64 tokens, one per call):

- B: one request of 32 texts on the idle hub (median of 3), measured on each arm's server.
- quiet alone: 2 requests/s (Poisson), one text.
- flood alone, ``POLITE_CLIENTS`` closed-loop clients (fewer than the queue holds): the flood's
  rate without refusals.
- flood of 256 and of 1,024 hostile clients beside the quiet tenant: quiet p50 / B, quiet's
  refusals; the flood's answers/s against its rate without refusals.
- 128 hostile clients with 1 s deadlines, against the same 128 without deadlines.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from typing import Any

from hub_process import SHIPPED, WORDS, Served, loadavg, run_groups, serve

POLITE_CLIENTS = 48  # under today's queue bound (72 requests): the flood is never refused
QUIET_DEADLINE_S = 30.0


def texts_of(count: int, low: int, high: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high) - 2)) for _ in range(count)]


TEXTS = texts_of(512, 16, 64, seed=1)
FULL_BATCH = texts_of(32, 16, 64, seed=99)


def setup(served: Served) -> float:
    """Both tenants with their adapters; B (seconds, median of 3) on the idle hub."""
    for tenant in ("quiet", "flood"):
        served.add_tenant(tenant, SHIPPED / "finance-tweet-sentiment", "sentiment")
    with served.client("quiet") as client:
        client.predict("sentiment", FULL_BATCH)  # warm
        times = []
        for _ in range(3):
            started = time.perf_counter()
            client.predict("sentiment", FULL_BATCH)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def quiet(served: Served) -> dict[str, Any]:
    return {"target": served.target, "key": served.keys["quiet"], "adapter": "sentiment", "texts": TEXTS,
            "kind": "open", "rate": 2.0, "deadline_s": QUIET_DEADLINE_S, "linger_s": QUIET_DEADLINE_S}  # fmt: skip


def flood(served: Served, clients: int, **extra: Any) -> dict[str, Any]:
    return {"target": served.target, "key": served.keys["flood"], "adapter": "sentiment", "texts": TEXTS,
            "kind": "closed", "clients": clients, "linger_s": 35.0, **extra}  # fmt: skip


def procs_for(clients: int) -> int:
    return 1 if clients <= 64 else 2 if clients <= 256 else 4


def arm_baseline(w: float, d: float) -> dict[str, Any]:
    """B, quiet alone and the flood's rate without refusals, on one server."""
    with serve() as served:
        b = setup(served)
        alone = run_groups({"quiet": quiet(served)}, w, d)["quiet"]
        polite = run_groups({"flood": flood(served, POLITE_CLIENTS)}, w, d)["flood"]
    return {"b_s": b, "quiet_alone": alone, "flood_polite": polite}


def arm_flood(clients: int, w: float, d: float) -> dict[str, Any]:
    with serve() as served:
        b = setup(served)
        groups = {"quiet": quiet(served), "flood": flood(served, clients)}
        both = run_groups(groups, w, d, {"flood": procs_for(clients)})
    return {"b_s": b, **both}


def arm_deadline(w: float, d: float) -> dict[str, Any]:
    with serve() as served:
        b = setup(served)
        free = run_groups({"flood": flood(served, 128)}, w, d, {"flood": 2})["flood"]
        time.sleep(3.0)  # what the last arm left queued drains
        bounded = run_groups({"flood": flood(served, 128, deadline_s=1.0)}, w, d, {"flood": 2})["flood"]
    return {"b_s": b, "no_deadline": free, "deadline": bounded}


def run_hostile(quick: bool, warmup: float, duration: float, skip: set[str]) -> dict[str, Any]:
    w = warmup or (3.0 if quick else 5.0)
    d = duration or (8.0 if quick else 15.0)
    out: dict[str, Any] = {"load_start": loadavg()}
    arms = {"baseline": lambda: arm_baseline(w, d), "flood256": lambda: arm_flood(256, w, d),
            "flood1024": lambda: arm_flood(1024, w, d), "deadline": lambda: arm_deadline(w, d)}  # fmt: skip
    for name, arm in arms.items():
        if name not in skip:
            begun = time.perf_counter()
            out[name] = arm()
            out[name]["load"] = loadavg()
            print(
                f"({name}: {time.perf_counter() - begun:.0f} s, load average {loadavg()})", file=sys.stderr, flush=True
            )
    return out


def _codes(g: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(g["codes"].items()))


def _lat(g: dict[str, Any]) -> str:
    late = f" ({g['unfinished']} unanswered: lower bound)" if g["unfinished"] else ""
    return f"{g['p50_ms']:.0f} / {g['p99_ms']:.0f}{late}"


def report_hostile(out: dict[str, Any]) -> list[str]:
    lines = ["| measure | value | aim | load avg |", "|---|---:|---|---|"]
    base = out.get("baseline")
    if base:
        lines += [
            f"| B: one request of 32 texts, idle hub (s) | {base['b_s']:.3f} | | {base['load']} |",
            f"| quiet alone p50 / p99 (ms) | {_lat(base['quiet_alone'])} | | |",
            f"| flood alone, {POLITE_CLIENTS} clients (rate without refusals): answers/s, codes | "
            f"{base['flood_polite']['answers_per_s']:.1f}, {_codes(base['flood_polite'])} | | |",
        ]
    for clients in (256, 1024):
        r = out.get(f"flood{clients}")
        if not r:
            continue
        q, f = r["quiet"], r["flood"]
        polite = base["flood_polite"]["answers_per_s"] if base else float("nan")
        lines += [
            f"| **{clients} hostile clients** beside quiet: B on this server (s) | {r['b_s']:.3f} | | {r['load']} |",
            f"|   quiet p50 / p99 (ms) | {_lat(q)} | | |",
            f"|   quiet p50 in units of B | **{q['p50_ms'] / 1000 / r['b_s']:.2f}** | <= 2 B | |",
            f"|   quiet codes (refusals: RESOURCE_EXHAUSTED) | {_codes(q)} | never refused | |",
            f"|   flood answers/s / its rate without refusals | {f['answers_per_s']:.1f} / {polite:.1f} = "
            f"**{f['answers_per_s'] / polite:.2f}** | >= 0.8 | |",
            f"|   flood p50 / p99 (ms), calls sent in the window | {_lat(f)}, {f['calls']:,} | | |",
            f"|   flood codes | {_codes(f)} | | |",
            f"|   generator: {f['processes']} processes, cores used | {f['generator_cores']:.2f} | | |",
        ]
    r = out.get("deadline")
    if r:
        free, bounded = r["no_deadline"], r["deadline"]
        lines += [
            f"| **128 hostile clients, 1 s deadlines**: answers/s | {bounded['answers_per_s']:.1f} | | {r['load']} |",
            f"|   the same without deadlines: answers/s | {free['answers_per_s']:.1f} | | |",
            f"|   ratio | **{bounded['answers_per_s'] / max(free['answers_per_s'], 1e-9):.2f}** | >= 0.8 | |",
            f"|   with deadlines: codes | {_codes(bounded)} | | |",
            f"|   without: codes | {_codes(free)} | | |",
            f"|   generator cores (with / without) | {bounded['generator_cores']:.2f} / {free['generator_cores']:.2f} "
            f"| | |",
        ]
    return lines
