"""What a simulated run (benchmarks/sim_cluster.py) reports: per policy, over the steady window
(arrivals after the warm-up fraction of the trace), and the ratios against random routing."""

from __future__ import annotations

from typing import Any

import numpy as np

HIT, WARM, COLD, JOINED, REJECTED = range(5)


def summarize(sim: Any, wall_s: float) -> dict[str, Any]:
    """The policy's numbers: tier hit rates, loads per second, spill, imbalance, engine time,
    throughput, the capacity it predicts, and latency."""
    trace, w = sim.trace, sim.warm_index
    window = max(sim.t_end - sim.t_warm, 1e-9)
    outcome = np.frombuffer(bytes(sim.outcome), dtype=np.uint8)
    finish = np.asarray(sim.finish)
    arrivals, replica = np.asarray(trace.times[w:]), np.asarray(sim.replica_of[w:])
    adapters = np.asarray(trace.adapters[w:])
    served = outcome[w:] != REJECTED
    counts = np.bincount(outcome[w:], minlength=5)
    n_served = max(int(served.sum()), 1)
    latency_ms = (finish[w:] - arrivals)[served] * 1000
    per_replica = np.bincount(replica[served], minlength=sim.config.replicas)
    done_in_window = (outcome != REJECTED) & (finish >= sim.t_warm) & (finish < sim.t_end)
    throughput = float(done_in_window.sum()) / window
    busy = sim.busy / window  # fraction of the window each replica's engine packed / ran forwards
    busy_total = busy.sum(axis=0)
    top = sim.trace.popular[:10]
    serving = [len(np.unique(replica[served & (adapters == a)])) for a in top]
    loads = counts[WARM] + counts[COLD]
    return {
        "policy": sim.policy,
        "requests": n_served,
        "rejected": int(counts[REJECTED]),
        "device_hit": counts[HIT] / n_served,
        "joined": counts[JOINED] / n_served,  # device misses that waited on a load under way
        "host_hit": counts[WARM] / loads if loads else 0.0,  # of the loads, from the host tier
        "warm_loads_per_s": sim.loads[0] / window,
        "cold_loads_per_s": sim.loads[1] / window,
        "top10_resident": float(np.mean(sim.samples)) if sim.samples else 0.0,
        "top10_serving": float(np.mean(serving)),
        "imbalance": float(per_replica.max() / per_replica.mean()),
        "busy_load": float(busy[0].mean()),
        "busy_forward": float(busy[1].mean()),
        "busy_max": float(busy_total.max()),
        "offered_rps": sim.config.arrival_rate(),
        "throughput_rps": throughput,
        "capacity_rps": throughput / max(float(busy_total.mean()), 1e-9),
        "p50_ms": float(np.percentile(latency_ms, 50)),
        "p99_ms": float(np.percentile(latency_ms, 99)),
        "spilled": getattr(sim.router, "spilled", None),
        "wall_s": wall_s,
    }


COLUMNS = (  # header, key, format
    ("policy", "policy", "{}"),
    ("device hit", "device_hit", "{:.1%}"),
    ("host hit (loads)", "host_hit", "{:.1%}"),
    ("warm loads/s", "warm_loads_per_s", "{:,.0f}"),
    ("cold loads/s", "cold_loads_per_s", "{:,.0f}"),
    ("top-10 on replicas", "top10_resident", "{:.1f}"),
    ("top-10 served by", "top10_serving", "{:.1f}"),
    ("max/mean req", "imbalance", "{:.2f}"),
    ("engine loading", "busy_load", "{:.1%}"),
    ("engine forwards", "busy_forward", "{:.1%}"),
    ("busiest engine", "busy_max", "{:.1%}"),
    ("served/s", "throughput_rps", "{:,.0f}"),
    ("capacity/s", "capacity_rps", "{:,.0f}"),
    ("p50 ms", "p50_ms", "{:.0f}"),
    ("p99 ms", "p99_ms", "{:.0f}"),
    ("rejected", "rejected", "{:,}"),
)
RATIOS = ("device_hit", "cold_loads_per_s", "warm_loads_per_s", "busy_load", "capacity_rps", "p50_ms", "p99_ms")


def ratios(results: list[dict[str, Any]], against: str = "random") -> dict[str, dict[str, float]]:
    """Each policy's numbers divided by ``against``'s, from the same run."""
    base = next((r for r in results if r["policy"] == against), None)
    if base is None:
        return {}
    return {
        r["policy"]: {key: (r[key] / base[key] if base[key] else float("nan")) for key in RATIOS}
        for r in results
        if r["policy"] != against
    }


def table(results: list[dict[str, Any]]) -> str:
    """A Markdown table, one row per policy."""
    lines = ["| " + " | ".join(h for h, _, _ in COLUMNS) + " |", "|---" + "|---:" * (len(COLUMNS) - 1) + "|"]
    for result in results:
        lines.append("| " + " | ".join(fmt.format(result[key]) for _, key, fmt in COLUMNS) + " |")
    return "\n".join(lines)


def ratio_table(results: list[dict[str, Any]], against: str = "random") -> str:
    rows = ratios(results, against)
    if not rows:
        return ""
    lines = [f"| / {against} | " + " | ".join(RATIOS) + " |", "|---" + "|---:" * len(RATIOS) + "|"]
    lines += [f"| {policy} | " + " | ".join(f"{row[k]:.3f}" for k in RATIOS) + " |" for policy, row in rows.items()]
    return "\n".join(lines)
