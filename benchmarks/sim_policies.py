"""The pieces of the cluster simulation (benchmarks/sim_cluster.py): tiers, replicas, routers.

- ``ByteLRU``: one residency tier, byte-budgeted, least recently used out first; the same
  rules as ``hub.residency.tier.MemoryTier`` without pins (tests/unit/test_sim_cluster.py
  replays random operations on both and compares).
- ``RouteLRU``: Ray Serve's multiplex LRU of routing keys (``max_num_models_per_replica``,
  ray/serve/multiplex.py); a touched key moves to the end, a new key past the cap drops the
  least recently used one.
- ``Replica``: the two tiers, the routes, and the engine's work queues of one hub replica.
- Routers, each ``route(adapter, attempt) -> replica | None`` (None: nobody accepted; retry
  after the backoff):

  * ``AffinityRouter``: Serve's multiplexed routing (ray/serve/_private/request_router/
    request_router.py, ``MultiplexMixin.apply_multiplex_routing`` and
    pow_2_router.py): replicas known to hold the model id first, then the replicas with the
    fewest model ids, and after the matching timeout (1-2 s) all replicas; power of two
    choices by queue length within the candidates, a replica at ``max_ongoing_requests``
    refusing.
  * ``RandomRouter``: Serve's power of two choices without a model id.
  * ``HashRouter``: consistent hashing on a ring of virtual nodes with bounded loads
    (Mirrokni, Thorup, Zadimoghaddam, SODA 2018): the first replica clockwise whose ongoing
    requests stay under ceil((1 + eps) x (all ongoing + 1) / replicas).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import OrderedDict, deque
from typing import Any

import numpy as np


class ByteLRU:
    """Keys with sizes, at most ``budget`` bytes in all; hits move a key to the end."""

    __slots__ = ("budget", "entries", "evictions", "hits", "misses", "used")

    def __init__(self, budget: int) -> None:
        self.budget = max(0, budget)
        self.entries: OrderedDict[int, int] = OrderedDict()
        self.used = 0
        self.hits = self.misses = self.evictions = 0

    def __contains__(self, key: int) -> bool:
        return key in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def lookup(self, key: int) -> bool:
        """A hit (made most recently used) or a miss, counted like MemoryTier.lookup."""
        if key in self.entries:
            self.hits += 1
            self.entries.move_to_end(key)
            return True
        self.misses += 1
        return False

    def put(self, key: int, nbytes: int) -> list[int] | None:
        """Insert (or replace), evicting oldest first only until there is room; the evicted keys.
        None when the entry is larger than the budget (MemoryTier raises TierFull): nothing changes."""
        if nbytes > self.budget:
            return None
        if key in self.entries:
            self.used -= self.entries.pop(key)
        victims: list[int] = []
        freed = 0
        for candidate in self.entries:
            if self.used - freed + nbytes <= self.budget:
                break
            victims.append(candidate)
            freed += self.entries[candidate]
        for victim in victims:
            self.used -= self.entries.pop(victim)
        self.evictions += len(victims)
        self.entries[key] = nbytes
        self.used += nbytes
        return victims

    def remove(self, key: int) -> bool:
        nbytes = self.entries.pop(key, None)
        if nbytes is None:
            return False
        self.used -= nbytes
        return True

    def keys(self) -> list[int]:
        return list(self.entries)


class RouteLRU:
    """Serve's multiplex LRU on one replica: at most ``cap`` routing keys (0: no cap)."""

    __slots__ = ("cap", "keys")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.keys: OrderedDict[int, None] = OrderedDict()

    def __contains__(self, key: int) -> bool:
        return key in self.keys

    def __len__(self) -> int:
        return len(self.keys)

    def touch(self, key: int) -> tuple[bool, int | None]:
        """(whether ``key`` is new here, the key dropped to make room or None)."""
        if key in self.keys:
            self.keys.move_to_end(key)
            return False, None
        dropped = None
        if 0 < self.cap <= len(self.keys):
            dropped, _ = self.keys.popitem(last=False)
        self.keys[key] = None
        return True, dropped

    def withdraw(self, key: int) -> bool:
        if key not in self.keys:
            return False
        del self.keys[key]
        return True


class Replica:
    """One hub replica: device and host tiers, Serve's routes, and its engine's queues."""

    __slots__ = ("busy_until", "device", "host", "index", "job", "loading", "packs", "ready", "routes")

    def __init__(self, index: int, device_bytes: int, host_bytes: int, routes_cap: int) -> None:
        self.index = index
        self.device = ByteLRU(device_bytes)
        self.host = ByteLRU(host_bytes)
        self.routes = RouteLRU(routes_cap)
        self.loading: dict[int, list[int]] = {}  # adapter -> requests waiting on its one load
        self.packs: deque[tuple[int, bool]] = deque()  # (adapter, cold) waiting for the engine
        self.ready: deque[int] = deque()  # requests whose adapter is packed, for the next batch
        self.job: Any = None  # what the engine does now: ("pack", adapter, cold) or ("batch", requests)
        self.busy_until = 0.0


class Load:
    """Ongoing requests per replica (Serve's queue length), shared by the routers."""

    __slots__ = ("max_ongoing", "ongoing", "total")

    def __init__(self, replicas: int, max_ongoing: int) -> None:
        self.ongoing = [0] * replicas
        self.total = 0
        self.max_ongoing = max_ongoing


class Attempt:
    """One request's routing state across retries (Serve's ``routing_context``)."""

    __slots__ = ("n", "start", "tried_fewest", "tried_first")

    def __init__(self, start: float) -> None:
        self.start = start
        self.n = 0
        self.tried_first = self.tried_fewest = False


def backoff_s(n: int, initial: float = 0.025, multiplier: float = 2.0, most: float = 0.5) -> float:
    """Serve's wait before retry ``n`` (RAY_SERVE_ROUTER_RETRY_*): none before the first retry."""
    return 0.0 if n <= 1 else min(initial * multiplier ** (n - 2), most)


class PowerOfTwo:
    """Serve's choice among candidates: two at random, the shorter queue that is not full."""

    def __init__(self, load: Load, rng: random.Random) -> None:
        self.load = load
        self.rng = rng

    def pick(self, candidates: tuple[int, ...] | list[int]) -> int | None:
        n = len(candidates)
        if n == 0:
            return None
        if n == 1:
            chosen: tuple[int, ...] = (candidates[0],)
        else:
            i = self.rng.randrange(n)
            j = self.rng.randrange(n - 1)
            chosen = (candidates[i], candidates[j + 1 if j >= i else j])
        ongoing, cap = self.load.ongoing, self.load.max_ongoing
        best, best_len = None, cap
        for replica in chosen:
            if ongoing[replica] < best_len:
                best, best_len = replica, ongoing[replica]
        return best

    def report(self, replica: int, adapter: int, added: bool) -> None:
        """What a replica's routes hold, as the router hears it (only the affinity router listens)."""


class RandomRouter(PowerOfTwo):
    name = "random"

    def __init__(self, load: Load, rng: random.Random, replicas: int) -> None:
        super().__init__(load, rng)
        self.everyone = tuple(range(replicas))

    def route(self, adapter: int, attempt: Attempt, now: float) -> int | None:
        return self.pick(self.everyone)


class AffinityRouter(PowerOfTwo):
    """Serve's multiplexed routing over the model ids the replicas reported."""

    name = "affinity"

    def __init__(self, load: Load, rng: random.Random, replicas: int, timeout_s: float = 1.0) -> None:
        super().__init__(load, rng)
        self.everyone = tuple(range(replicas))
        self.timeout_s = timeout_s  # RAY_SERVE_MULTIPLEXED_MODEL_ID_MATCHING_TIMEOUT_S
        self.holders: dict[int, set[int]] = {}
        self.count = [0] * replicas  # model ids each replica reported
        self.by_count: dict[int, set[int]] = {0: set(range(replicas))}
        self._fewest: tuple[int, ...] | None = self.everyone
        self.fallback: set[int] = set()  # _multiplexed_model_id_fallback_match

    def report(self, replica: int, adapter: int, added: bool) -> None:
        holders = self.holders.setdefault(adapter, set())
        if added == (replica in holders):
            return
        (holders.add if added else holders.discard)(replica)
        old = self.count[replica]
        new = self.count[replica] = old + (1 if added else -1)
        self.by_count[old].discard(replica)
        self.by_count.setdefault(new, set()).add(replica)
        self._fewest = None

    def fewest(self) -> tuple[int, ...]:
        """The replicas with the fewest model ids (cached until the next report)."""
        if self._fewest is None:
            least = min(c for c, members in self.by_count.items() if members)
            self._fewest = tuple(sorted(self.by_count[least]))
        return self._fewest

    def candidates(self, adapter: int, attempt: Attempt, now: float) -> tuple[int, ...]:
        """apply_multiplex_routing: holders, then fewest models, after the timeout everyone."""
        timeout = self.rng.uniform(self.timeout_s, 2 * self.timeout_s)
        if now - attempt.start < timeout:
            holders = self.holders.get(adapter)
            found = tuple(holders) if holders else ()
            if (not found and adapter not in self.fallback) or attempt.tried_first:
                found = self.fewest()
                self.fallback.add(adapter)
            elif found:
                self.fallback.discard(adapter)
            attempt.tried_first = True
            return found
        if not attempt.tried_fewest:
            attempt.tried_fewest = True
            return self.fewest()
        return self.everyone

    def route(self, adapter: int, attempt: Attempt, now: float) -> int | None:
        return self.pick(self.candidates(adapter, attempt, now))


def stable_hash(text: str) -> int:
    """A 64-bit hash that does not change between runs (PYTHONHASHSEED) or machines."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class HashRouter:
    """Consistent hashing with bounded loads: owner first, the next replica clockwise when over."""

    name = "hash"

    def __init__(self, load: Load, replicas: int, eps: float = 0.25, vnodes: int = 100) -> None:
        self.load = load
        self.replicas = replicas
        self.eps = eps
        points = sorted((stable_hash(f"replica-{r}#{v}"), r) for r in range(replicas) for v in range(vnodes))
        self.ring_keys = np.array([p for p, _ in points], dtype=np.uint64)
        self.ring_replicas = [r for _, r in points]
        self._order: dict[int, tuple[int, ...]] = {}
        self.spilled = 0

    def order(self, adapter: int) -> tuple[int, ...]:
        """Every replica, in the order met walking clockwise from the adapter's point."""
        order = self._order.get(adapter)
        if order is None:
            start = int(np.searchsorted(self.ring_keys, np.uint64(stable_hash(f"adapter-{adapter}"))))
            seen: dict[int, None] = {}
            size = len(self.ring_replicas)
            for step in range(size):
                seen.setdefault(self.ring_replicas[(start + step) % size], None)
                if len(seen) == self.replicas:
                    break
            order = self._order[adapter] = tuple(seen)
        return order

    def route(self, adapter: int, attempt: Attempt, now: float) -> int | None:
        ongoing = self.load.ongoing
        bound = min(self.load.max_ongoing, math.ceil((1 + self.eps) * (self.load.total + 1) / self.replicas))
        for position, replica in enumerate(self.order(adapter)):
            if ongoing[replica] < bound:
                self.spilled += position > 0
                return replica
        return None

    def report(self, replica: int, adapter: int, added: bool) -> None:
        """The ring does not depend on what replicas hold."""


Router = RandomRouter | AffinityRouter | HashRouter
POLICIES = ("affinity", "random", "hash")


def make_router(policy: str, load: Load, replicas: int, seed: int, eps: float, timeout_s: float) -> Router:
    rng = random.Random(seed)
    if policy == "affinity":
        return AffinityRouter(load, rng, replicas, timeout_s)
    if policy == "random":
        return RandomRouter(load, rng, replicas)
    if policy == "hash":
        return HashRouter(load, replicas, eps)
    raise ValueError(f"unknown policy {policy!r}: one of {', '.join(POLICIES)}")
