"""Serve's multiplex LRU and the replica's residency kept in step (hub/cluster/routes.py), with a
real Residency over a real registry and the tiny backbone's packer."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters_registry.registry import AdapterRegistry, VersionRecord
from adapters_registry.storage.local import LocalStore
from hub.cluster.routes import SERVE_MULTIPLEX_ATTR, ChainedObserver, Route, RouteBook, adapter_name
from hub.residency import Residency, ResidencyConfig
from tests.residency.conftest import publish


class ServeLRU:
    """The two fields of Serve's ``_ModelMultiplexWrapper`` (ray/serve/multiplex.py) the route
    book touches: the routing keys held, least recently used first, and the push flag that makes
    the replica report its keys to Serve's router at the next push."""

    def __init__(self) -> None:
        self.models: OrderedDict[str, Any] = OrderedDict()
        self._push_multiplexed_replica_info = False

    def evict_lru(self) -> str:
        """What ``unload_model_lru`` does when the LRU is full: pop the oldest, call its ``__del__``."""
        key, route = self.models.popitem(last=False)
        route.__del__()
        return key


class Replica:
    """The object @serve.multiplexed keeps its LRU on (the replica instance)."""

    def __init__(self) -> None:
        setattr(self, SERVE_MULTIPLEX_ATTR, ServeLRU())

    @property
    def lru(self) -> ServeLRU:
        return getattr(self, SERVE_MULTIPLEX_ATTR)  # type: ignore[no-any-return]


class Setup:
    def __init__(self, tmp_path: Path, runtime: Any, device_bytes: int | None = None) -> None:
        self.registry = AdapterRegistry(LocalStore(tmp_path / "store"))
        spec = runtime.spec
        self.sent1 = publish(self.registry, spec, "acme", "sent", seed=1)
        self.sent2 = publish(self.registry, spec, "acme", "sent", seed=2)
        self.other = publish(self.registry, spec, "acme", "other", seed=3)
        self.theirs = publish(self.registry, spec, "globex", "sent", seed=4)
        self.pack: Callable[..., Any] = runtime.pack
        config = ResidencyConfig() if device_bytes is None else ResidencyConfig(device_bytes=device_bytes)
        self.residency = Residency(self.registry, config)
        self.replica = Replica()
        self.book = RouteBook(self.replica, self.residency)
        self.residency.observer = ChainedObserver(None, self.book)

    def route(self, key: str) -> Route:
        """Serve's loader ran for ``key`` (the replica's ``route``): the LRU holds it now."""
        route = Route(key, self.book)
        self.replica.lru.models[key] = route
        return route

    def tiers(self, record: VersionRecord) -> tuple[tuple[str, ...], bool]:
        found = self.residency.describe(record)
        return found.tiers, found.pinned

    def packed_size(self) -> int:
        return int(self.pack("probe", self.registry.read_files(self.sent1), self.sent1.manifest).nbytes)


@pytest.fixture
def setup(tmp_path: Path, tiny_runtime: Any) -> Iterator[Setup]:
    made = Setup(tmp_path, tiny_runtime)
    yield made
    made.residency.close()


def test_demote_takes_unpinned_versions_of_a_name_off_the_device_and_returns_their_keys(setup: Setup) -> None:
    r = setup.residency
    for record in (setup.sent1, setup.other, setup.theirs):
        r.get(record, setup.pack)
    r.pin(setup.sent2, setup.pack)
    assert sorted(r.demote("sent", "routed elsewhere")) == ["acme/sent@1", "globex/sent@1"]
    assert setup.tiers(setup.sent1) == (("host",), False)  # the host copy stays
    assert setup.tiers(setup.theirs) == (("host",), False)
    assert setup.tiers(setup.sent2) == (("device", "host"), True)  # pinned: stays
    assert setup.tiers(setup.other) == (("device", "host"), False)  # another name
    assert r.demote("sent", "again") == [] and r.demote("unknown", "none") == []


def test_serve_dropping_a_route_demotes_the_unpinned_device_versions_of_that_name(setup: Setup) -> None:
    r = setup.residency
    r.get(setup.sent1, setup.pack)
    r.pin(setup.sent2, setup.pack)
    r.get(setup.other, setup.pack)
    setup.route("sent")
    setup.route("other")
    assert setup.replica.lru.evict_lru() == "sent"
    assert setup.tiers(setup.sent1) == (("host",), False)
    assert setup.tiers(setup.sent2) == (("device", "host"), True)
    assert setup.tiers(setup.other) == (("device", "host"), False)
    assert setup.book.demoted == 1
    assert setup.book.serve_keys() == ["other"]


def test_a_dropped_route_demotes_nothing_while_another_reference_to_the_name_is_routed(setup: Setup) -> None:
    setup.residency.get(setup.sent1, setup.pack)
    setup.route("sent@1")
    setup.route("sent@latest")
    assert setup.replica.lru.evict_lru() == "sent@1"
    assert setup.tiers(setup.sent1) == (("device", "host"), False) and setup.book.demoted == 0
    assert setup.replica.lru.evict_lru() == "sent@latest"  # the last reference goes: demoted now
    assert setup.tiers(setup.sent1) == (("host",), False) and setup.book.demoted == 1


def run_on_loop(setup: Setup, change: Callable[[], object]) -> None:
    """``change`` on a worker thread while the replica's loop runs, as residency changes happen."""

    async def main() -> None:
        setup.book.loop = asyncio.get_running_loop()  # what the replica's first routed call sets
        await asyncio.to_thread(change)
        await asyncio.sleep(0)  # the withdrawal scheduled on the loop runs

    asyncio.run(main())


def test_unloading_the_last_device_version_withdraws_the_names_routes(setup: Setup) -> None:
    r = setup.residency
    r.get(setup.sent1, setup.pack)
    r.get(setup.other, setup.pack)
    routes = [setup.route("sent"), setup.route("other"), setup.route("sent@1")]
    run_on_loop(setup, lambda: r.unload(setup.sent1))
    lru = setup.replica.lru
    assert list(lru.models) == ["other"] and lru._push_multiplexed_replica_info
    assert [route.withdrawn for route in routes] == [True, False, True]
    # Serve lets go of a withdrawn route: the adapter, loaded here again meanwhile, stays
    r.get(setup.sent1, setup.pack)
    for route in routes[::2]:
        route.__del__()
    assert setup.tiers(setup.sent1) == (("device", "host"), False) and setup.book.demoted == 0


def test_routes_stay_while_another_version_of_the_name_is_on_the_device(setup: Setup) -> None:
    r = setup.residency
    r.get(setup.sent1, setup.pack)
    r.get(setup.sent2, setup.pack)
    setup.route("sent")
    run_on_loop(setup, lambda: r.unload(setup.sent1))
    assert list(setup.replica.lru.models) == ["sent"]
    assert not setup.replica.lru._push_multiplexed_replica_info
    run_on_loop(setup, lambda: r.unload(setup.sent2))
    assert list(setup.replica.lru.models) == [] and setup.replica.lru._push_multiplexed_replica_info


def test_an_adapter_evicted_for_room_leaves_serves_routes(tmp_path: Path, tiny_runtime: Any) -> None:
    probe = Setup(tmp_path / "probe", tiny_runtime)
    probe.residency.close()
    setup = Setup(tmp_path / "small", tiny_runtime, device_bytes=probe.packed_size() * 3 // 2)  # room for one
    r = setup.residency
    r.get(setup.sent1, setup.pack)
    setup.route("sent")
    run_on_loop(setup, lambda: r.get(setup.other, setup.pack))
    assert r.device.keys() == ["acme/other@1"]
    assert list(setup.replica.lru.models) == [] and setup.replica.lru._push_multiplexed_replica_info
    setup.residency.close()


def test_an_adapter_loaded_again_before_the_withdrawal_runs_keeps_its_routes(setup: Setup) -> None:
    r = setup.residency

    async def main() -> None:
        setup.book.loop = asyncio.get_running_loop()
        r.get(setup.sent1, setup.pack)
        setup.route("sent")
        r.unload(setup.sent1)  # on the loop's thread: the withdrawal is queued, not run yet
        r.get(setup.sent1, setup.pack)  # a call brought it back meanwhile
        await asyncio.sleep(0)  # the queued withdrawal runs

    asyncio.run(main())
    assert r.device.keys() == ["acme/sent@1"]
    assert setup.book.serve_keys() == ["sent"]  # resident here, so still routed here


def test_evictions_before_the_first_routed_call_touch_no_route(setup: Setup) -> None:
    setup.residency.get(setup.sent1, setup.pack)
    route = setup.route("sent")  # (not through a call: the book has no loop yet)
    setup.residency.unload(setup.sent1)
    assert setup.book.serve_keys() == ["sent"] and not route.withdrawn


def test_a_scoped_routing_key_follows_its_adapter_name() -> None:
    assert adapter_name("0123456789abcdef~sentiment@prod") == "sentiment"
    assert adapter_name("sentiment@3") == "sentiment"
    assert adapter_name("medical:ner") == "medical:ner"
