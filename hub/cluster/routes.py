"""Keep Ray Serve's view of what a replica holds in step with the replica's residency.

Serve routes a call to a replica that holds its ``multiplexed_model_id``, the adapter reference
the client sends (``name``, ``name@alias`` or ``name@N``). A replica tells Serve what it holds
through a ``@serve.multiplexed`` loader: Serve keeps the loaded ids in an LRU of
``max_num_models_per_replica`` and reports them to its router. The hub has its own budgets (the
device tier's bytes). Two caches that disagree would route calls to replicas that dropped the
adapter, or keep adapters nobody routes here; so each side follows the other:

- Serve drops a routing key (its LRU is full): the adapter name is demoted from the device tier
  (the host copy stays; pinned versions stay).
- The residency drops the last device-tier version of a name (its byte budget is full, an
  unload, a delete): the routing keys for that name leave Serve's LRU, and Serve is told.

The client library scopes the routing key by its API key's public id (``KEYID~name``; a domain's
``DOMAIN:NAME`` and calls without a tenant key are by name alone), so two tenants' adapters of
one name are routed apart: with the name alone, a flood on one tenant's ``sentiment`` drew every
other tenant's ``sentiment`` onto its replica (BENCHMARKS.md, "Scaling out: the hostile flood").
The tenant itself still comes from the call's credentials; the scope only picks the replica.
What follows each routing key here is its adapter name (``adapter_name``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hub.residency import Residency
from hub.residency.residency import split_key

log = logging.getLogger("hub.cluster")

# Where @serve.multiplexed keeps its LRU on the instance it decorates (ray/serve/api.py). Serve
# has no public call to drop an id; this is the one private name the hub relies on.
SERVE_MULTIPLEX_ATTR = "__serve_multiplex_wrapper"


ADAPTER_BYTES_FLOOR = 1 << 20  # a rank-8 LoRA on MiniLM packs to 1.3 MiB; bigger backbones' are larger


def routes_for(device_cache_bytes: int) -> int:
    """Routing keys per replica for a device tier of this size: as many adapters as it could hold
    at the smallest usual adapter size, so the device tier's bytes, not Serve's count, decide what
    a replica keeps (the residency withdraws a key when its adapter leaves the device tier). The
    simulation (BENCHMARKS.md, Scaling out) measured why: a cap of 64 under a 2 GiB tier evicted
    adapters the tier had room for and turned 95% of affinity's loads cold."""
    return max(16, device_cache_bytes // ADAPTER_BYTES_FLOOR)


ROUTE_SCOPE = "~"  # the client library's (adapter_hub_client.config): no adapter name holds it


def adapter_name(routing_key: str) -> str:
    """``name`` of ``[KEYID~]name[@ref]``."""
    return routing_key.rpartition(ROUTE_SCOPE)[2].partition("@")[0]


class Route:
    """What Serve's LRU holds for one routing key. Serve calls ``__del__`` when its LRU drops it."""

    def __init__(self, key: str, book: RouteBook) -> None:
        self.key = key
        self.book = book
        self.withdrawn = False  # dropped by the replica itself: nothing to demote

    def __del__(self) -> None:
        if not self.withdrawn:
            self.withdrawn = True
            self.book.serve_dropped(self.key)


class RouteBook:
    """The two-way link between Serve's multiplex LRU (on ``owner``) and ``residency``."""

    def __init__(self, owner: Any, residency: Residency) -> None:
        self.owner = owner  # the replica instance that @serve.multiplexed keeps its LRU on
        self.residency = residency
        self.loop: asyncio.AbstractEventLoop | None = None  # the replica's: set by the first route
        self.demoted = 0  # device-tier versions demoted because Serve stopped routing them here

    # ---- Serve -> residency --------------------------------------------------------------
    def serve_dropped(self, key: str) -> None:
        name = adapter_name(key)
        if name in {adapter_name(k) for k in self.serve_keys()}:
            return  # another reference to the same adapter is still routed here
        demoted = self.residency.demote(name, "routed elsewhere")
        self.demoted += len(demoted)
        if demoted:
            log.info("serve stopped routing %s here: demoted %s", key, ", ".join(demoted))

    # ---- residency -> Serve (a CacheObserver) ----------------------------------------------
    def loaded(self, key: str, record: object) -> None:
        """A version entered the device tier: Serve learns of it when a call routes it here."""

    def evicted(self, key: str, reason: str) -> None:
        name = split_key(key)[1]
        if self.loop is None or self._on_device(name):
            return
        self.loop.call_soon_threadsafe(self._withdraw, name)

    def _on_device(self, name: str) -> bool:
        resident = self.residency.device.keys()
        return any(split_key(k)[1] == name for k in resident)

    def _withdraw(self, name: str) -> None:
        """On the replica's loop, where Serve's LRU lives: drop the routes for ``name``, unless a
        call loaded it again since the eviction was queued (it is resident: keep routing here)."""
        wrapper = getattr(self.owner, SERVE_MULTIPLEX_ATTR, None)
        if wrapper is None or self._on_device(name):
            return
        for key in [k for k in wrapper.models if adapter_name(k) == name]:
            route = wrapper.models.pop(key)
            route.withdrawn = True
            wrapper._push_multiplexed_replica_info = True  # report the new set at the next push

    def serve_keys(self) -> list[str]:
        wrapper = getattr(self.owner, SERVE_MULTIPLEX_ATTR, None)
        return list(wrapper.models) if wrapper is not None else []


class ChainedObserver:
    """Residency events to the service's own observer (plugin hooks) and to the route book."""

    def __init__(self, *observers: Any) -> None:
        self.observers = [o for o in observers if o is not None]

    def loaded(self, key: str, record: Any) -> None:
        for observer in self.observers:
            observer.loaded(key, record)

    def evicted(self, key: str, reason: str) -> None:
        for observer in self.observers:
            observer.evicted(key, reason)
