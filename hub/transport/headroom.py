"""Rate-limit headroom as trailing metadata on inference answers and refusals, in the manner of
OpenAI's ``x-ratelimit-*`` headers: what the calling tenant may still send now. Predict and FanOut
carry it; a PredictStream call carries it once, as the stream ends (its requests' own refusals
are answers on the stream, with their retry hints).

- ``x-ratelimit-limit-requests``: the tenant's requests per second (absent: no limit);
  ``x-ratelimit-remaining-requests``: requests its bucket takes now (one second of burst);
  ``x-ratelimit-reset-requests-ms``: until that bucket is full again.
- ``x-ratelimit-limit-tokens``, ``-remaining-tokens``, ``-reset-tokens-ms``: the same for input
  tokens per second.
- ``x-queue-limit-requests``, ``x-queue-remaining-requests``: the tenant's weighted share of the
  queue now, in requests, and what of it is free; ``x-queue-limit-tokens``,
  ``x-queue-remaining-tokens``: the same in input tokens.

The numbers come from the scheduler (``HubService.headroom``); ``reported`` wraps a call's work
and attaches them once it ends. On a refusal the transport's ``abort`` sends them with
``retry-after-ms`` (``pending``). Works for any server whose context has
``set_trailing_metadata`` (grpc and grpc.aio alike).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from hub.observe import request_log as rl
from hub.scheduling.tickets import Headroom
from hub.serving.auth import Caller
from hub.serving.service import HubService

Pairs = tuple[tuple[str, str], ...]
# The headroom of the call whose RequestRecord is the key: a servicer run without the call
# observer's per-call context (a thread reused across calls) never sends another call's numbers.
_pending: ContextVar[tuple[object, Pairs]] = ContextVar("hub_headroom", default=(None, ()))


def _ms(seconds: float) -> str:
    return str(math.ceil(seconds * 1000))


def trailers(room: Headroom | None) -> Pairs:
    """The metadata pairs for ``room`` (none for None)."""
    if room is None:
        return ()
    pairs = []
    for kind, limit, left, reset in (
        ("requests", room.limit_requests, room.remaining_requests, room.reset_requests_s),
        ("tokens", room.limit_tokens, room.remaining_tokens, room.reset_tokens_s),
    ):
        if limit is not None and left is not None:
            pairs += [
                (f"x-ratelimit-limit-{kind}", f"{limit:g}"),
                (f"x-ratelimit-remaining-{kind}", str(left)),
                (f"x-ratelimit-reset-{kind}-ms", _ms(reset)),
            ]
    pairs += [
        ("x-queue-limit-requests", str(room.queue_limit_requests)),
        ("x-queue-remaining-requests", str(room.queue_remaining_requests)),
        ("x-queue-limit-tokens", str(room.queue_limit_tokens)),
        ("x-queue-remaining-tokens", str(room.queue_remaining_tokens)),
    ]
    return tuple(pairs)


def pending() -> Pairs:
    """The headroom of the current call, for a refusal's trailing metadata (none outside a
    recorded call)."""
    owner, pairs = _pending.get()
    return pairs if owner is not None and owner is rl.current() else ()


def attach(context: Any, service: HubService, caller: Caller) -> None:
    """The tenant's headroom now into the trailing metadata: for a stream behind Ray Serve's
    proxy, which sends the trailers that go with each message, none set after the last."""
    pairs = trailers(service.headroom(caller))
    if pairs:
        context.set_trailing_metadata(pairs)


@contextlib.contextmanager
def reported(context: Any, service: HubService, caller: Caller) -> Iterator[None]:
    """Run the call's work; then its tenant's headroom goes into the trailing metadata (on an
    error, ``abort`` sends it, as ``pending``)."""
    failed = False
    try:
        yield
    except BaseException:
        failed = True
        raise
    finally:
        pairs = trailers(service.headroom(caller))
        _pending.set((rl.current(), pairs))
        if pairs and not failed:
            context.set_trailing_metadata(pairs)
