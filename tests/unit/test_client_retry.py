"""Client retries (hub/transport/retry.py) against a real gRPC server on 127.0.0.1 that refuses
the first calls: the hint is honoured, final refusals are not retried. Sleeps are recorded,
not slept."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest

from hub.transport.retry import pause_for, retry_after_s, with_retries

METHOD = "/test.Refuser/Call"


class Refuser:
    """Answers b"ok" after refusing ``refusals`` calls with ``code`` (and the hint, if any)."""

    def __init__(self) -> None:
        self.refusals = 0
        self.code = grpc.StatusCode.RESOURCE_EXHAUSTED
        self.hint: str | None = "250"
        self.calls = 0

    def __call__(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        self.calls += 1
        if self.calls <= self.refusals:
            if self.hint is not None:
                context.set_trailing_metadata((("retry-after-ms", self.hint),))
            context.abort(self.code, "queue full")
        return b"ok"


@pytest.fixture
def refuser() -> Iterator[tuple[Refuser, grpc.UnaryUnaryMultiCallable]]:
    handler = Refuser()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    generic = grpc.method_handlers_generic_handler(
        "test.Refuser", {"Call": grpc.unary_unary_rpc_method_handler(handler)}
    )
    server.add_generic_rpc_handlers((generic,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield handler, channel.unary_unary(METHOD)
    channel.close()
    server.stop(0).wait()


def test_a_refusal_with_a_hint_is_retried_after_the_hint(refuser) -> None:  # type: ignore[no-untyped-def]
    handler, call = refuser
    handler.refusals = 2
    slept: list[float] = []
    assert with_retries(lambda: call(b"x", timeout=10), retries=3, sleep=slept.append, jitter=lambda: 0.5) == b"ok"
    assert handler.calls == 3
    assert slept == [pytest.approx(0.25 * 1.125)] * 2  # the hint, stretched by the jitter


def test_retries_stop_after_the_given_number(refuser) -> None:  # type: ignore[no-untyped-def]
    handler, call = refuser
    handler.refusals = 5
    with pytest.raises(grpc.RpcError) as refused:
        with_retries(lambda: call(b"x", timeout=10), retries=2, sleep=lambda s: None)
    assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert retry_after_s(refused.value) == 0.25
    assert handler.calls == 3


def test_resource_exhausted_without_a_hint_is_final(refuser) -> None:  # type: ignore[no-untyped-def]
    handler, call = refuser
    handler.refusals, handler.hint = 1, None  # e.g. a storage quota: waiting does not help
    with pytest.raises(grpc.RpcError):
        with_retries(lambda: call(b"x", timeout=10), retries=5, sleep=lambda s: None)
    assert handler.calls == 1


def test_unavailable_backs_off_exponentially_without_a_hint(refuser) -> None:  # type: ignore[no-untyped-def]
    handler, call = refuser
    handler.refusals, handler.hint, handler.code = 3, None, grpc.StatusCode.UNAVAILABLE
    slept: list[float] = []
    assert with_retries(lambda: call(b"x", timeout=10), retries=3, sleep=slept.append, jitter=lambda: 0.0) == b"ok"
    assert slept == [pytest.approx(0.05), pytest.approx(0.1), pytest.approx(0.2)]


def test_other_errors_are_not_retried(refuser) -> None:  # type: ignore[no-untyped-def]
    handler, call = refuser
    handler.refusals, handler.code = 1, grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError):
        with_retries(lambda: call(b"x", timeout=10), retries=5, sleep=lambda s: None)
    assert handler.calls == 1


def test_the_pause_is_capped(refuser) -> None:  # type: ignore[no-untyped-def]
    handler, call = refuser
    handler.refusals, handler.hint = 1, "3600000"
    with pytest.raises(grpc.RpcError) as refused:
        call(b"x", timeout=10)
    assert pause_for(refused.value, 0, 0.0) == 30.0


def test_the_backoff_grows_past_a_short_hint(refuser) -> None:  # type: ignore[no-untyped-def]
    handler, call = refuser
    handler.refusals = 1
    with pytest.raises(grpc.RpcError) as refused:
        call(b"x", timeout=10)
    assert [pause_for(refused.value, attempt, 0.0) for attempt in range(5)] == pytest.approx(
        [0.25, 0.25, 0.25, 0.4, 0.8]
    )
