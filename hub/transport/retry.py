"""Client-side retries of refused calls, honouring the server's ``retry-after-ms`` hint.

Only refusals that say a retry may succeed are retried: RESOURCE_EXHAUSTED *with* a hint (a
full queue or a rate limit; a storage quota has no hint and is final) and UNAVAILABLE (a
draining or restarting server). The pause is an exponential backoff from 50 ms but never
shorter than the hint, stretched by up to a quarter at random so that refused clients do not
all come back at the same moment.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

import grpc

T = TypeVar("T")

RETRY_AFTER_KEY = "retry-after-ms"
MAX_PAUSE_S = 30.0


def retry_after_s(error: grpc.RpcError) -> float | None:
    """The server's hint on a refused call, in seconds (None: none sent)."""
    trailing = error.trailing_metadata() if isinstance(error, grpc.Call) else None
    for key, value in trailing or ():
        if key == RETRY_AFTER_KEY:
            try:
                return max(0.0, float(value) / 1000)
            except (TypeError, ValueError):
                return None
    return None


def retryable(error: grpc.RpcError) -> bool:
    code = error.code() if isinstance(error, grpc.Call) else None
    if code is grpc.StatusCode.UNAVAILABLE:
        return True
    return code is grpc.StatusCode.RESOURCE_EXHAUSTED and retry_after_s(error) is not None


def pause_for(error: grpc.RpcError, attempt: int, jitter: float) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based); ``jitter`` in [0, 1): an
    exponential backoff from 50 ms, never shorter than the server's hint."""
    base = max(retry_after_s(error) or 0.0, 0.05 * 2**attempt)
    return min(MAX_PAUSE_S, base * (1 + 0.25 * jitter))


def with_retries(
    call: Callable[[], T],
    retries: int,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
    on_retry: Callable[[grpc.RpcError, float], None] | None = None,
) -> T:
    """``call()``, retried up to ``retries`` times while it is refused retryably."""
    attempt = 0
    while True:
        try:
            return call()
        except grpc.RpcError as error:
            if attempt >= retries or not retryable(error):
                raise
            pause = pause_for(error, attempt, jitter())
            if on_retry is not None:
                on_retry(error, pause)
            sleep(pause)
            attempt += 1
