"""The proxy's status for a failed call: a dead replica is UNAVAILABLE, nothing of Ray leaks."""

from __future__ import annotations

import asyncio
import inspect
from types import SimpleNamespace

import grpc
import pytest
from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError
from ray.serve._private.grpc_util import get_grpc_response_status
from ray.serve._private.proxy_request_response import ResponseStatus
from ray.serve.exceptions import gRPCStatusError

from hub.cluster.proxy import REPLICA_GONE, _announce_drains, _response_status

RAY_DETAILS = "actor 5e0c1d2a worker 10.0.0.7:42113 died: node lost"


def fixed_status(code: grpc.StatusCode, message: str) -> object:
    """A Serve status function that answers ``code`` whatever failed, recording what it saw."""

    def serve_status(exc: BaseException, timeout_s: float | None, request_id: str) -> ResponseStatus:
        seen.append((exc, timeout_s, request_id))
        return ResponseStatus(code=code, is_error=True, message=message)

    seen: list[tuple[BaseException, float | None, str]] = []
    serve_status.seen = seen  # type: ignore[attr-defined]
    return serve_status


@pytest.mark.parametrize("died", [ActorDiedError(), RayActorError(), ActorUnavailableError("unreachable", None)])
def test_a_replica_that_died_under_the_call_is_unavailable(died: BaseException) -> None:
    serve_status = fixed_status(grpc.StatusCode.INTERNAL, RAY_DETAILS)
    status = _response_status(serve_status)(died, 30.0, "req-7")
    assert isinstance(status, ResponseStatus)
    assert (status.code, status.is_error, status.message) == (grpc.StatusCode.UNAVAILABLE, True, REPLICA_GONE)
    assert serve_status.seen == [(died, 30.0, "req-7")]  # type: ignore[attr-defined]


def test_with_serves_own_status_function_a_dead_replica_is_unavailable() -> None:
    status = _response_status(get_grpc_response_status)(ActorDiedError(), None, "req-8")
    assert (status.code, status.message) == (grpc.StatusCode.UNAVAILABLE, REPLICA_GONE)


def test_another_internal_error_keeps_internal_and_tells_only_the_request_id() -> None:
    failure = RuntimeError(RAY_DETAILS)
    for serve_status in (fixed_status(grpc.StatusCode.INTERNAL, RAY_DETAILS), get_grpc_response_status):
        status = _response_status(serve_status)(failure, None, "req-9")
        assert (status.code, status.is_error) == (grpc.StatusCode.INTERNAL, True)
        assert "req-9" in status.message
        assert "5e0c1d2a" not in status.message and "10.0.0.7" not in status.message and "died" not in status.message


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (grpc.StatusCode.DEADLINE_EXCEEDED, "Request timed out after 30.0s."),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "too many queued calls"),
        (grpc.StatusCode.UNAVAILABLE, "deployment hub is not available"),
        (grpc.StatusCode.CANCELLED, "Client for request req-1 disconnected."),
    ],
)
def test_statuses_other_than_internal_pass_unchanged(code: grpc.StatusCode, message: str) -> None:
    given = fixed_status(code, message)
    # even when a dead actor is the cause, a status Serve chose deliberately is kept
    status = _response_status(given)(ActorDiedError(), 30.0, "req-1")
    assert (status.code, status.is_error, status.message) == (code, True, message)


def test_serves_timeout_status_passes_unchanged() -> None:
    status = _response_status(get_grpc_response_status)(TimeoutError(), 12.0, "req-2")
    assert (status.code, status.message) == (grpc.StatusCode.DEADLINE_EXCEEDED, "Request timed out after 12.0s.")


def test_a_wrapped_dead_replica_is_unwrapped() -> None:
    wrapped = gRPCStatusError(ActorDiedError(), grpc.StatusCode.INTERNAL, RAY_DETAILS)
    for serve_status in (fixed_status(grpc.StatusCode.INTERNAL, RAY_DETAILS), get_grpc_response_status):
        status = _response_status(serve_status)(wrapped, None, "req-3")
        assert (status.code, status.message) == (grpc.StatusCode.UNAVAILABLE, REPLICA_GONE)


def test_a_wrapped_other_failure_stays_internal_without_its_text() -> None:
    wrapped = gRPCStatusError(KeyError(RAY_DETAILS), grpc.StatusCode.INTERNAL, None)
    status = _response_status(get_grpc_response_status)(wrapped, None, "req-4")
    assert status.code == grpc.StatusCode.INTERNAL and "req-4" in status.message and "5e0c1d2a" not in status.message


def test_serves_graceful_shutdown_tells_the_replica_before_it_drains(monkeypatch: pytest.MonkeyPatch) -> None:
    """The private names the drain hook relies on are still Serve's, and the hook runs before
    Serve's own drain (which waits for the ongoing calls, then calls ``__del__``)."""
    from ray.serve._private import replica as serve_replica

    order: list[str] = []

    async def serves_drain(self: object) -> None:
        order.append("serve drains")

    assert inspect.iscoroutinefunction(serve_replica.Replica._perform_graceful_shutdown)
    monkeypatch.setattr(serve_replica.Replica, "_perform_graceful_shutdown", serves_drain)
    _announce_drains()
    _announce_drains()  # once per process, however often the hook runs
    user = SimpleNamespace(begin_drain=lambda: order.append("readiness false"))
    fake = SimpleNamespace(_user_callable_wrapper=SimpleNamespace(_callable=user))
    asyncio.run(serve_replica.Replica._perform_graceful_shutdown(fake))
    assert order == ["readiness false", "serve drains"]
    never_built = SimpleNamespace(_user_callable_wrapper=SimpleNamespace(_callable=None))
    asyncio.run(serve_replica.Replica._perform_graceful_shutdown(never_built))  # no replica: Serve's drain only
    assert order == ["readiness false", "serve drains", "serve drains"]
    source = inspect.getsource(serve_replica)
    assert "self._user_callable_wrapper = UserCallableWrapper(" in source and "self._callable = " in source
