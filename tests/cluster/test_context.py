"""ServeCallContext: the grpc.ServicerContext the hub's servicers see behind Serve's proxy."""

from __future__ import annotations

import time

import grpc
import pytest

from hub.cluster.context import DEADLINE_KEY, CallAborted, ServeCallContext
from tests.cluster.calls import deliver, serve_call


def test_the_callers_metadata_is_passed_through_in_order() -> None:
    metadata = [("authorization", "Bearer k1"), ("x-trace", "a"), ("x-trace", "b")]
    _, serve_context = serve_call(metadata)
    context = ServeCallContext(serve_context)
    assert list(context.invocation_metadata()) == metadata


def test_the_deadline_metadata_becomes_time_remaining() -> None:
    started = time.monotonic()
    _, serve_context = serve_call([(DEADLINE_KEY, "60000")])
    remaining = ServeCallContext(serve_context, started=started).time_remaining()
    assert remaining is not None and 0 < remaining <= 60.0


def test_a_deadline_already_past_leaves_no_time() -> None:
    _, serve_context = serve_call([(DEADLINE_KEY, "5000")])
    assert ServeCallContext(serve_context, started=time.monotonic() - 10).time_remaining() == 0.0
    _, negative = serve_call([(DEADLINE_KEY, "-5")])
    assert ServeCallContext(negative).time_remaining() == 0.0


@pytest.mark.parametrize("metadata", [[], [(DEADLINE_KEY, "soon")], [(DEADLINE_KEY, "1.5")], [("other", "5")]])
def test_no_or_a_bad_deadline_means_no_deadline(metadata: list[tuple[str, str]]) -> None:
    _, serve_context = serve_call(metadata)
    assert ServeCallContext(serve_context).time_remaining() is None


def test_callbacks_run_once_when_the_call_ends_and_none_are_taken_after() -> None:
    context = ServeCallContext(serve_call()[1])
    ran: list[str] = []
    assert context.add_callback(lambda: ran.append("a")) is True
    assert context.add_callback(lambda: ran.append("b")) is True
    assert context.is_active() and ran == []
    context.end()
    assert ran == ["a", "b"] and not context.is_active()
    context.end()  # a second end runs nothing again
    assert ran == ["a", "b"]
    assert context.add_callback(lambda: ran.append("late")) is False
    context.end()
    assert ran == ["a", "b"]


def test_abort_sets_the_status_on_serves_context_and_raises() -> None:
    caller, serve_context = serve_call()
    context = ServeCallContext(serve_context)
    assert not context.aborted and context.code() is None
    with pytest.raises(CallAborted, match="adapter acme/x not found"):
        context.abort(grpc.StatusCode.NOT_FOUND, "adapter acme/x not found")
    assert context.aborted
    assert serve_context.code() == grpc.StatusCode.NOT_FOUND and context.code() == grpc.StatusCode.NOT_FOUND
    assert serve_context.details() == "adapter acme/x not found"
    deliver(caller, serve_context)  # what the client gets once the replica returned
    assert (caller.sent_code, caller.sent_details) == (grpc.StatusCode.NOT_FOUND, "adapter acme/x not found")


def test_trailing_metadata_reaches_the_call() -> None:
    caller, serve_context = serve_call()
    context = ServeCallContext(serve_context)
    context.set_trailing_metadata((("hub-adapter-version", "3"), ("hub-queue-ms", "12")))
    deliver(caller, serve_context)
    # Serve keeps its request id in front of what the servicer set
    assert caller.sent_trailing == [("request_id", "req-1"), ("hub-adapter-version", "3"), ("hub-queue-ms", "12")]
    assert caller.sent_code is None  # no status set: gRPC's OK
