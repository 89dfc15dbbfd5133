"""Simulated scale-out: the hub on Ray Serve, many replicas and adapters, three routing policies.

A trace-driven, event-driven model of N hub replicas (hub/cluster) behind one router. The same
Zipf trace (Poisson arrivals) is replayed under each policy (benchmarks/sim_policies.py: Serve's
multiplexed routing, Serve's plain power of two choices, consistent hashing with bounded loads).
Each replica keeps the residency tiers as configured (device and host, byte-budgeted LRU, as
hub/residency/tier.py), Serve's routing-key LRU of ``models_per_replica`` kept in step with the
device tier (hub/cluster/routes.py), and one engine that packs adapters and runs batched
forwards. Costs are the measured ones of BENCHMARKS.md (benchmarks/sim_trace.py, ``PROFILES``);
the numbers it reports are benchmarks/sim_report.py's.

    .venv/bin/python benchmarks/sim_cluster.py --quick                # 10 replicas x 1,000 adapters
    .venv/bin/python benchmarks/sim_cluster.py --json sim.json        # 100 replicas x 10,000 adapters
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import math
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from sim_policies import POLICIES, AffinityRouter, Attempt, Load, Replica, backoff_s, make_router
from sim_report import COLD, HIT, JOINED, REJECTED, WARM, ratio_table, summarize, table
from sim_trace import BACKBONES, PROFILES, QUICK, SimConfig, Trace, make_trace
from tqdm import tqdm

RETRY, FETCHED, DONE, REPORT, SAMPLE = range(5)
PACK, BATCH = 0, 1


class ClusterSim:
    """One policy over one trace. Event handlers take (now, x, y)."""

    def __init__(self, config: SimConfig, trace: Trace, policy: str) -> None:
        self.config, self.trace, self.policy = config, trace, policy
        n, replicas = len(trace.times), config.replicas
        self.replicas = [Replica(r, config.device_bytes, config.host_bytes, config.routes_cap) for r in range(replicas)]
        self.load = Load(replicas, config.max_ongoing)
        self.router = make_router(policy, self.load, replicas, config.seed, config.eps, config.timeout_s)
        self.listens = isinstance(self.router, AffinityRouter)
        self.heap: list[tuple[float, int, int, int, int]] = []
        self.seq = itertools.count()
        self.replica_of, self.finish, self.outcome = [-1] * n, [math.nan] * n, bytearray(n)
        self.warm_index = min(n - 1, int(config.warmup * n))
        self.t_warm, self.t_end = trace.times[self.warm_index], trace.times[-1]
        self.pending = 0
        self.attempts: dict[int, Attempt] = {}
        self.loads = [0, 0]  # warm, cold loads started inside the window
        self.busy = np.zeros((2, replicas))  # engine seconds inside the window: packing, forwards
        self.samples: list[list[int]] = []  # per sample: replicas holding each top-10 adapter
        self.handlers = (self._retry, self._fetched, self._done, self._report_arrives, self._sample)

    def push(self, when: float, kind: int, x: int, y: int = 0) -> None:
        heapq.heappush(self.heap, (when, next(self.seq), kind, x, y))

    def run(self, progress: bool = True) -> None:
        times, heap, n = self.trace.times, self.heap, len(self.trace.times)
        self.push(self.t_warm, SAMPLE, 0)
        bar = tqdm(total=n, desc=f"{self.policy:>8}", unit="req", disable=not progress, mininterval=0.5)
        i = 0
        while i < n or heap:
            if heap and (i >= n or heap[0][0] <= times[i]):
                now, _, kind, x, y = heapq.heappop(heap)
                self.handlers[kind](now, x, y)
            else:
                self._try(i, Attempt(times[i]), times[i])
                i += 1
                if i % 20_000 == 0:
                    bar.update(20_000)
        bar.update(n - bar.n)
        bar.close()

    # ---- routing ----------------------------------------------------------------------
    def _try(self, req: int, attempt: Attempt, now: float) -> None:
        adapter = self.trace.adapters[req]
        while True:
            replica = self.router.route(adapter, attempt, now)
            attempt.n += 1
            if replica is not None:
                self.pending -= attempt.n > 2  # it waited at the router since its second try
                self.attempts.pop(req, None)
                self._dispatch(replica, req, now)
                return
            wait = backoff_s(attempt.n)
            if wait > 0:
                break
        if attempt.n == 2:
            if self.pending >= self.config.queue_bound():  # Serve's max_queued_requests
                self.outcome[req], self.finish[req] = REJECTED, now
                return
            self.pending += 1
        self.attempts[req] = attempt
        self.push(now + wait, RETRY, req)

    def _retry(self, now: float, req: int, _: int) -> None:
        self._try(req, self.attempts[req], now)

    # ---- a replica ------------------------------------------------------------------------
    def _dispatch(self, r: int, req: int, now: float) -> None:
        rep, adapter = self.replicas[r], self.trace.adapters[req]
        self.replica_of[req] = r
        self.load.ongoing[r] += 1
        self.load.total += 1
        if rep.device.lookup(adapter):
            self.outcome[req] = HIT
            rep.ready.append(req)
        elif adapter in rep.loading:  # single-flight: wait for the load under way
            self.outcome[req] = JOINED
            rep.loading[adapter].append(req)
        else:
            rep.loading[adapter] = [req]
            cold = not rep.host.lookup(adapter)
            self.outcome[req] = COLD if cold else WARM
            self.loads[cold] += self.t_warm <= now < self.t_end
            if cold:
                self.push(now + self.trace.cold_wait_s[adapter], FETCHED, r, adapter)
            else:
                rep.packs.append((adapter, False))
        if rep.job is None:
            self._start(rep, now)

    def _fetched(self, now: float, r: int, adapter: int) -> None:
        rep = self.replicas[r]
        rep.host.put(adapter, self.trace.host_bytes[adapter])  # too large: served, not kept
        rep.packs.append((adapter, True))
        if rep.job is None:
            self._start(rep, now)

    def _start(self, rep: Replica, now: float) -> None:
        """The engine's next job: a waiting pack first, else a batch of ready requests."""
        if rep.packs:
            adapter, cold = rep.packs.popleft()
            took = (self.trace.cold_busy_s if cold else self.trace.warm_s)[adapter]
            rep.job, kind = (PACK, adapter), 0
        elif rep.ready:
            p = self.config.costs
            batch = [rep.ready.popleft() for _ in range(min(len(rep.ready), p.max_batch))]
            took = (p.forward_fixed_ms + p.forward_row_ms * len(batch)) / 1000
            rep.job, kind = (BATCH, batch), 1
        else:
            rep.job = None
            return
        if self.t_warm <= now < self.t_end:
            self.busy[kind, rep.index] += min(took, self.t_end - now)
        self.push(now + took, DONE, rep.index)

    def _done(self, now: float, r: int, _: int) -> None:
        rep = self.replicas[r]
        kind, what = rep.job
        if kind == PACK:
            for victim in rep.device.put(what, self.trace.device_bytes[what]) or ():
                if rep.routes.withdraw(victim):  # routes.py: residency dropped it, so does Serve
                    self._report(r, victim, False, now)
            rep.ready.extend(rep.loading.pop(what))
        else:
            for req in what:
                self._complete(rep, req, now)
        rep.job = None
        self._start(rep, now)

    def _complete(self, rep: Replica, req: int, now: float) -> None:
        """Answered; then the replica registers the routing key (replica.py follow_route)."""
        self.finish[req] = now
        self.load.ongoing[rep.index] -= 1
        self.load.total -= 1
        adapter = self.trace.adapters[req]
        added, dropped = rep.routes.touch(adapter)
        if dropped is not None:  # Serve's LRU dropped a key: routes.py demotes it (host copy stays)
            rep.device.remove(dropped)
            self._report(rep.index, dropped, False, now)
        if added:
            self._report(rep.index, adapter, True, now)

    def _report(self, r: int, adapter: int, added: bool, now: float) -> None:
        if self.listens:
            self.push(now + self.config.report_lag_ms / 1000, REPORT, r, adapter * 2 + added)

    def _report_arrives(self, now: float, r: int, code: int) -> None:
        self.router.report(r, code // 2, bool(code % 2))

    def _sample(self, now: float, _: int, __: int) -> None:
        top = self.trace.popular[:10]
        self.samples.append([sum(a in rep.device for rep in self.replicas) for a in top])
        if now < self.t_end:
            self.push(now + (self.t_end - self.t_warm) / 50, SAMPLE, 0)


# ---- the command line ----------------------------------------------------------------------
def describe(config: SimConfig, trace: Trace) -> dict[str, Any]:
    """The configuration as run, with the sizes the trace drew."""
    device, files = np.asarray(trace.device_bytes), np.asarray(trace.host_bytes)
    return {
        **asdict(config),
        "costs": asdict(config.costs),
        "offered_rps": config.arrival_rate(),
        "capacity_rps": config.capacity_rps(),
        "queue_bound": config.queue_bound(),
        "device_mib_mean": float(device.mean() / 2**20),
        "file_mib_mean": float(files.mean() / 2**20),
        "device_tier_holds": int(config.device_bytes // device.mean()),
        "host_tier_holds": int(config.host_bytes // files.mean()),
        "duration_s": trace.times[-1],
    }


def run(config: SimConfig, policies: tuple[str, ...] = POLICIES, progress: bool = True) -> dict[str, Any]:
    trace = make_trace(config)
    results = []
    for policy in policies:
        started = time.perf_counter()
        sim = ClusterSim(config, trace, policy)
        sim.run(progress)
        results.append(summarize(sim, time.perf_counter() - started))
    return {"config": describe(config, trace), "results": results}


def arguments(argv: list[str] | None) -> tuple[argparse.Namespace, SimConfig]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10 replicas x 1,000 adapters, 100,000 requests")
    parser.add_argument("--policies", default=",".join(POLICIES))
    parser.add_argument("--json", type=Path, help="write the configuration and results here")
    parser.add_argument("--no-progress", action="store_true")
    for field, default in asdict(SimConfig()).items():
        flag = "--" + field.replace("_", "-")
        parser.add_argument(flag, type=type(default), default=None, help=f"default {default}")
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if k in SimConfig.__dataclass_fields__ and v is not None}
    config = replace(QUICK if args.quick else SimConfig(), **overrides)
    if config.profile not in PROFILES or config.backbone not in BACKBONES:
        parser.error(f"--profile: one of {sorted(PROFILES)}; --backbone: one of {sorted(BACKBONES)}")
    return args, config


def main(argv: list[str] | None = None) -> int:
    args, config = arguments(argv)
    policies = tuple(p for p in args.policies.split(",") if p)
    report = run(config, policies, progress=not args.no_progress)
    c = report["config"]
    print(
        f"\n{config.replicas} replicas x {config.adapters:,} adapters, {config.requests:,} requests, "
        f"Zipf({config.zipf}); {c['offered_rps']:,.0f} req/s offered ({c['offered_rps'] / c['capacity_rps']:.0%} "
        f"of {c['capacity_rps']:,.0f} forward capacity, profile {config.profile}: {config.costs.source}); "
        f"{c['duration_s']:.0f} s simulated, steady after {config.warmup:.0%}"
    )
    print(
        f"adapters ({config.backbone}, ranks {config.ranks}): {c['device_mib_mean']:.2f} MiB packed, "
        f"{c['file_mib_mean']:.2f} MiB files on average; a device tier of {config.device_bytes / 2**30:.1f} GiB "
        f"holds ~{c['device_tier_holds']}, host {config.host_bytes / 2**30:.1f} GiB ~{c['host_tier_holds']}, "
        f"routes cap {config.routes_cap or 'none'}\n"
    )
    print(table(report["results"]))
    print()
    print(ratio_table(report["results"]))
    print("\nwall: " + ", ".join(f"{r['policy']} {r['wall_s']:.1f} s" for r in report["results"]))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
