"""S3Store under faults: a missing bucket, a stopped or mute server, server errors, missing
credentials. moto's ThreadedMotoServer stands in for S3 where a fault must be injected;
everything listens on 127.0.0.1 only, and no secret may appear in an error or a URI.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from adapters_registry.storage import StoreUnavailable, open_store
from adapters_registry.storage.s3 import BucketNotFound, S3Options, S3Store
from hub.errors import InvalidArgument

ACCESS_KEY = "AKIDFAULTTESTS0000001"
SECRET_KEY = "fault-tests-secret-" + uuid.uuid4().hex
QUICK = {"connect_timeout": 0.5, "read_timeout": 1.0, "max_retries": 0}


def options(endpoint: str, **extra: Any) -> S3Options:
    settings = {"endpoint_url": endpoint, "region": "us-east-1", **QUICK, **extra}
    return S3Options(access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY, **settings)


def assert_no_secrets(*texts: object) -> None:
    for text in texts:
        assert SECRET_KEY not in str(text)
        assert ACCESS_KEY not in str(text)


def assert_clean_error(error: BaseException, store: S3Store) -> None:
    assert_no_secrets(error, repr(error), error.__cause__, store.uri, repr(store), store.options)


def _moto_server() -> Any:
    server_module = pytest.importorskip("moto.server", reason="needs moto[server] (dev lock)")
    return server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    server = _moto_server()
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def stoppable_moto() -> Iterator[tuple[str, Any]]:
    server = _moto_server()
    server.start()
    host, port = server.get_host_and_port()
    stopped = threading.Event()

    def stop() -> None:
        if not stopped.is_set():
            stopped.set()
            server.stop()

    try:
        yield f"http://{host}:{port}", stop
    finally:
        stop()


def test_missing_bucket_is_a_clear_error(moto_endpoint: str) -> None:
    store = S3Store("s3://absent-bucket/pre", options(moto_endpoint))
    try:
        for call in (lambda: store.put("k", b"x"), lambda: store.get("k"), lambda: store.list("")):
            with pytest.raises(BucketNotFound, match="bucket does not exist") as err:
                call()
            assert "absent-bucket" not in str(err.value) and moto_endpoint not in str(err.value)
            assert "bucket absent-bucket does not exist" in err.value.detail  # for the server log
            assert "create_bucket=True" in err.value.detail
            assert_clean_error(err.value, store)
    finally:
        store.close()


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_create_bucket_option_creates_it_once(moto_endpoint: str, region: str) -> None:
    name = f"made-{uuid.uuid4().hex[:12]}"
    first = S3Store(f"s3://{name}", options(moto_endpoint, region=region, create_bucket=True))
    again = S3Store(f"s3://{name}", options(moto_endpoint, region=region, create_bucket=True))
    try:
        first.put("k", b"v")
        assert again.get("k").data == b"v"
    finally:
        first.close()
        again.close()


def test_stopped_server_is_unavailable_quickly(stoppable_moto: tuple[str, Any]) -> None:
    endpoint, stop = stoppable_moto
    store = S3Store("s3://outage/p", options(endpoint, create_bucket=True))
    try:
        store.put("k", b"v")
        stop()
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="unreachable") as err:
            store.get("k")
        assert time.monotonic() - started < 3
        assert endpoint not in str(err.value) and "outage" not in str(err.value)  # no endpoint, bucket
        assert endpoint in err.value.detail and err.value.kind == "unreachable"
        assert store.fault_counts()[("get", "unreachable")] >= 1
        assert_clean_error(err.value, store)
    finally:
        store.close()


def test_mute_server_times_out_instead_of_hanging() -> None:
    with socket.socket() as mute:  # accepts connections (backlog), never answers
        mute.bind(("127.0.0.1", 0))
        mute.listen(8)
        endpoint = f"http://127.0.0.1:{mute.getsockname()[1]}"
        store = S3Store("s3://mute/p", options(endpoint, read_timeout=0.5))
        try:
            started = time.monotonic()
            with pytest.raises(StoreUnavailable, match="unreachable") as err:
                store.get("k")
            assert "ReadTimeoutError" in err.value.detail and endpoint not in str(err.value)
            assert time.monotonic() - started < 3
            assert_clean_error(err.value, store)
        finally:
            store.close()


class _Failing(BaseHTTPRequestHandler):
    body = b"<Error><Code>InternalError</Code><Message>boom</Message></Error>"

    def _fail(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(500)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_PUT = do_DELETE = _fail

    def log_message(self, format: str, *args: Any) -> None:
        return


def test_server_errors_are_unavailable() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    store = S3Store("s3://failing/p", options(f"http://127.0.0.1:{server.server_address[1]}"))
    try:
        for call in (lambda: store.get("k"), lambda: store.list(""), lambda: store.delete("k")):
            with pytest.raises(StoreUnavailable, match="retry") as err:
                call()
            assert "InternalError (HTTP 500)" in err.value.detail and "failing" not in str(err.value)
            assert_clean_error(err.value, store)
    finally:
        store.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _isolated_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata traffic


def test_missing_credentials_are_reported(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    _isolated_aws_env(monkeypatch, tmp_path)
    store = open_store("s3://nocreds/p", endpoint_url=moto_endpoint, region="us-east-1", **QUICK)
    try:
        with pytest.raises(StoreUnavailable, match="no usable credentials") as err:
            store.get("k")
        assert "no usable S3 credentials" in err.value.detail and moto_endpoint not in str(err.value)
    finally:
        store.close()


def test_standard_aws_environment_is_honoured(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    _isolated_aws_env(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    store = open_store("s3://from-env/p", create_bucket=True)
    try:
        store.put("k", b"v")
        assert store.get("k").data == b"v"
        assert isinstance(store, S3Store)
        assert store.endpoint == moto_endpoint
        assert_no_secrets(store.uri, repr(store), store.options)
    finally:
        store.close()


@pytest.mark.parametrize("uri", [f"s3://{ACCESS_KEY}:{SECRET_KEY}@bucket/p", f"s3://{SECRET_KEY}@bucket"])
def test_uri_with_credentials_is_refused_without_echo(uri: str) -> None:
    with pytest.raises(InvalidArgument, match="must not carry credentials") as err:
        open_store(uri)
    assert_no_secrets(err.value)


@pytest.mark.parametrize("uri", ["s3://", "s3://UPPER/p", "s3://ok-bucket/a//b", "s3://b?x=1"])
def test_malformed_uri_is_invalid_argument(uri: str) -> None:
    with pytest.raises(InvalidArgument):
        open_store(uri)
