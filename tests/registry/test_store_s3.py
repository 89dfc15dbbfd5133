"""The object-store contract on S3Store against a real SeaweedFS server, plus what the
S3 backend relies on from the server: SigV4 enforcement and a missing bucket reported as such.

SeaweedFS 4.48 enforces If-None-Match and If-Match atomically, but a conditional write that
finds another one in flight on the same key waits about a second on the server before it
answers; the counter race is therefore kept short here.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from adapters_registry.storage import StoreUnavailable, open_store
from adapters_registry.storage.s3 import BucketNotFound, S3Options, S3Store
from tests.fixtures.seaweedfs import SeaweedFS
from tests.registry.store_contract import StoreContract

pytestmark = pytest.mark.s3


@pytest.fixture(scope="module")
def contract_bucket(seaweedfs: SeaweedFS) -> str:
    """One bucket for the contract tests (SeaweedFS makes a new bucket's first write slow)."""
    return seaweedfs.new_bucket("contract")


class TestS3StoreOnSeaweedFS(StoreContract):
    increments_per_thread = 3

    @pytest.fixture
    def store(self, seaweedfs: SeaweedFS, contract_bucket: str) -> Iterator[S3Store]:
        """An empty store: a prefix of its own in the shared bucket."""
        store = seaweedfs.open_store(contract_bucket, prefix=f"hub/{uuid.uuid4().hex}")
        yield store
        store.close()


def test_prefixes_in_one_bucket_are_isolated(seaweedfs: SeaweedFS) -> None:
    bucket = seaweedfs.new_bucket()
    a = seaweedfs.open_store(bucket, prefix="tenant-a")
    b = seaweedfs.open_store(bucket, prefix="tenant-b/deeper")
    root = seaweedfs.open_store(bucket)
    try:
        a.put("k", b"a")
        b.put("k", b"b")
        assert (a.list(""), b.list("")) == (["k"], ["k"])
        assert root.list("") == ["tenant-a/k", "tenant-b/deeper/k"]
        assert root.get("tenant-b/deeper/k").data == b"b"
        assert a.uri == f"s3://{bucket}/tenant-a"
    finally:
        for store in (a, b, root):
            store.close()


def test_open_store_s3_uri_with_options(seaweedfs: SeaweedFS) -> None:
    bucket = seaweedfs.new_bucket()
    store = open_store(f"s3://{bucket}/p/", **seaweedfs.store_options())
    try:
        assert isinstance(store, S3Store)
        assert store.uri == f"s3://{bucket}/p"
        store.put("x", b"1")
        assert store.list("") == ["x"]
        for text in (store.uri, repr(store), repr(store.options)):
            assert seaweedfs.secret_key not in text
            assert seaweedfs.access_key not in text
    finally:
        store.close()


@pytest.mark.parametrize("wrong", ["secret", "access key"])
def test_server_enforces_sigv4(seaweedfs: SeaweedFS, wrong: str) -> None:
    bucket = seaweedfs.new_bucket()
    field = "secret_access_key" if wrong == "secret" else "access_key_id"
    bad_value = "AKNOTAKEY00000000000" if wrong == "access key" else "not-the-secret"
    store = seaweedfs.open_store(bucket, **{field: bad_value})
    try:
        with pytest.raises(StoreUnavailable, match="refused put") as caught:
            store.put("k", b"x")
        assert seaweedfs.secret_key not in str(caught.value)
        assert bad_value not in str(caught.value)
    finally:
        store.close()
    assert not seaweedfs.open_store(bucket).exists("k")


def test_server_refuses_unsigned_requests(seaweedfs: SeaweedFS) -> None:
    bucket = seaweedfs.new_bucket()
    request = urllib.request.Request(f"{seaweedfs.endpoint_url}/{bucket}/k", b"x", method="PUT")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 403


def test_missing_bucket_is_reported_not_created(seaweedfs: SeaweedFS) -> None:
    store = seaweedfs.open_store("no-such-bucket-here")
    try:
        with pytest.raises(BucketNotFound, match="bucket does not exist") as caught:
            store.put("k", b"x")
        assert "no-such-bucket-here" not in str(caught.value)
        assert "bucket no-such-bucket-here does not exist" in caught.value.detail
        with pytest.raises(BucketNotFound):
            store.list("")
    finally:
        store.close()
    created = seaweedfs.open_store("created-on-demand", create_bucket=True)
    try:
        created.put("k", b"x")
        assert created.get("k").data == b"x"
    finally:
        created.close()


@pytest.mark.parametrize("crash", [False, True], ids=["sigterm", "sigkill"])
def test_outage_and_recovery_on_restartable_server(seaweedfs_restartable: SeaweedFS, crash: bool) -> None:
    server = seaweedfs_restartable
    store = server.open_store(connect_timeout=0.5, read_timeout=2, max_retries=0)
    try:
        store.put("before", b"kept")
        server.stop(kill=crash)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="unreachable") as caught:
            store.get("before")
        assert "127.0.0.1" not in str(caught.value) and "127.0.0.1" in caught.value.detail
        assert time.monotonic() - started < 5
        server.start()
        assert store.get("before").data == b"kept"
        store.put("after", b"ok")
        assert store.list("") == ["after", "before"]
    finally:
        store.close()


def test_options_reject_unknown_names() -> None:
    from hub.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="unknown S3 store option"):
        S3Options.from_kwargs({"endpoint": "http://127.0.0.1:1"})
