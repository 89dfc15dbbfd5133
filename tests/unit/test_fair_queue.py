"""The Virtual Token Counter policy (hub/scheduling/fair.py), driven by a fake clock: order of
service, lifting, weights, the fairness bound, splitting, expiry, withdrawal, queue bounds."""

from __future__ import annotations

import random

import pytest

from hub.errors import DeadlineExceeded, Draining, Overloaded
from hub.scheduling.admission import (
    DEADLINE,
    TENANT_REQUESTS,
    TENANT_TOKENS,
    TOTAL_REQUESTS,
    QueueLimits,
    TenantPolicy,
)
from hub.scheduling.fair import EXPIRED, FairQueue, Ticket

ROOMY = QueueLimits(max_requests=10_000, max_tokens=10**9, tenant_max_requests=10_000, tenant_max_tokens=10**9)


def ticket(tenant: str, *costs: int, deadline: float | None = None) -> Ticket:
    return Ticket(tenant, [f"{tenant}{i}" for i in range(len(costs))], list(costs), deadline)


def tenants_of(batch: list[tuple[Ticket, int]]) -> list[str]:
    return [t.tenant for t, _ in batch]


def tokens_by_tenant(batch: list[tuple[Ticket, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for t, i in batch:
        out[t.tenant] = out.get(t.tenant, 0) + t.costs[i]
    return out


def test_a_quiet_tenant_is_served_in_the_next_batch_ahead_of_a_backlog() -> None:
    q = FairQueue(max_batch_size=4, limits=ROOMY)
    for _ in range(12):
        q.admit(ticket("flood", 10), now=0.0)
    q.admit(ticket("quiet", 10), now=0.1)
    # ties go to the oldest request; after one flood row the quiet tenant has the least counter
    assert tenants_of(q.take()) == ["flood", "quiet", "flood", "flood"]
    assert tenants_of(q.take()) == ["flood"] * 4


def test_alone_a_tenant_gets_every_row_in_arrival_order() -> None:
    q = FairQueue(max_batch_size=4, limits=ROOMY)
    tickets = [ticket("solo", 5 + i) for i in range(6)]
    for t in tickets:
        q.admit(t, now=0.0)
    first, second = q.take(), q.take()
    assert [t for t, _ in first + second] == tickets
    assert q.take() == []


def test_a_request_larger_than_a_batch_continues_in_the_next_one() -> None:
    q = FairQueue(max_batch_size=4, limits=ROOMY)
    big = ticket("a", *[1] * 10)
    q.admit(big, now=0.0)
    batches = [q.take(), q.take(), q.take()]
    assert [[i for _, i in b] for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert q.queued_requests == 0 and q.queued_rows == 0 and q.queued_tokens == 0


def test_a_returning_tenant_is_lifted_and_banks_no_credit_for_idle_time() -> None:
    q = FairQueue(max_batch_size=8, limits=ROOMY)
    for _ in range(40):
        q.admit(ticket("busy", 10), now=0.0)
    for _ in range(3):
        q.take()  # 24 rows of the busy tenant: its counter is 240
    assert q.counter("busy") == 240
    for _ in range(20):
        q.admit(ticket("late", 10), now=1.0)
    assert q.counter("late") == 240  # lifted to the backlogged minimum, not left at 0
    assert tokens_by_tenant(q.take()) == {"busy": 40, "late": 40}  # an even split, no catch-up


def test_an_idle_queue_lifts_a_newcomer_to_the_last_dispatched_counter() -> None:
    q = FairQueue(max_batch_size=8, limits=ROOMY)
    q.admit(ticket("a", 100), now=0.0)
    q.take()
    q.admit(ticket("b", 5), now=1.0)  # nobody backlogged: lifted to the last counter
    assert q.counter("b") == 100


def test_weights_share_the_service_in_proportion() -> None:
    q = FairQueue(max_batch_size=16, limits=ROOMY)
    q.set_policy("heavy", TenantPolicy(weight=3), now=0.0)
    for _ in range(400):
        q.admit(ticket("light", 10), now=0.0)
        q.admit(ticket("heavy", 10), now=0.0)
    served = {"light": 0, "heavy": 0}
    for _ in range(20):
        for name, tokens in tokens_by_tenant(q.take()).items():
            served[name] += tokens
    assert served["heavy"] + served["light"] == 20 * 16 * 10
    assert abs(served["heavy"] / 3 - served["light"]) <= 2 * 10  # within the bound, 2 rows


@pytest.mark.parametrize("seed", range(5))
def test_backlogged_tenants_stay_within_the_bound_under_random_traffic(seed: int) -> None:
    """|W_i/w_i - W_j/w_j| <= 2M over every interval in which both were backlogged throughout,
    M being the largest counter step of one row (the module docstring's proof)."""
    rng = random.Random(seed)
    weights = {"a": 1.0, "b": 2.0, "c": 0.5, "d": 4.0}
    q = FairQueue(max_batch_size=rng.choice([4, 8, 32]), limits=ROOMY)
    for name, weight in weights.items():
        q.set_policy(name, TenantPolicy(weight=weight), now=0.0)
    step = 0.0
    start: dict[tuple[str, str], tuple[float, float]] = {}  # pair -> counters when both became backlogged
    for tick in range(3000):
        if rng.random() < 0.6:
            name = rng.choice(list(weights))
            costs = [rng.randint(1, 64) for _ in range(rng.randint(1, 12))]
            step = max(step, max(costs) / weights[name])
            q.admit(ticket(name, *costs), now=float(tick))
        else:
            q.take()
        backlogged = {s.tenant for s in q.stats() if s.queued_requests}
        for i in weights:
            for j in weights:
                if i >= j:
                    continue
                if i in backlogged and j in backlogged:
                    ci, cj = start.setdefault((i, j), (q.counter(i), q.counter(j)))
                    gap = (q.counter(i) - ci) - (q.counter(j) - cj)
                    assert abs(gap) <= 2 * step + 1e-9, (tick, i, j, gap, step)
                else:
                    start.pop((i, j), None)


def test_withdrawn_requests_never_reach_a_batch() -> None:
    q = FairQueue(max_batch_size=8, limits=ROOMY)
    keep, gone = ticket("a", 3, 3), ticket("a", 4, 4, 4)
    q.admit(keep, now=0.0)
    q.admit(gone, now=0.0)
    assert q.withdraw(gone, "cancelled")
    assert not q.withdraw(gone, "cancelled")  # once only
    assert (q.queued_requests, q.queued_rows, q.queued_tokens) == (1, 2, 6)
    assert [t for t, _ in q.take()] == [keep, keep]
    assert q.stats()[0].refusals == {"cancelled": 1}


def test_requests_past_their_deadline_leave_before_the_next_batch() -> None:
    q = FairQueue(max_batch_size=8, limits=ROOMY)
    q.throughput.observe(rows=8, tokens=800, seconds=1.0)  # 800 tokens/s measured
    soon = ticket("a", 10, deadline=5.0)
    later = ticket("a", 10, deadline=60.0)
    none = ticket("b", 10)
    for t in (soon, later, none):
        q.admit(t, now=0.0)
    # soon's row alone takes 12.5 ms: at 4.98 s it still fits, at 4.99 s it cannot
    assert q.expire(now=4.98) == []
    assert q.expire(now=4.99) == [soon]
    assert set(tenants_of(q.take())) == {"a", "b"}
    assert q.stats()[0].refusals == {EXPIRED: 1}


def test_batches_are_kept_to_half_the_shortest_deadline_budget() -> None:
    q = FairQueue(max_batch_size=8, limits=ROOMY)
    q.admit(ticket("a", *[100] * 8, deadline=1.0), now=0.0)  # admitted before the speed was known
    q.admit(ticket("b", *[100] * 8), now=0.0)
    q.throughput.observe(rows=8, tokens=800, seconds=0.8)  # 1,000 tokens/s: 0.1 s per row
    assert len(q.take(now=0.0)) == 5  # 0.5 s: a waits at most this batch and its own
    q.take(now=0.0)
    q.take(now=0.0)  # a's rows are all out: no deadline left, full batches again
    assert len(q.take(now=0.0)) == 1  # b's last


def test_a_request_that_would_end_late_in_this_batch_is_withdrawn_not_shrinking_it() -> None:
    q = FairQueue(max_batch_size=8, limits=ROOMY)
    first = ticket("a", 100, 100)
    tight = ticket("a", 100, deadline=1.2)  # budget 1.2 s: batches of at most 0.6 s
    rest = ticket("a", *[100] * 6)
    for t in (first, tight, rest):
        q.admit(t, now=0.0)
    q.throughput.observe(rows=8, tokens=800, seconds=0.8)
    late: list[Ticket] = []
    batch = q.take(now=1.0, late=late)
    assert late == [tight]  # third in line it would end at 1.3 s
    assert [t for t, _ in batch] == [first, first, rest, rest, rest, rest]  # still 0.6 s of work
    assert q.stats()[0].refusals == {EXPIRED: 1}


def test_a_request_that_cannot_finish_in_time_is_refused_at_once() -> None:
    q = FairQueue(max_batch_size=8, limits=ROOMY)
    q.throughput.observe(rows=8, tokens=1000, seconds=1.0)  # 1,000 tokens/s
    for _ in range(20):
        q.admit(ticket("flood", 100), now=0.0)  # 2 s of work queued
    with pytest.raises(DeadlineExceeded, match="cannot be answered in time"):
        q.admit(ticket("flood", 100, deadline=1.0), now=0.0)
    # in fair order the quiet tenant has only about one flood row ahead of it: it fits
    q.admit(ticket("quiet", 100, deadline=1.0), now=0.0)
    assert q.finish_estimate("quiet", 100, now=0.0) < 0.5
    with pytest.raises(DeadlineExceeded, match="passed"):
        q.admit(ticket("quiet", 1, deadline=1.0), now=1.0)
    assert {s.tenant: s.refusals for s in q.stats()} == {"flood": {DEADLINE: 1}, "quiet": {DEADLINE: 1}}


def test_tenant_bounds_refuse_with_the_limit_named_and_a_retry_hint() -> None:
    limits = QueueLimits(max_requests=100, max_tokens=10_000, tenant_max_requests=3, tenant_max_tokens=50)
    q = FairQueue(max_batch_size=4, limits=limits)
    q.throughput.observe(rows=4, tokens=1000, seconds=1.0)  # 1,000 tokens/s
    for _ in range(3):
        q.admit(ticket("a", 10), now=0.0)
    with pytest.raises(Overloaded) as refused:
        q.admit(ticket("a", 10), now=0.0)
    assert refused.value.reason == TENANT_REQUESTS
    assert "this tenant's share of the queue holds 3 of at most 3 requests" in refused.value.message
    assert refused.value.retry_after_ms == 15  # half the queue now waiting (30 tokens) at 1,000 tokens/s
    with pytest.raises(Overloaded) as refused:
        q.admit(ticket("b", 30), now=0.0) or q.admit(ticket("b", 30), now=0.0)
    assert refused.value.reason == TENANT_TOKENS
    assert "30 of at most 50 input tokens" in refused.value.message
    # half of b's queue (30 tokens), served at half the engine (a and b both backlogged): 30 ms
    assert refused.value.retry_after_ms == 30
    assert {s.tenant: s.refusals for s in q.stats()} == {"a": {TENANT_REQUESTS: 1}, "b": {TENANT_TOKENS: 1}}


def test_precheck_refuses_before_the_request_is_counted_in_tokens() -> None:
    q = FairQueue(max_batch_size=4, limits=QueueLimits(max_requests=100, max_tokens=1000, tenant_max_tokens=50))
    q.precheck("a", 500, None, now=0.0)  # nothing queued: anything fits
    q.admit(ticket("a", 40), now=0.0)
    q.precheck("a", 10, None, now=0.0)
    with pytest.raises(Overloaded, match="holds 40 of at most 50 input tokens"):
        q.precheck("a", 11, None, now=0.0)  # at least 11 tokens: cannot fit
    with pytest.raises(DeadlineExceeded):
        q.precheck("b", 1, 1.0, now=2.0)
    q.closed = True
    with pytest.raises(Draining):
        q.precheck("b", 1, None, now=2.0)
    assert {s.tenant: s.refusals for s in q.stats()} == {
        "a": {TENANT_TOKENS: 1},
        "b": {DEADLINE: 1, "draining": 1},
    }


def test_a_request_larger_than_the_tenant_bound_is_admitted_alone() -> None:
    q = FairQueue(max_batch_size=4, limits=QueueLimits(max_tokens=10_000, tenant_max_tokens=50))
    q.admit(ticket("a", 500), now=0.0)
    with pytest.raises(Overloaded):
        q.admit(ticket("a", 1), now=0.0)


def test_a_tenant_within_its_share_is_let_in_behind_a_flood_that_filled_the_queue() -> None:
    q = FairQueue(max_batch_size=4, limits=QueueLimits(max_requests=4, max_tokens=10**6))
    for _ in range(4):
        q.admit(ticket("flood", 10), now=0.0)  # alone: the whole queue
    q.admit(ticket("other", 10), now=0.0)  # nothing queued: always let in
    q.admit(ticket("other", 10), now=0.0)  # within its half, though the total is full
    with pytest.raises(Overloaded, match="share of the queue holds 2 of at most 2 requests"):
        q.admit(ticket("other", 10), now=0.0)
    q.set_policy("big", TenantPolicy(weight=10), now=0.0)
    q.admit(ticket("big", 10), now=0.0)
    q.admit(ticket("big", 10), now=0.0)  # 8 queued: twice the bound
    with pytest.raises(Overloaded, match="the server's queue holds 8 of at most 8 requests") as refused:
        q.admit(ticket("big", 10), now=0.0)  # within its share (4 of 4 x 10/12), but never past twice
    assert refused.value.reason == TOTAL_REQUESTS


def test_derived_bounds_follow_the_measured_throughput() -> None:
    limits = QueueLimits(max_requests=72, queue_s=2.0, min_tokens=1000)
    assert limits.bounds(None) == (72, 1000, 72, 1000)  # (totals, then per-tenant caps)
    assert limits.bounds(4000.0) == (72, 8000, 72, 8000)
    assert QueueLimits(max_requests=72, tenant_max_requests=10).bounds(None)[2] == 10


def test_each_tenant_may_hold_its_weighted_share_of_the_queue() -> None:
    q = FairQueue(max_batch_size=4, limits=QueueLimits(max_requests=8, max_tokens=10**6))
    q.set_policy("heavy", TenantPolicy(weight=3), now=0.0)
    for _ in range(8):
        q.admit(ticket("light", 1), now=0.0)  # alone: the whole queue
    with pytest.raises(Overloaded, match="holds 8 of at most 8 requests"):
        q.admit(ticket("light", 1), now=0.0)
    for _ in range(6):
        q.admit(ticket("heavy", 1), now=0.0)  # three quarters of 8, while light drains
    with pytest.raises(Overloaded, match="share of the queue holds 6 of at most 6 requests"):
        q.admit(ticket("heavy", 1), now=0.0)
    with pytest.raises(Overloaded, match="share of the queue holds 8 of at most 2 requests"):
        q.admit(ticket("light", 1), now=0.0)  # light's share is now a quarter
    assert [t.tenant for b in (q.take(), q.take()) for t, _ in b] == ["light", "heavy", "heavy", "heavy"] * 2
    assert {s.tenant: s.queued_requests for s in q.stats()} == {"heavy": 0, "light": 6}


def test_a_closed_queue_refuses_new_work() -> None:
    q = FairQueue(max_batch_size=4, limits=ROOMY)
    q.closed = True
    with pytest.raises(Draining):
        q.admit(ticket("a", 1), now=0.0)
    assert q.stats()[0].refusals == {"draining": 1}


def test_stats_count_queued_and_served_per_tenant() -> None:
    q = FairQueue(max_batch_size=2, limits=ROOMY)
    q.admit(ticket("a", 5, 6, 7), now=0.0)
    q.admit(ticket("b", 1), now=0.0)
    q.take()
    stats = {s.tenant: s for s in q.stats()}
    assert (stats["a"].queued_requests, stats["a"].queued_tokens, stats["a"].served_tokens) == (1, 13, 5)
    assert (stats["b"].queued_requests, stats["b"].served_requests, stats["b"].served_tokens) == (0, 1, 1)
