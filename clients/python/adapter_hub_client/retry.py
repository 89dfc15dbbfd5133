"""Retries of refused calls, honouring the server's ``retry-after-ms`` hint.

Only refusals that say a retry may succeed are retried: UNAVAILABLE (a server loading,
draining or restarting) and RESOURCE_EXHAUSTED *with* a hint (a full queue or a rate limit;
a storage quota has no hint and is final). The pause is an exponential backoff from 50 ms,
never shorter than the hint, stretched by up to a quarter at random so that refused clients do
not all come back at the same moment, and capped at 30 s.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from adapter_hub_client.errors import HubError, ResourceExhausted, Unavailable

T = TypeVar("T")

FIRST_PAUSE_S = 0.05
MAX_PAUSE_S = 30.0


def retryable(error: HubError) -> bool:
    return isinstance(error, Unavailable) or (isinstance(error, ResourceExhausted) and error.retry_after_s is not None)


def pause_for(error: HubError, attempt: int, jitter: float) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based); ``jitter`` in [0, 1)."""
    base = max(error.retry_after_s or 0.0, FIRST_PAUSE_S * 2**attempt)
    return min(MAX_PAUSE_S, base * (1 + 0.25 * jitter))


def with_retries(
    call: Callable[[], T],
    retries: int,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
) -> T:
    """``call()`` (which raises ``HubError``), tried again up to ``retries`` times while refused
    retryably."""
    attempt = 0
    while True:
        try:
            return call()
        except HubError as error:
            if attempt >= retries or not retryable(error):
                raise
            sleep(pause_for(error, attempt, jitter()))
            attempt += 1


async def with_retries_async(
    call: Callable[[], Awaitable[T]],
    retries: int,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    jitter: Callable[[], float] = random.random,
) -> T:
    """The asyncio twin of ``with_retries``."""
    attempt = 0
    while True:
        try:
            return await call()
        except HubError as error:
            if attempt >= retries or not retryable(error):
                raise
            await sleep(pause_for(error, attempt, jitter()))
            attempt += 1
