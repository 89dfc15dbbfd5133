"""Admission control for the fair scheduler (torch-free, clock passed in): tenant policies
(weight, rate limits), token buckets, queue bounds, the throughput estimate, retry hints.

Nothing here waits: a request over a bound is refused at once (``Overloaded``, i.e.
RESOURCE_EXHAUSTED) with a message naming the limit and a hint of when a retry may fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hub.errors import DeadlineExceeded, InvalidArgument, Overloaded

# What an operator may set. Beyond these a value is a typo, not a policy: a weight of 10^6
# would starve everyone else for minutes; a rate above a million per second is no limit at all.
MIN_WEIGHT, MAX_WEIGHT = 0.01, 1000.0
MAX_RPS = 1_000_000.0
MAX_TPS = 1_000_000_000.0

# Refusal and withdrawal reasons, as counted per tenant (and shown by `adapter-hub status`).
TENANT_REQUESTS = "tenant_queued_requests"
TENANT_TOKENS = "tenant_queued_tokens"
TOTAL_REQUESTS = "total_queued_requests"
TOTAL_TOKENS = "total_queued_tokens"
RATE_REQUESTS = "rate_requests_per_s"
RATE_TOKENS = "rate_tokens_per_s"
DEADLINE = "deadline"
CANCELLED = "cancelled"
DRAINING = "draining"
# Refusals for lack of room now, not for the request itself: a call may wait them out
# (hub/transport/rooms.py), and a refusal it waited out is not counted.
ROOM_REASONS = frozenset({TENANT_REQUESTS, TENANT_TOKENS, TOTAL_REQUESTS, TOTAL_TOKENS, RATE_REQUESTS, RATE_TOKENS})


def waits_for_room(error: BaseException) -> bool:
    """Whether a refusal is for lack of room now: a queue bound, a rate, or a deadline the queue
    cannot meet *now* (it carries a hint; a deadline already passed does not)."""
    if isinstance(error, Overloaded):
        return error.reason in ROOM_REASONS
    return isinstance(error, DeadlineExceeded) and error.retry_after_ms is not None


def _check(name: str, value: float | None, low: float, high: float) -> None:
    if value is None:
        return
    if not isinstance(value, int | float) or math.isnan(value) or not low <= value <= high:
        raise InvalidArgument(f"{name} must be between {low:g} and {high:g}; got {value!r}")


@dataclass(frozen=True)
class TenantPolicy:
    """A tenant's share and limits: ``weight`` (service in proportion to it while backlogged);
    ``rps`` / ``tps``: requests and input tokens per second (None: no limit)."""

    weight: float = 1.0
    rps: float | None = None
    tps: float | None = None

    def __post_init__(self) -> None:
        _check("weight", self.weight, MIN_WEIGHT, MAX_WEIGHT)
        _check("requests per second", self.rps, 1e-3, MAX_RPS)
        _check("tokens per second", self.tps, 1e-3, MAX_TPS)


DEFAULT_POLICY = TenantPolicy()


class TokenBucket:
    """``rate`` units per second, up to ``burst`` saved. A request larger than the burst is let
    through when the bucket is full and leaves it in debt, so no size is refused forever."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self.level = self.burst
        self.stamp = now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.level = min(self.burst, self.level + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait_for(self, amount: float, now: float) -> float:
        """Seconds until ``amount`` may be taken (0: now)."""
        self._refill(now)
        need = min(amount, self.burst)
        return 0.0 if self.level >= need else (need - self.level) / self.rate

    def take(self, amount: float, now: float) -> None:
        self._refill(now)
        self.level -= amount

    def left(self, now: float) -> tuple[int, float]:
        """(whole units that may be taken now, seconds until the bucket is full again)."""
        self._refill(now)
        return max(0, math.floor(self.level)), max(0.0, (self.burst - self.level) / self.rate)


class RateLimiter:
    """A tenant's two buckets (requests and tokens per second), one second of burst each."""

    def __init__(self, policy: TenantPolicy, now: float) -> None:
        self.policy = policy
        self.requests = TokenBucket(policy.rps, policy.rps, now) if policy.rps else None
        self.tokens = TokenBucket(policy.tps, policy.tps, now) if policy.tps else None

    def check(self, tokens: int, now: float) -> None:
        """Raise Overloaded if the request does not fit the tenant's rates now."""
        if self.requests is not None and (wait := self.requests.wait_for(1, now)) > 0:
            raise Overloaded(
                f"rate limit: this tenant may send {self.policy.rps:g} requests per second",
                RATE_REQUESTS,
                _ms(wait),
            )
        if self.tokens is not None and (wait := self.tokens.wait_for(tokens, now)) > 0:
            raise Overloaded(
                f"rate limit: this tenant may send {self.policy.tps:g} input tokens per second "
                f"(this request has {tokens})",
                RATE_TOKENS,
                _ms(wait),
            )

    def take(self, tokens: int, now: float) -> None:
        if self.requests is not None:
            self.requests.take(1, now)
        if self.tokens is not None:
            self.tokens.take(tokens, now)


@dataclass(frozen=True)
class QueueLimits:
    """Bounds on queued (admitted, not yet dispatched) work. Zero means derived:

    - ``max_tokens``: ``queue_s`` seconds of work at the measured throughput, at least
      ``min_tokens`` (also the bound until a batch has been measured);
    - ``tenant_max_requests`` / ``tenant_max_tokens``: caps per tenant (default: the totals).

    Each tenant may hold its weighted share of the totals (weight over the weights of the
    tenants with queued work, itself included): alone, the whole queue; two floods, half each
    (1:3 weights: a quarter and three quarters), so the queue itself stays fair. While a tenant
    that had the queue to itself drains down to its share, the others still get theirs, so the
    total may pass its bound then, never twice it (FairQueue._check_bounds).

    ``max_requests`` bounds waiting callers: each holds a server thread, so keep it under the
    server's worker threads (the default is three quarters of them), or a refusal itself waits.
    """

    max_requests: int = 72
    max_tokens: int = 0
    tenant_max_requests: int = 0
    tenant_max_tokens: int = 0
    queue_s: float = 2.0
    min_tokens: int = 2048

    def __post_init__(self) -> None:
        for name in ("max_requests", "max_tokens", "tenant_max_requests", "tenant_max_tokens", "min_tokens"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.max_requests < 1 or self.queue_s <= 0:
            raise ValueError("max_requests must be at least 1 and queue_s positive")

    def bounds(self, tokens_per_s: float | None) -> tuple[int, int, int, int]:
        """(total requests, total tokens, tenant requests, tenant tokens) now."""
        tokens = self.max_tokens
        if not tokens:
            measured = int(self.queue_s * tokens_per_s) if tokens_per_s else 0
            tokens = max(self.min_tokens, measured)
        tenant_requests = min(self.tenant_max_requests or self.max_requests, self.max_requests)
        return self.max_requests, tokens, tenant_requests, min(self.tenant_max_tokens or tokens, tokens)


class Throughput:
    """The engine's speed as measured on its batches, ``seconds = fixed + per_token x tokens``,
    fitted by least squares over the recent batches (each older one weighing 0.9 as much), and
    the expected end of the batch in progress.

    Both terms matter: one row took 0.18 s where 32 took 0.7 s on 2 cores. A rate averaged over
    whole batches either over-counted small batches (a fresh server's first estimate was 6x too
    slow) or, ignoring them, froze when deadlines made batches small, and its too slow estimate
    then refused the work that would have let it recover."""

    FORGET = 0.9

    def __init__(self, max_batch_size: int) -> None:
        self.max_batch_size = max_batch_size
        self.fixed = 0.0  # seconds per batch
        self.per_token: float | None = None  # seconds per token; None until a batch has run
        self.row_tokens: float | None = None  # mean tokens per row, recently
        self.busy_until = 0.0
        self._sums = (0.0, 0.0, 0.0, 0.0, 0.0)  # weights, x, y, xx, xy (x tokens, y seconds)

    def observe(self, rows: int, tokens: int, seconds: float) -> None:
        if seconds <= 0 or tokens <= 0 or rows <= 0:
            return
        f, (w, sx, sy, sxx, sxy) = self.FORGET, self._sums
        x, y = float(tokens), seconds
        w, sx, sy, sxx, sxy = f * w + 1, f * sx + x, f * sy + y, f * sxx + x * x, f * sxy + x * y
        self._sums = (w, sx, sy, sxx, sxy)
        spread = w * sxx - sx * sx
        fixed, per_token = 0.0, sy / sx
        if spread > 1e-6 * w * sxx:  # batches of several sizes: the fixed cost shows
            per_token = (w * sxy - sx * sy) / spread
            fixed = (sy - per_token * sx) / w
        if fixed < 0 or per_token <= 0:  # noise: a line through the origin
            fixed, per_token = 0.0, sxy / sxx
        self.fixed, self.per_token = fixed, per_token
        mean = tokens / rows
        self.row_tokens = mean if self.row_tokens is None else self.row_tokens + 0.1 * (mean - self.row_tokens)

    def batch_seconds(self, tokens: float) -> float:
        """Estimated time of one batch of ``tokens`` (0 until a batch has been measured)."""
        return 0.0 if self.per_token is None else self.fixed + self.per_token * tokens

    @property
    def batch_s(self) -> float | None:
        """A full batch of typical rows."""
        return None if self.row_tokens is None else self.batch_seconds(self.max_batch_size * self.row_tokens)

    @property
    def tokens_per_s(self) -> float | None:
        """Throughput in full batches."""
        full = self.batch_s
        return None if not full or self.row_tokens is None else self.max_batch_size * self.row_tokens / full

    def seconds(self, tokens: float) -> float:
        """Estimated engine time for a queue of ``tokens``, worked off in full batches."""
        rate = self.tokens_per_s
        return tokens / rate if rate else 0.0

    def started(self, tokens: int, now: float) -> None:
        self.busy_until = now + self.batch_seconds(tokens)

    def busy_for(self, now: float) -> float:
        return max(0.0, self.busy_until - now)


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


def queue_refusal(reason: str, limit: int, queued: int, wanted: int, drain_s: float) -> Overloaded:
    """The refusal for a full queue: which bound, how full, and when to retry (the time the
    engine needs to work off the excess, at least 10 ms)."""
    what = {
        TENANT_REQUESTS: ("this tenant's share of the queue", "requests"),
        TENANT_TOKENS: ("this tenant's share of the queue", "input tokens"),
        TOTAL_REQUESTS: ("the server's queue", "requests"),
        TOTAL_TOKENS: ("the server's queue", "input tokens"),
    }[reason]
    return Overloaded(
        f"overloaded: {what[0]} holds {queued} of at most {limit} {what[1]} waiting"
        f" (this request adds {wanted}); retry after the hinted delay",
        reason,
        _ms(max(drain_s, 0.01)),
    )
