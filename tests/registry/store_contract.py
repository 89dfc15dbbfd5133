"""The behaviour every ObjectStore backend must show (fsspec style shared suite).

A backend's test module subclasses ``StoreContract`` (the name does not start with
``Test``, so the base class itself is never collected) and provides a ``store`` fixture
that yields an empty store and closes it afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from adapters_registry.storage.base import ConditionFailed, ObjectNotFound, ObjectStore

THREADS = 8


def run_threads(count: int, work: Callable[[int], None]) -> None:
    """Run ``work(i)`` in ``count`` threads released together; re-raise the first error."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            work(index)
        except BaseException as exc:  # noqa: BLE001 - reported, not swallowed
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"
    if errors:
        raise errors[0]


class StoreContract:
    #: CAS increments per thread in the counter race (8 threads): 8 * N in the end.
    increments_per_thread = 5

    @pytest.fixture
    def store(self) -> ObjectStore:
        raise NotImplementedError("a backend's test class provides the `store` fixture")

    # --- plain reads and writes -----------------------------------------------------

    def test_put_get_round_trip(self, store: ObjectStore) -> None:
        etag = store.put("a/b.json", b'{"x": 1}')
        got = store.get("a/b.json")
        assert got.data == b'{"x": 1}'
        assert got.etag == etag
        assert store.exists("a/b.json")

    def test_binary_and_empty_data(self, store: ObjectStore) -> None:
        blob = bytes(range(256)) * 64 + b"\x00\xff\r\n"
        store.put("bin/blob", blob)
        store.put("bin/empty", b"")
        assert store.get("bin/blob").data == blob
        assert store.get("bin/empty").data == b""

    def test_overwrite_replaces_content(self, store: ObjectStore) -> None:
        store.put("k", b"one")
        store.put("k", b"two")
        assert store.get("k").data == b"two"

    def test_get_missing_raises_object_not_found(self, store: ObjectStore) -> None:
        with pytest.raises(ObjectNotFound):
            store.get("missing/key")
        assert not store.exists("missing/key")

    def test_delete_is_idempotent(self, store: ObjectStore) -> None:
        store.put("d/x", b"1")
        store.delete("d/x")
        store.delete("d/x")
        store.delete("never/was")
        with pytest.raises(ObjectNotFound):
            store.get("d/x")
        assert store.list("d/") == []

    def test_list_by_prefix_sorted_and_relative(self, store: ObjectStore) -> None:
        for key in ("t1/b", "t1/a", "t1/c/d", "t2/a", "t10/z"):
            store.put(key, b".")
        assert store.list("t1/") == ["t1/a", "t1/b", "t1/c/d"]
        assert store.list("t1") == ["t1/a", "t1/b", "t1/c/d", "t10/z"]
        assert store.list("t1/c/") == ["t1/c/d"]
        assert store.list("") == ["t1/a", "t1/b", "t1/c/d", "t10/z", "t2/a"]
        assert store.list("nothing/") == []

    def test_nested_keys(self, store: ObjectStore) -> None:
        keys = ["ten/ant/v1/adapter_model.safetensors", "ten/ant/v1/hub_adapter.json", "ten/x"]
        for key in keys:
            store.put(key, key.encode())
        for key in keys:
            assert store.get(key).data == key.encode()
        store.delete("ten/ant/v1/hub_adapter.json")
        assert store.list("ten/") == ["ten/ant/v1/adapter_model.safetensors", "ten/x"]

    @pytest.mark.parametrize("key", ["", "/abs", "a//b", "a/../b", "..", "./a", "a/", "sp ace", "a\\b", "ü"])
    def test_invalid_keys_refused(self, store: ObjectStore, key: str) -> None:
        with pytest.raises(ValueError):
            store.put(key, b"x")
        with pytest.raises(ValueError):
            store.get(key)
        with pytest.raises(ValueError):
            store.delete(key)

    def test_etag_changes_with_content_only(self, store: ObjectStore) -> None:
        first = store.put("e", b"one")
        second = store.put("e", b"two")
        assert first != second
        assert store.put("e", b"one") == first
        assert store.get("e").etag == first

    # --- conditional writes ---------------------------------------------------------

    def test_if_none_match_creates_only_once(self, store: ObjectStore) -> None:
        etag = store.put("c", b"first", if_none_match=True)
        with pytest.raises(ConditionFailed):
            store.put("c", b"second", if_none_match=True)
        got = store.get("c")
        assert (got.data, got.etag) == (b"first", etag)

    def test_if_none_match_after_delete_succeeds(self, store: ObjectStore) -> None:
        store.put("c", b"first", if_none_match=True)
        store.delete("c")
        store.put("c", b"again", if_none_match=True)
        assert store.get("c").data == b"again"

    def test_if_match_compare_and_swap(self, store: ObjectStore) -> None:
        old = store.put("cas", b"v1")
        new = store.put("cas", b"v2", if_match=old)
        with pytest.raises(ConditionFailed):
            store.put("cas", b"v3", if_match=old)  # stale
        assert store.get("cas").data == b"v2"
        assert store.put("cas", b"v3", if_match=new) == store.get("cas").etag
        assert store.get("cas").data == b"v3"

    def test_if_match_on_missing_object_fails(self, store: ObjectStore) -> None:
        etag = store.put("gone", b"x")
        store.delete("gone")
        with pytest.raises(ConditionFailed):
            store.put("gone", b"y", if_match=etag)
        with pytest.raises(ObjectNotFound):
            store.get("gone")

    # --- races ----------------------------------------------------------------------

    def test_create_only_race_has_exactly_one_winner(self, store: ObjectStore) -> None:
        winners: list[int] = []

        def claim(index: int) -> None:
            try:
                store.put("race/claim", f"writer {index}".encode(), if_none_match=True)
            except ConditionFailed:
                return
            winners.append(index)

        run_threads(THREADS, claim)
        assert len(winners) == 1
        assert store.get("race/claim").data == f"writer {winners[0]}".encode()

    def test_cas_counter_race_loses_no_update(self, store: ObjectStore) -> None:
        store.put("race/counter", b"0")
        rounds = self.increments_per_thread

        def increment(_: int) -> None:
            done = 0
            while done < rounds:
                current = store.get("race/counter")
                value = int(current.data) + 1
                try:
                    store.put("race/counter", str(value).encode(), if_match=current.etag)
                except ConditionFailed:
                    continue
                done += 1

        run_threads(THREADS, increment)
        assert int(store.get("race/counter").data) == THREADS * rounds
