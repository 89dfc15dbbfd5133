"""What one request did, gathered as it runs, for its log line and its metrics.

The transport opens a RequestRecord per call (and per PredictStream request) and makes it
current in a context variable; the layers below note what they learn (the tenant once the
caller is authenticated, the adapter version and task once resolved, the texts, tokens and
queue wait once scheduled) without passing it around. A record never holds an API key or a
text: only names, counts and times, so its log line can be kept anywhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from hub.errors import (
    Cancelled,
    DeadlineExceeded,
    Draining,
    Overloaded,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
)
from hub.residency.tier import TierFull

_current: ContextVar[RequestRecord | None] = ContextVar("hub_request", default=None)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/-]{1,128}")  # fullmatch: "$" would let a trailing newline in

# Why a request was refused, as the metrics count it (adapter_hub_rejected_total's reason).
RATE, QUEUE, DEADLINE, QUOTA, AUTH, CAPACITY, DRAINING, CANCELLED = (
    "rate",
    "queue",
    "deadline",
    "quota",
    "auth",
    "capacity",
    "draining",
    "cancelled",
)


def request_id(given: str | None = None) -> str:
    """The caller's ``x-request-id`` when it is a sane token, else a new one."""
    if given and _REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex[:16]


def safe_id(given: str) -> str:
    """A client-chosen id as it may appear in a log line: itself when it is a sane token, else a
    digest of it (no newline or control character from a client reaches the log)."""
    if _REQUEST_ID.fullmatch(given):
        return given
    return "~" + hashlib.sha256(given.encode("utf-8", "replace")).hexdigest()[:12] if given else "-"


@dataclass
class RequestRecord:
    request_id: str
    method: str
    tenant: str = ""
    targets: list[str] = field(default_factory=list)  # adapter@version, one per resolved target
    tasks: list[str] = field(default_factory=list)
    texts: int = 0
    tokens: int = 0
    queue_s: float = 0.0
    total_s: float = 0.0
    status: str = "OK"
    refusal: str = ""  # one of the reasons above when the request was refused
    requests: int = 0  # a PredictStream call: how many requests it carried
    operator: bool = False  # the operator's admin key (no tenant of its own)
    parent: RequestRecord | None = None  # a PredictStream request: its call

    def fields(self) -> dict[str, Any]:
        """The log line's fields. One target is a string, several (FanOut) a list."""
        out: dict[str, Any] = {"request_id": self.request_id, "method": self.method, "tenant": self.tenant or "-"}
        if self.targets:
            out["adapter"] = self.targets[0] if len(self.targets) == 1 else list(self.targets)
            tasks = list(dict.fromkeys(self.tasks))
            out["task"] = tasks[0] if len(tasks) == 1 else tasks
        if self.requests:
            out["requests"] = self.requests
        out |= {
            "texts": self.texts,
            "tokens": self.tokens,
            "queue_ms": round(self.queue_s * 1000, 3),
            "total_ms": round(self.total_s * 1000, 3),
            "status": self.status,
        }
        if self.refusal:
            out["refused"] = self.refusal
        return out

    def add_to_call(self) -> None:
        """A PredictStream request's counts, added to its call's."""
        if self.parent is not None:
            self.parent.requests += 1
            self.parent.texts += self.texts
            self.parent.tokens += self.tokens
            self.parent.queue_s += self.queue_s
            self.parent.tenant = self.parent.tenant or self.tenant


def current() -> RequestRecord | None:
    return _current.get()


@contextlib.contextmanager
def recording(record: RequestRecord) -> Iterator[RequestRecord]:
    token = _current.set(record)
    try:
        yield record
    finally:
        _current.reset(token)


def note_caller(tenant: str, admin: bool) -> None:
    record = _current.get()
    if record is not None:
        record.tenant = tenant or ("admin" if admin else "")
        record.operator = admin and not tenant


def note_target(name: str, version: int, task: str) -> None:
    record = _current.get()
    if record is not None:
        record.targets.append(f"{name}@{version}")
        record.tasks.append(task)


def note_work(texts: int, tokens: int) -> None:
    record = _current.get()
    if record is not None:
        record.texts += texts
        record.tokens += tokens


def note_queue(seconds: float) -> None:
    record = _current.get()
    if record is not None:
        record.queue_s += seconds


def refusal_reason(error: BaseException) -> str:
    """Why the hub refused a request, as adapter_hub_rejected_total counts it (the log line's
    ``refused``); "" for errors that are no refusal (not found, invalid, internal)."""
    if isinstance(error, Unauthenticated | PermissionDenied):
        return AUTH
    if isinstance(error, TierFull):
        return CAPACITY
    if isinstance(error, Overloaded):  # the scheduler's reason: rate_* or *_queued_*
        return RATE if error.reason.startswith("rate") else QUEUE
    if isinstance(error, ResourceExhausted):
        return QUOTA  # storage quota, adapter count, pin limit
    if isinstance(error, Draining):
        return DRAINING
    if isinstance(error, DeadlineExceeded):
        return DEADLINE
    if isinstance(error, Cancelled):
        return CANCELLED
    return ""


def note_error(error: BaseException) -> None:
    """The error that ends the current request (the transport's abort)."""
    record = _current.get()
    if record is not None:
        record.refusal = refusal_reason(error)
