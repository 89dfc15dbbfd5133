"""The object-store contract on a local directory (LocalStore), plus its URI forms."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters_registry.storage import open_store
from adapters_registry.storage.local import LocalStore
from hub.errors import InvalidArgument
from tests.registry.store_contract import StoreContract


class TestLocalStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[LocalStore]:
        store = LocalStore(tmp_path / "objects")
        yield store
        store.close()


def test_open_store_file_uri_and_plain_path(tmp_path: Path) -> None:
    by_uri = open_store((tmp_path / "a").as_uri())
    by_path = open_store(str(tmp_path / "a"))
    assert isinstance(by_uri, LocalStore)
    assert by_uri.uri == by_path.uri == (tmp_path / "a").as_uri()


def test_local_store_refuses_options(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="takes no options"):
        open_store(str(tmp_path), endpoint_url="http://127.0.0.1:1")


def test_unknown_scheme_lists_the_supported_ones() -> None:
    with pytest.raises(InvalidArgument, match=r"file://, memory://, s3://"):
        open_store("ftp://host/dir")
