"""The one store-URI parser: what each form means, and a clear refusal for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters_registry.storage import StoreURI, open_store, parse_store_uri
from hub.errors import InvalidArgument


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("/srv/adapters", StoreURI("file", path=Path("/srv/adapters"))),
        ("relative/dir", StoreURI("file", path=Path("relative/dir"))),
        ("file:///srv/a%20b", StoreURI("file", path=Path("/srv/a b"))),
        ("file://localhost/srv/x", StoreURI("file", path=Path("/srv/x"))),
        ("memory://scratch", StoreURI("memory", name="scratch")),
        ("memory://", StoreURI("memory", name="")),
        ("s3://bucket", StoreURI("s3", bucket="bucket")),
        ("s3://my.bucket-1/tenants/prod/", StoreURI("s3", bucket="my.bucket-1", prefix="tenants/prod")),
        ("S3://bucket/p", StoreURI("s3", bucket="bucket", prefix="p")),
    ],
)
def test_each_form_parses(uri: str, expected: StoreURI) -> None:
    assert parse_store_uri(uri) == expected


def test_a_path_expands_the_home_directory() -> None:
    assert parse_store_uri("~/store").path == Path.home() / "store"


def test_local_and_remote() -> None:
    assert parse_store_uri("/x").is_local and not parse_store_uri("/x").is_remote
    assert parse_store_uri("s3://bucket").is_remote and not parse_store_uri("s3://bucket").is_local
    memory = parse_store_uri("memory://m")
    assert not memory.is_local and not memory.is_remote  # in-process, yet not a directory on disk


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("ftp://host/dir", r"unsupported store URI 'ftp://host/dir'; supported: file://, memory://, s3:// or a path"),
        ("s3:/bucket", "malformed store URI"),
        ("file:relative", "malformed store URI"),
        ("file://elsewhere/dir", "must name a local path"),
        ("file:///dir?x=1", "file:///ABSOLUTE/DIR"),
        ("s3://Not_A_Bucket/p", r"s3://BUCKET\[/PREFIX\]"),
        ("s3://b", r"s3://BUCKET\[/PREFIX\]"),  # bucket names have 3 characters at least
        ("s3://bucket/p?versionId=1", r"s3://BUCKET\[/PREFIX\]"),
        ("s3://bucket/a/../b", "invalid key prefix"),
    ],
)
def test_malformed_uris_are_refused_clearly(uri: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        parse_store_uri(uri)


@pytest.mark.parametrize("uri", ["s3://key:secret@bucket/p", "ftp://user:secret@host/dir"])
def test_credentials_in_a_uri_are_never_echoed(uri: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_store_uri(uri)
    assert "secret" not in caught.value.message


def test_open_store_takes_a_parsed_uri(tmp_path: Path) -> None:
    store = open_store(parse_store_uri(str(tmp_path / "a")))
    assert store.uri == (tmp_path / "a").as_uri()
    assert open_store(parse_store_uri("memory://m")).uri == "memory://m"
