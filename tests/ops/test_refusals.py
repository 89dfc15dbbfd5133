"""Every refused call says why, the same way everywhere: its log line's ``refused``, the
``adapter_hub_rejected_total`` reason, the per-tenant error counter; and answers and refusals
carry the tenant's rate-limit headroom (``x-ratelimit-*``, ``x-queue-*``) as trailing metadata,
which the client library exposes with the request id."""

from __future__ import annotations

from pathlib import Path

import pytest
from adapter_hub_client import HubClient, ResourceExhausted, Unauthenticated

from hub.observe import request_log as rl
from hub.observe.logs import REQUEST_LOGGER
from hub.scheduling.admission import RateLimiter, TenantPolicy
from hub.scheduling.fair import FairQueue
from hub.transport.headroom import trailers
from tests.ops.conftest import ADMIN
from tests.ops.test_logs import json_log, lines  # noqa: F401 - the fixture
from tests.ops.test_metrics import scrape, value


def test_headroom_of_a_tenant_with_limits_and_without() -> None:
    queue = FairQueue(max_batch_size=4)
    queue.set_policy("limited", TenantPolicy(rps=2.0, tps=100.0), now=0.0)
    room = queue.headroom("limited", now=0.0)
    assert (room.limit_requests, room.remaining_requests, room.reset_requests_s) == (2.0, 2, 0.0)
    assert (room.limit_tokens, room.remaining_tokens) == (100.0, 100)
    assert room.queue_remaining_requests == room.queue_limit_requests >= 1
    pairs = dict(trailers(room))
    assert pairs["x-ratelimit-limit-requests"] == "2" and pairs["x-ratelimit-remaining-tokens"] == "100"
    free = dict(trailers(queue.headroom("free", now=0.0)))
    assert "x-ratelimit-limit-requests" not in free and int(free["x-queue-remaining-tokens"]) > 0
    limiter = RateLimiter(TenantPolicy(rps=2.0), now=0.0)
    limiter.take(1, now=0.0)
    limiter.take(1, now=0.0)  # a request each: the bucket of 2 is empty
    assert limiter.requests is not None and limiter.requests.left(now=0.25) == (0, 0.75)


def test_every_refusal_has_a_reason() -> None:
    from hub.errors import Cancelled, DeadlineExceeded, Draining, NotFound, Overloaded

    assert rl.refusal_reason(Overloaded("x", "rate_requests_per_s", 5)) == rl.RATE
    assert rl.refusal_reason(Overloaded("x", "tenant_queued_tokens", 5)) == rl.QUEUE
    assert rl.refusal_reason(DeadlineExceeded("late")) == rl.DEADLINE
    assert rl.refusal_reason(Draining()) == rl.DRAINING
    assert rl.refusal_reason(Cancelled("gone")) == rl.CANCELLED
    assert rl.refusal_reason(NotFound("nope")) == ""


@pytest.mark.integration
def test_refusals_logged_counted_and_headroom_sent(start_hub, tiny_runtime, adapter_dir: Path, json_log) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    server, _ = start_hub(tiny_runtime, auth="on", admin_key=ADMIN)
    endpoint = server.service.telemetry.serve_http("127.0.0.1", 0)
    target = f"127.0.0.1:{server.port}"
    try:
        with HubClient(target, api_key=ADMIN, retries=0) as admin:
            key = admin.create_tenant("acme", rps=0.001).api_key  # one request, then refused a long while
        with HubClient(target, api_key=key, retries=0) as client:
            client.push(adapter_dir, "sent")
            answer = client.predict("sent", ["fine words"], metadata=[("x-request-id", "mine-1")])
            with pytest.raises(ResourceExhausted) as refused:
                client.predict("sent", ["more words"])
        stranger = HubClient(target, api_key="ahk_0123456789abcdef_wrong", retries=0)
        with stranger, pytest.raises(Unauthenticated) as unknown:
            stranger.predict("sent", ["x"])
        after = scrape(endpoint.port)
    finally:
        endpoint.stop()
    assert answer.request_id == "mine-1" and len(answer) == 1
    assert answer.ratelimit["x-ratelimit-limit-requests"] == "0.001"
    assert answer.ratelimit["x-ratelimit-remaining-requests"] == "0"
    assert int(answer.ratelimit["x-ratelimit-reset-requests-ms"]) > 900_000
    assert int(answer.ratelimit["x-queue-limit-requests"]) >= 1
    error = refused.value
    assert error.retry_after_s is not None and error.request_id and len(error.request_id) == 16
    assert error.ratelimit["x-ratelimit-remaining-requests"] == "0"
    assert unknown.value.request_id and unknown.value.ratelimit == {}

    requests = [line for line in lines(json_log) if line["logger"] == REQUEST_LOGGER]
    by_id = {line["request_id"]: line for line in requests}
    assert by_id[error.request_id]["refused"] == "rate" and by_id[error.request_id]["tenant"] == "acme"
    assert by_id[unknown.value.request_id]["refused"] == "auth"
    assert "refused" not in by_id["mine-1"]
    logged = {}
    for line in requests:
        if "refused" in line:
            logged[line["refused"]] = logged.get(line["refused"], 0) + 1
    for reason, count in logged.items():  # the log and the counter agree, reason by reason
        assert value(after, "adapter_hub_rejected_total", reason=reason) == count, reason
    assert value(after, "adapter_hub_tenant_request_seconds_count", tenant="acme") == 3  # push, predict, refused
    assert value(after, "adapter_hub_tenant_errors_total", tenant="acme", code="RESOURCE_EXHAUSTED") == 1
    assert value(after, "adapter_hub_tenant_errors_total", tenant="-", code="UNAUTHENTICATED") == 1


def test_headroom_is_sent_only_for_its_own_call() -> None:
    """A servicer thread reused across calls without the observer's per-call context (as the
    cluster's replicas run them) never attaches one call's numbers to another's refusal."""
    from hub.serving.auth import Caller
    from hub.transport import headroom

    class Service:
        def headroom(self, caller: Caller) -> object:
            return FairQueue().headroom(caller.tenant, now=0.0)

    class Context:
        def __init__(self) -> None:
            self.trailing: tuple[tuple[str, str], ...] = ()

        def set_trailing_metadata(self, pairs: tuple[tuple[str, str], ...]) -> None:
            self.trailing = pairs

    first = Context()
    with rl.recording(rl.RequestRecord("r1", "Predict")):
        with headroom.reported(first, Service(), Caller("acme")):  # type: ignore[arg-type]
            pass
        assert headroom.pending() == first.trailing != ()
    assert headroom.pending() == ()  # no call now: nothing pending
    with rl.recording(rl.RequestRecord("r2", "Predict")):
        assert headroom.pending() == ()  # another call's record: not its numbers


@pytest.mark.integration
def test_a_stream_ends_with_its_request_id_and_its_tenants_headroom(start_hub, tiny_runtime, adapter_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """PredictStream carries the tenant's headroom as unary answers do, once, as it ends; the
    client library's stream (sync and asyncio) has it, and the call's request id, once read."""
    import asyncio

    from adapter_hub_client.aio import AsyncHubClient

    server, _ = start_hub(tiny_runtime, auth="on", admin_key=ADMIN)
    target = f"127.0.0.1:{server.port}"
    with HubClient(target, api_key=ADMIN, retries=0) as admin:
        key = admin.create_tenant("acme", rps=50).api_key
    requests = [("r1", "sent", ["fine words"], ""), ("r2", "sent", ["more words", "and more"], "")]
    with HubClient(target, api_key=key, retries=0) as client:
        client.push(adapter_dir, "sent")
        stream = client.predict_stream(iter(requests))
        assert stream.request_id is None and stream.ratelimit == {}  # not before the call ended
        answers = list(stream)
    assert sorted(a.request_id for a in answers) == ["r1", "r2"] and all(a.error is None for a in answers)
    assert stream.request_id and len(stream.request_id) == 16
    assert stream.ratelimit["x-ratelimit-limit-requests"] == "50"
    assert 0 <= int(stream.ratelimit["x-ratelimit-remaining-requests"]) <= 50  # (its bucket refills at 50/s)
    assert "x-ratelimit-reset-requests-ms" in stream.ratelimit
    assert int(stream.ratelimit["x-queue-limit-requests"]) >= 1

    async def streamed() -> tuple[list[str], str | None, dict[str, str]]:
        async with AsyncHubClient(target, api_key=key, retries=0) as hub:
            call = hub.predict_stream(requests)
            ids = [item.request_id async for item in call]
            return ids, call.request_id, call.ratelimit

    loop = asyncio.new_event_loop()  # its own: asyncio.run would leave the thread without one
    try:
        ids, request_id, ratelimit = loop.run_until_complete(streamed())
    finally:
        loop.close()
    assert sorted(ids) == ["r1", "r2"] and request_id and request_id != stream.request_id
    assert ratelimit["x-ratelimit-limit-requests"] == "50"
