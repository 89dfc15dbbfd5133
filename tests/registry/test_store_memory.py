"""The object-store contract on the in-memory backend (MemoryStore)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters_registry.storage import open_store
from adapters_registry.storage.memory import MemoryStore
from hub.errors import InvalidArgument
from tests.registry.store_contract import StoreContract


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> Iterator[MemoryStore]:
        store = MemoryStore()
        yield store
        store.close()


def test_open_store_memory_uri_gives_a_fresh_store_each_time() -> None:
    first = open_store("memory://scratch")
    first.put("k", b"v")
    second = open_store("memory://scratch")
    assert isinstance(second, MemoryStore)
    assert second.uri == "memory://scratch"
    assert second.list("") == []


def test_memory_store_refuses_options() -> None:
    with pytest.raises(InvalidArgument, match="takes no options"):
        open_store("memory://x", region="us-east-1")
