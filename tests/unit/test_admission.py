"""Admission pieces (hub/scheduling/admission.py): tenant policies, token buckets and the rate
limits built on them, the throughput estimate; a fake clock throughout."""

from __future__ import annotations

import math

import pytest

from hub.errors import InvalidArgument, Overloaded
from hub.scheduling.admission import (
    RATE_REQUESTS,
    RATE_TOKENS,
    QueueLimits,
    RateLimiter,
    TenantPolicy,
    Throughput,
    TokenBucket,
)
from hub.scheduling.fair import FairQueue, Ticket


@pytest.mark.parametrize(
    "fields",
    [
        {"weight": 0},
        {"weight": -1},
        {"weight": 1e9},
        {"weight": math.nan},
        {"rps": 0},
        {"rps": -5},
        {"rps": 1e12},
        {"tps": 0},
        {"tps": math.inf},
    ],
)
def test_zero_negative_or_absurd_policies_are_invalid(fields: dict[str, float]) -> None:
    with pytest.raises(InvalidArgument, match="must be between"):
        TenantPolicy(**fields)


def test_the_default_policy_is_weight_one_without_limits() -> None:
    assert TenantPolicy() == TenantPolicy(weight=1.0, rps=None, tps=None)


def test_a_token_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    bucket = TokenBucket(rate=10, burst=10, now=0.0)
    bucket.take(10, now=0.0)
    assert bucket.wait_for(1, now=0.0) == pytest.approx(0.1)
    assert bucket.wait_for(5, now=0.3) == pytest.approx(0.2)
    assert bucket.wait_for(1, now=100.0) == 0.0
    assert bucket.level == 10  # never more than the burst


def test_a_request_larger_than_the_burst_waits_for_a_full_bucket_then_leaves_it_in_debt() -> None:
    bucket = TokenBucket(rate=100, burst=100, now=0.0)
    bucket.take(50, now=0.0)
    assert bucket.wait_for(1000, now=0.0) == pytest.approx(0.5)  # until full, not 10 s
    bucket.take(1000, now=0.5)
    assert bucket.wait_for(1, now=0.5) == pytest.approx(9.01)


def test_requests_per_second_limit_refuses_with_a_hint() -> None:
    limiter = RateLimiter(TenantPolicy(rps=2), now=0.0)
    for _ in range(2):
        limiter.check(10, now=0.0)
        limiter.take(10, now=0.0)
    with pytest.raises(Overloaded, match="2 requests per second") as refused:
        limiter.check(10, now=0.0)
    assert refused.value.reason == RATE_REQUESTS
    assert refused.value.retry_after_ms == 500
    limiter.check(10, now=0.5)


def test_tokens_per_second_limit_refuses_with_a_hint() -> None:
    limiter = RateLimiter(TenantPolicy(tps=100), now=0.0)
    limiter.take(80, now=0.0)
    with pytest.raises(Overloaded, match="100 input tokens per second") as refused:
        limiter.check(40, now=0.0)
    assert refused.value.reason == RATE_TOKENS
    assert refused.value.retry_after_ms == 200


def test_rate_limits_apply_per_tenant_in_the_queue() -> None:
    q = FairQueue(max_batch_size=4)
    q.set_policy("limited", TenantPolicy(rps=1), now=0.0)
    q.admit(Ticket("limited", ["x"], [1]), now=0.0)
    with pytest.raises(Overloaded):
        q.admit(Ticket("limited", ["x"], [1]), now=0.1)
    for _ in range(5):
        q.admit(Ticket("free", ["x"], [1]), now=0.1)
    q.admit(Ticket("limited", ["x"], [1]), now=1.0)
    assert {s.tenant: s.refusals for s in q.stats()} == {"free": {}, "limited": {RATE_REQUESTS: 1}}


def test_a_refused_request_takes_nothing_from_the_buckets() -> None:
    q = FairQueue(max_batch_size=4, limits=QueueLimits(tenant_max_requests=1))
    q.set_policy("a", TenantPolicy(rps=2), now=0.0)
    q.admit(Ticket("a", ["x"], [1]), now=0.0)
    with pytest.raises(Overloaded, match="this tenant's share of the queue"):
        q.admit(Ticket("a", ["x"], [1]), now=0.0)
    q.take()
    q.admit(Ticket("a", ["x"], [1]), now=0.0)  # the second of two allowed per second


def test_throughput_fits_a_fixed_cost_per_batch_and_a_cost_per_token() -> None:
    t = Throughput(max_batch_size=32)
    assert t.seconds(1000) == 0.0 and t.batch_s is None  # nothing measured: no estimate
    t.observe(rows=32, tokens=1280, seconds=0.70)
    assert t.fixed == 0.0 and t.per_token == pytest.approx(0.70 / 1280)  # one size: no fixed cost yet
    t.observe(rows=1, tokens=40, seconds=0.18)  # mostly fixed cost
    assert t.per_token == pytest.approx(0.52 / 1240, rel=1e-3)
    assert t.fixed == pytest.approx(0.18 - 40 * 0.52 / 1240, rel=1e-3)
    assert t.batch_s == pytest.approx(0.70, rel=1e-3)  # 32 rows of 40 tokens
    assert t.tokens_per_s == pytest.approx(1280 / 0.70, rel=1e-3)
    assert t.batch_seconds(40) == pytest.approx(0.18, rel=1e-3)


def test_throughput_follows_a_change_of_speed() -> None:
    t = Throughput(max_batch_size=32)
    for _ in range(5):
        t.observe(rows=32, tokens=1280, seconds=0.7)
    for _ in range(30):
        t.observe(rows=32, tokens=1280, seconds=1.4)  # the machine got busier
    assert t.batch_s == pytest.approx(1.4, rel=0.02)


def test_the_batch_in_progress_ends_when_its_tokens_say() -> None:
    t = Throughput(max_batch_size=32)
    t.observe(rows=32, tokens=2000, seconds=1.0)
    t.started(2000, now=10.0)
    assert t.busy_for(10.5) == pytest.approx(0.5)
    assert t.busy_for(20.0) == 0.0
