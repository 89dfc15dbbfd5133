"""Fair queuing across tenants: the Virtual Token Counter (torch-free, no threads, no clock).

The policy of Sheng et al., "Fairness in Serving Large Language Models" (OSDI 2024, Algorithm
1), for an encoder: a request's cost is its input tokens (there are no output tokens).

- Each tenant has a FIFO queue of requests and a counter ``c`` of the service it received,
  in tokens divided by its weight.
- A batch (up to ``max_batch_size`` rows) is filled row by row from the backlogged tenant
  with the least counter (ties: the oldest waiting request); dispatching a row of ``k``
  tokens adds ``k / weight`` to its tenant's counter. A request larger than a batch simply
  continues in the next one.
- A tenant that becomes backlogged again is lifted to ``max(c, min of the backlogged
  counters)``, or, when nobody is backlogged, to ``max(c, the last dispatched counter)``: idle
  time banks no credit. Alone, a tenant gets every batch (work-conserving).

Bound (tested in tests/unit/test_fair_queue.py). Let ``M`` be the largest counter step of one
row (its tokens / its tenant's weight; at most max_tokens_per_text / the least weight) and ``m``
the least counter among backlogged tenants. ``m`` never decreases while anyone is backlogged
(a dispatch raises a counter, a tenant leaving cannot lower the minimum, a joiner is lifted to
at least ``m``), and every backlogged counter stays within ``[m, m + M]`` (the picked tenant
was the minimum before its step; a joiner's own counter was at most ``m + M`` when it left, and
``m`` has not decreased since). So for two tenants ``i`` and ``j`` backlogged during a whole
interval, with ``W`` the tokens served to each in it:

    | W_i / w_i  -  W_j / w_j |  <=  2 M

i.e. at most two rows' worth of tokens apart (the paper's bound is 2 x the largest batch
contribution; serving row by row makes it tighter).

Around the policy: admission (hub/scheduling/admission.py: rate limits, queue bounds, deadline
feasibility) and deadline expiry. Every method takes ``now`` (seconds, monotonic), so the
tests drive it with a fake clock; the threaded worker is hub/scheduling/scheduler.py.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field

from hub.errors import Cancelled, DeadlineExceeded, DomainError, Draining, Overloaded
from hub.scheduling.admission import (
    CANCELLED,
    DEADLINE,
    DEFAULT_POLICY,
    DRAINING,
    TENANT_REQUESTS,
    TENANT_TOKENS,
    TOTAL_REQUESTS,
    TOTAL_TOKENS,
    QueueLimits,
    RateLimiter,
    TenantPolicy,
    Throughput,
    queue_refusal,
    waits_for_room,
)
from hub.scheduling.tickets import Headroom, TenantStats, Ticket

EXPIRED = "expired"  # withdrawn from the queue at its deadline (DEADLINE: refused on arrival)
# Deadlines are planned against this fraction of the time left: an answer still has to be
# decoded and sent, and batch times vary with the load. Planning against all of it, 76 of 295
# answers under 1 s deadlines (2 cores) were computed and then arrived late.
PLAN = 0.9


@dataclass(eq=False)
class _Tenant:
    name: str
    limiter: RateLimiter
    counter: float = 0.0
    queue: deque[Ticket] = field(default_factory=deque)
    queued_tokens: int = 0
    served_requests: int = 0
    served_tokens: int = 0
    refused: Counter[str] = field(default_factory=Counter)

    @property
    def weight(self) -> float:
        return self.limiter.policy.weight


class FairQueue:
    def __init__(self, max_batch_size: int = 32, limits: QueueLimits | None = None) -> None:
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        self.max_batch_size = max_batch_size
        self.limits = limits or QueueLimits()
        self.throughput = Throughput(max_batch_size)
        self.closed = False
        self.queued_requests = 0
        self.queued_tokens = 0
        self.queued_rows = 0
        self._tenants: dict[str, _Tenant] = {}
        self._last_counter = 0.0
        self._seq = 0

    # ---- tenants ------------------------------------------------------------------------
    def policy(self, tenant: str) -> TenantPolicy:
        known = self._tenants.get(tenant)
        return known.limiter.policy if known is not None else DEFAULT_POLICY

    def set_policy(self, tenant: str, policy: TenantPolicy, now: float) -> None:
        """Apply a tenant's weight and rate limits (its counter and queue stay)."""
        state = self._tenant(tenant, now)
        if state.limiter.policy != policy:
            state.limiter = RateLimiter(policy, now)

    def _tenant(self, name: str, now: float) -> _Tenant:
        state = self._tenants.get(name)
        if state is None:
            state = self._tenants[name] = _Tenant(name, RateLimiter(DEFAULT_POLICY, now))
        return state

    def _backlogged(self) -> list[_Tenant]:
        return [t for t in self._tenants.values() if t.queue]

    # ---- admission ----------------------------------------------------------------------
    def precheck(self, tenant: str, tokens: int, deadline: float | None, now: float, count: bool = True) -> None:
        """Refuse now what would be refused at ``tokens``, a lower bound of the request's size,
        before its texts are tokenized: a flood's refusals cost no tokenizer time. (Tokenizing
        first, 96 handler threads queued on the tokenizer's lock and each refusal took 0.45 s
        p50 on 2 cores in the 384 x 8 arm.)"""
        self._check(self._tenant(tenant, now), max(1, tokens), deadline, now, count)

    def count_refusal(self, tenant: str, reason: str, now: float) -> None:
        """A refusal decided outside the queue (a call cancelled before it was queued)."""
        self._tenant(tenant, now).refused[reason] += 1

    def admit(self, ticket: Ticket, now: float, count: bool = True) -> None:
        """Queue ``ticket`` or raise why not (Overloaded, DeadlineExceeded, Draining), counted
        unless ``count`` is False and the caller may wait for room (``waits_for_room``)."""
        tenant = self._tenant(ticket.tenant, now)
        self._check(tenant, ticket.tokens, ticket.deadline, now, count)
        if not tenant.queue:
            tenant.counter = self._lifted(tenant)
        tenant.limiter.take(ticket.tokens, now)
        self._seq += 1
        ticket.seq, ticket.enqueued = self._seq, now
        tenant.queue.append(ticket)
        tenant.queued_tokens += ticket.queued_tokens
        self.queued_requests += 1
        self.queued_tokens += ticket.queued_tokens
        self.queued_rows += len(ticket.rows)

    def _lifted(self, tenant: _Tenant) -> float:
        """The counter of a tenant becoming backlogged: no credit for idle time."""
        backlogged = [t.counter for t in self._backlogged()]
        return max(tenant.counter, min(backlogged) if backlogged else self._last_counter)

    def _check(self, tenant: _Tenant, tokens: int, deadline: float | None, now: float, count: bool = True) -> None:
        """Raise why a request of ``tokens`` cannot be queued now; each refusal is counted but
        one for lack of room that the caller waits out (``count`` False)."""
        try:
            if self.closed:
                raise Draining()
            if deadline is not None and deadline <= now:
                raise DeadlineExceeded("the call's deadline passed before the request was queued")
            tenant.limiter.check(tokens, now)
            self._check_bounds(tenant, tokens, now)
            self._check_deadline(tenant, tokens, deadline, now)
        except DomainError as error:
            if count or not waits_for_room(error):
                tenant.refused[_reason(error)] += 1
            raise

    def _check_bounds(self, tenant: _Tenant, tokens: int, now: float) -> None:
        """A tenant may hold its weighted share of the total bounds (QueueLimits), up to its
        caps, and a tenant with nothing queued is always let in, whatever its request's size
        (or it could never be served). Within its share a tenant is not refused for what others
        hold: a tenant that had the queue to itself keeps what it queued while the newcomers
        fill their shares (the total bounds were at first enforced as such, and a quiet
        tenant's second request in flight was refused behind a flood that had filled the queue
        alone). So the total exceeds its bound only while such a tenant drains down to its
        share, and never twice its bound."""
        total_requests, total_tokens, tenant_requests, tenant_tokens = self._bounds(tenant)
        queued = len(tenant.queue)
        if queued + 1 > tenant_requests:
            drain = self._drain_s(tenant.queued_tokens, tenant, now)
            raise queue_refusal(TENANT_REQUESTS, tenant_requests, queued, 1, drain)
        if queued and tenant.queued_tokens + tokens > tenant_tokens:
            drain = self._drain_s(tenant.queued_tokens, tenant, now)
            raise queue_refusal(TENANT_TOKENS, tenant_tokens, tenant.queued_tokens, tokens, drain)
        if not queued:
            return
        if self.queued_requests + 1 > 2 * total_requests:
            drain = self._drain_s(self.queued_tokens, None, now)
            raise queue_refusal(TOTAL_REQUESTS, 2 * total_requests, self.queued_requests, 1, drain)
        if self.queued_tokens + tokens > 2 * total_tokens:
            drain = self._drain_s(self.queued_tokens, None, now)
            raise queue_refusal(TOTAL_TOKENS, 2 * total_tokens, self.queued_tokens, tokens, drain)

    def _bounds(self, tenant: _Tenant) -> tuple[int, int, int, int]:
        """(total requests, total tokens, the tenant's share in requests, in tokens) now."""
        total_requests, total_tokens, cap_requests, cap_tokens = self.limits.bounds(self.throughput.tokens_per_s)
        others = sum(t.weight for t in self._backlogged() if t is not tenant)
        share = tenant.weight / (tenant.weight + others)
        tenant_requests = min(cap_requests, max(1, math.ceil(total_requests * share)))
        tenant_tokens = min(cap_tokens, max(1, math.ceil(total_tokens * share)))
        return total_requests, total_tokens, tenant_requests, tenant_tokens

    def headroom(self, tenant: str, now: float) -> Headroom:
        """What ``tenant`` may still send now: its buckets and its share of the queue."""
        state = self._tenant(tenant, now)
        limiter, (_, _, share_requests, share_tokens) = state.limiter, self._bounds(state)
        requests = limiter.requests.left(now) if limiter.requests is not None else (None, 0.0)
        tokens = limiter.tokens.left(now) if limiter.tokens is not None else (None, 0.0)
        return Headroom(
            limiter.policy.rps,
            requests[0],
            requests[1],
            limiter.policy.tps,
            tokens[0],
            tokens[1],
            share_requests,
            max(0, share_requests - len(state.queue)),
            share_tokens,
            max(0, share_tokens - state.queued_tokens),
        )

    def _drain_s(self, tokens: float, tenant: _Tenant | None, now: float) -> float:
        """The retry hint of a queue refusal: the batch in progress, then the time to work off
        half of ``tokens`` (the waiting queue; a tenant's own is served at its weighted share
        of the backlog). Measured on 2 cores: hinting the time until one slot frees (a few ms)
        had a flood's refused clients retry so often that their refusals took the engine's CPU
        (14 instead of 42 answers/s); hinting the whole queue's time let the queue run dry
        before they came back (16 instead of 21 texts/s)."""
        share = 1.0
        if tenant is not None:
            weights = sum(t.weight for t in self._backlogged())
            share = tenant.weight / max(weights, tenant.weight)
        if self.throughput.tokens_per_s is None:
            # nothing measured yet (a fresh server under a burst): the order of a CPU batch.
            # 50 ms had 300 refused clients back 20 times a second while the first batch ran.
            return 0.5
        return self.throughput.busy_for(now) + self.throughput.seconds(tokens / share) / 2

    def _check_deadline(self, tenant: _Tenant, tokens: int, deadline: float | None, now: float) -> None:
        if deadline is None or self.throughput.tokens_per_s is None:
            return
        left = (deadline - now) * PLAN
        needed = self.finish_estimate(tenant.name, tokens, now, own_batch_s=left / 2)
        if needed > left:
            refused = DeadlineExceeded(
                f"cannot be answered in time: about {needed * 1000:.0f} ms of work (the queue ahead "
                f"of it in fair order, then its own) and {left * 1000:.0f} ms left before the deadline"
            )
            refused.retry_after_ms = max(1, int(1000 * (needed - left)))  # when that much has been worked off
            raise refused

    def finish_estimate(self, tenant: str, tokens: int, now: float, own_batch_s: float = 0.0) -> float:
        """Seconds until a new request of ``tokens`` from ``tenant`` would be answered: the batch
        in progress, then what fair order serves before it, then its own batch: at least its
        tokens' time, at most a full batch, and ``own_batch_s`` (the batch limit of ``take``:
        half its deadline budget) if that is between. (Counting only its own tokens, as a
        fluid queue would, admitted work that ended after its deadline: 279 of 495 answers
        late under 1 s deadlines on 2 cores.)"""
        state = self._tenant(tenant, now)
        start = (state.counter if state.queue else self._lifted(state)) + state.queued_tokens / state.weight
        others = [t for t in self._backlogged() if t is not state]

        def served_until(counter: float) -> float:
            """Tokens the other tenants are served while ``tenant``'s counter reaches ``counter``."""
            return sum(min(t.queued_tokens, max(0.0, counter - t.counter) * t.weight) for t in others)

        before = state.queued_tokens + served_until(start)
        through = state.queued_tokens + tokens + served_until(start + tokens / state.weight)
        own_batch = min(self.throughput.batch_s or 0.0, own_batch_s)
        seconds = self.throughput.seconds
        return self.throughput.busy_for(now) + max(seconds(through), seconds(before) + own_batch)

    # ---- leaving the queue --------------------------------------------------------------
    def withdraw(self, ticket: Ticket, reason: str) -> bool:
        """Take the rest of ``ticket`` out of the queue (cancelled, expired); False if none of
        it was queued any more. The caller fails its future."""
        tenant = self._tenants.get(ticket.tenant)
        if tenant is None or ticket.withdrawn or ticket.next_row >= len(ticket.rows):
            return False
        tenant.queue.remove(ticket)
        ticket.withdrawn = True
        tenant.queued_tokens -= ticket.queued_tokens
        self.queued_tokens -= ticket.queued_tokens
        self.queued_rows -= len(ticket.rows) - ticket.next_row
        self.queued_requests -= 1
        ticket.queued_tokens = 0
        tenant.refused[reason] += 1
        return True

    def expire(self, now: float) -> list[Ticket]:
        """Withdraw every queued request that would be answered after its deadline even if its
        next row ran alone in the next batch (it would be computed for a caller who has gone)."""
        late = [
            ticket
            for tenant in self._tenants.values()
            for ticket in tenant.queue
            if ticket.deadline is not None
            and ticket.deadline <= now + self.throughput.batch_seconds(ticket.costs[ticket.next_row])
        ]
        return [ticket for ticket in late if self.withdraw(ticket, EXPIRED)]

    def queued_tickets(self) -> list[Ticket]:
        return [ticket for tenant in self._backlogged() for ticket in tenant.queue]

    def oldest(self) -> float | None:
        """When the longest-waiting queued request arrived (None: the queue is empty)."""
        heads = [t.queue[0].enqueued for t in self._backlogged()]
        return min(heads) if heads else None

    def take(self, now: float | None = None, late: list[Ticket] | None = None) -> list[tuple[Ticket, int]]:
        """The next batch: (request, row index) pairs, filled by least counter (see above).

        Given ``now``, deadlines shape it. The batch is kept to half the shortest deadline
        budget (deadline minus arrival) among the queued requests, so that a request waits at
        most the batch in progress and its own: on 2 cores a full batch took 0.7-1.3 s, longer
        than a 1 s deadline allows, and on a CPU the engine's cost follows tokens, so smaller
        batches cost little throughput. A request whose row would end after its deadline in
        this batch is withdrawn (into ``late``) instead of shrinking the batch: sizing each
        batch to the soonest remaining deadline made batches of 1-2 rows and throughput fell
        to a fifth."""
        batch: list[tuple[Ticket, int]] = []
        backlogged = self._backlogged()
        limit = self._batch_limit_s() if now is not None else math.inf
        tokens, soonest = 0, math.inf  # soonest deadline in the batch
        while backlogged and len(batch) < self.max_batch_size:
            tenant = min(backlogged, key=lambda t: (t.counter, t.queue[0].seq))
            ticket = tenant.queue[0]
            ends = self.throughput.batch_seconds(tokens + ticket.costs[ticket.next_row])
            deadline = math.inf if ticket.deadline is None or now is None else (ticket.deadline - now) * PLAN
            if batch and (ends > limit or ends > soonest):
                break  # full for its time, or a row already in it would end late
            if ends > deadline:  # late even if the batch stopped with this row
                self.withdraw(ticket, EXPIRED)
                if late is not None:
                    late.append(ticket)
                backlogged = self._backlogged()
                continue
            tokens, soonest = tokens + ticket.costs[ticket.next_row], min(soonest, deadline)
            batch.append(self._dispatch(tenant, ticket, backlogged))
        return batch

    def _batch_limit_s(self) -> float:
        """Half the shortest deadline budget among queued requests (inf: none has one)."""
        budgets = [t.deadline - t.enqueued for t in self.queued_tickets() if t.deadline is not None]
        return min(budgets) / 2 if budgets else math.inf

    def _dispatch(self, tenant: _Tenant, ticket: Ticket, backlogged: list[_Tenant]) -> tuple[Ticket, int]:
        """Move the next row of ``ticket`` (the head of ``tenant``'s queue) into the batch."""
        index = ticket.next_row
        cost = ticket.costs[index]
        ticket.next_row += 1
        ticket.queued_tokens -= cost
        tenant.queued_tokens -= cost
        tenant.counter += cost / tenant.weight
        tenant.served_tokens += cost
        self.queued_tokens -= cost
        self.queued_rows -= 1
        if ticket.next_row == len(ticket.rows):
            tenant.queue.popleft()
            tenant.served_requests += 1
            self.queued_requests -= 1
            if not tenant.queue:
                backlogged.remove(tenant)
        self._last_counter = tenant.counter
        return ticket, index

    # ---- numbers ------------------------------------------------------------------------
    def counter(self, tenant: str) -> float:
        known = self._tenants.get(tenant)
        return known.counter if known is not None else 0.0

    def stats(self) -> list[TenantStats]:
        return [
            TenantStats(
                t.name,
                t.weight,
                len(t.queue),
                t.queued_tokens,
                t.served_requests,
                t.served_tokens,
                dict(t.refused),
            )
            for t in sorted(self._tenants.values(), key=lambda t: t.name)
        ]


def _reason(error: DomainError) -> str:
    if isinstance(error, Overloaded):
        return error.reason
    if isinstance(error, Draining):
        return DRAINING
    if isinstance(error, Cancelled):
        return CANCELLED
    return DEADLINE
