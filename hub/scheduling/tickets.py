"""What the fair queue holds and reports (hub/scheduling/fair.py): a request's ticket, a tenant's numbers."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class Ticket:
    """One request's rows on their way through the queue; ``future`` gets its results."""

    tenant: str
    rows: Sequence[Any]
    costs: Sequence[int]
    deadline: float | None = None
    enqueued: float = 0.0
    future: Future[list[Any]] = field(default_factory=Future)
    seq: int = 0
    next_row: int = 0  # rows before it are dispatched
    queued_tokens: int = 0
    withdrawn: bool = False

    def __post_init__(self) -> None:
        if len(self.costs) != len(self.rows):
            raise ValueError("one cost per row")
        self.results: list[Any] = [None] * len(self.rows)
        self.unanswered = len(self.rows)
        self.queued_tokens = sum(self.costs)

    @property
    def tokens(self) -> int:
        return sum(self.costs)


@dataclass(frozen=True)
class TenantStats:
    """One tenant's row of `adapter-hub status` (and of the metrics)."""

    tenant: str
    weight: float
    queued_requests: int
    queued_tokens: int
    served_requests: int
    served_tokens: int
    refusals: dict[str, int]  # by reason (admission refusals and withdrawals)


@dataclass(frozen=True)
class Headroom:
    """What a tenant may still send now (the trailing ``x-ratelimit-*`` metadata on answers):
    its rate buckets (None: no such limit; ``reset_*_s``: until the bucket is full again) and
    what its weighted share of the queue still takes."""

    limit_requests: float | None
    remaining_requests: int | None
    reset_requests_s: float
    limit_tokens: float | None
    remaining_tokens: int | None
    reset_tokens_s: float
    queue_limit_requests: int
    queue_remaining_requests: int
    queue_limit_tokens: int
    queue_remaining_tokens: int
