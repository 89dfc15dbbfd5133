"""The cluster simulation (benchmarks/sim_cluster.py): its tiers follow the hub's, its routers
follow Serve's rules, and it is deterministic. Tiny configurations, no timing thresholds."""

from __future__ import annotations

import random
import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from sim_cluster import ClusterSim, run
from sim_policies import AffinityRouter, Attempt, ByteLRU, HashRouter, Load, RouteLRU
from sim_report import COLD
from sim_trace import BACKBONES, SimConfig, make_trace

from hub.residency.tier import MemoryTier, TierFull

ONE = 8 * BACKBONES["minilm-l6"].params_per_rank * 4  # a rank-8 float32 adapter: packed and file bytes alike
TINY = SimConfig(
    replicas=4,
    adapters=8,
    requests=6_000,
    zipf=1.0,
    load=0.3,
    device_bytes=2 * ONE,  # two adapters per replica
    host_bytes=2 * ONE,
    routes_cap=2,
    ranks="8:1",
    fp16_share=0.0,
    report_lag_ms=0.0,
)


def simulate(config: SimConfig, policy: str) -> ClusterSim:
    sim = ClusterSim(config, make_trace(config), policy)
    sim.run(progress=False)
    return sim


def test_the_same_seed_gives_the_same_run() -> None:
    first, second = (run(TINY, progress=False)["results"] for _ in range(2))
    for a, b in zip(first, second, strict=True):
        assert {k: v for k, v in a.items() if k != "wall_s"} == {k: v for k, v in b.items() if k != "wall_s"}
    other = run(replace(TINY, seed=1), ("random",), progress=False)["results"][0]
    assert other["p50_ms"] != first[1]["p50_ms"] or other["device_hit"] != first[1]["device_hit"]


def test_affinity_routing_loads_fewer_adapters_cold_than_random() -> None:
    # 8 adapters, 4 replicas holding 2 each: sticking to holders fits them all; random routing
    # shows each replica all 8, and its 2 slots keep turning over.
    colds = {policy: simulate(TINY, policy).outcome.count(COLD) for policy in ("affinity", "random")}
    assert colds["affinity"] < colds["random"]


def test_consistent_hashing_keeps_an_adapter_on_its_owner_unless_it_spills() -> None:
    config = replace(TINY, adapters=40, device_bytes=40 * ONE, host_bytes=40 * ONE, routes_cap=0, load=0.2)
    sim = simulate(replace(config, eps=1e9), "hash")  # no load bound: nothing spills
    router = sim.router
    assert isinstance(router, HashRouter) and router.spilled == 0
    replicas_of: dict[int, set[int]] = {}
    for adapter, replica in zip(sim.trace.adapters, sim.replica_of, strict=True):
        replicas_of.setdefault(adapter, set()).add(replica)
    assert len(replicas_of) > 20
    assert all(replicas == {router.order(a)[0]} for a, replicas in replicas_of.items())
    # bounded (eps 0.25) at a higher load: requests leave the owner only as counted spills
    bounded = simulate(replace(config, load=0.6), "hash")
    ring = bounded.router
    assert isinstance(ring, HashRouter)
    off_owner = sum(r != ring.order(a)[0] for a, r in zip(bounded.trace.adapters, bounded.replica_of, strict=True))
    assert off_owner == ring.spilled > 0


def test_the_byte_lru_evicts_least_recently_used_first() -> None:
    tier = ByteLRU(10)
    assert tier.put(1, 4) == [] and tier.put(2, 4) == []
    assert tier.lookup(1)  # 2 is now the oldest
    assert tier.put(3, 4) == [2]
    assert tier.put(4, 6) == [1]  # 1 + 3 + 4 would be 14: drop the oldest only until 4 fits
    assert tier.keys() == [3, 4] and tier.used == 10
    assert tier.put(5, 11) is None and tier.keys() == [3, 4]  # larger than the budget: nothing changes
    assert tier.put(3, 1) == [] and tier.keys() == [4, 3] and tier.used == 7  # replaced, made newest


def test_the_byte_lru_matches_the_hubs_memory_tier() -> None:
    rng = random.Random(7)
    ours, hubs = ByteLRU(100), MemoryTier[int]("device", 100)
    for _ in range(3_000):
        key, op = rng.randrange(30), rng.random()
        if op < 0.5:
            size = rng.choice([5, 10, 20, 40, 101])
            evicted = ours.put(key, size)
            try:
                assert [int(k) for k, _ in hubs.put(str(key), key, size)] == evicted
            except TierFull:
                assert evicted is None
        elif op < 0.9:
            assert ours.lookup(key) == (hubs.lookup(str(key)) is not None)
        else:
            assert ours.remove(key) == (hubs.remove(str(key)) is not None)
        assert [int(k) for k in hubs.keys()] == ours.keys()  # noqa: SIM118 (MemoryTier.keys, no __iter__) and hubs.used == ours.used


def test_the_routes_lru_honours_its_cap() -> None:
    routes = RouteLRU(2)
    assert routes.touch(1) == (True, None) and routes.touch(2) == (True, None)
    assert routes.touch(1) == (False, None)
    assert routes.touch(3) == (True, 2)  # 2 was the least recently used key
    assert list(routes.keys) == [1, 3]
    assert routes.withdraw(1) and not routes.withdraw(1)


@pytest.mark.parametrize("policy", ["affinity", "random", "hash"])
def test_models_per_replica_caps_routes_and_the_device_tier_follows(policy: str) -> None:
    # The device tier could hold 20 adapters; Serve's 3 routing keys are the tighter limit.
    config = replace(TINY, adapters=30, device_bytes=20 * ONE, host_bytes=20 * ONE, routes_cap=3)
    sim = simulate(config, policy)
    for rep in sim.replicas:
        assert len(rep.routes) <= 3
        assert set(rep.device.keys()) <= set(rep.routes.keys)  # a dropped route was demoted
    if isinstance(sim.router, AffinityRouter):
        assert all(
            sim.router.holders.get(a, set()) == {rep.index for rep in sim.replicas if a in rep.routes}
            for a in range(30)
        )


def test_affinity_prefers_holders_and_spills_when_they_are_full() -> None:
    load = Load(4, max_ongoing=2)
    router = AffinityRouter(load, random.Random(0), 4)
    router.report(2, 5, True)
    assert {router.route(5, Attempt(0.0), 0.0) for _ in range(20)} == {2}
    load.ongoing[2] = 2  # the only holder is full: the retry goes to the replicas with fewest models
    attempt = Attempt(0.0)
    assert router.route(5, attempt, 0.0) is None
    assert router.route(5, attempt, 0.0) in {0, 1, 3}
    router.report(0, 9, True)
    assert router.fewest() == (1, 3)


def test_bounded_load_hashing_walks_past_a_busy_owner() -> None:
    load = Load(4, max_ongoing=64)
    router = HashRouter(load, 4, eps=0.0)
    owner, second = router.order(11)[:2]
    assert router.route(11, Attempt(0.0), 0.0) == owner and router.spilled == 0
    load.ongoing[owner], load.total = 3, 3  # over (1 + 0) x (3 + 1) / 4 = 1
    assert router.route(11, Attempt(0.0), 0.0) == second and router.spilled == 1
