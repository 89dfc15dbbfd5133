"""Futures completed on other threads, handed to the event loop in groups.

``asyncio.wrap_future`` schedules one ``call_soon_threadsafe`` per completed future: one write
to the loop's wake-up pipe and one wake-up each. The scheduler's worker completes a whole batch
of tickets back to back (32 at full batches). ``Completions`` queues each completed future and
schedules ONE delivery while a delivery is pending, so a batch's tickets reach the loop in one
or a few wake-ups. Measured (benchmarks/bench_completions.py, BENCHMARKS.md "Front-end capacity
(issue 21, engineer capacity)"): 1.8-2.4 wake-ups instead of 32 per batch of 32, the hand-off
1.35-1.67x faster (about 0.2 ms less per batch); end to end that stays inside a shared
machine's noise.

Semantics are those of ``asyncio.wrap_future``: the loop future gets the source's result,
exception or cancellation, and cancelling the loop future (the call went away) cancels the
source if it has not started.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from typing import Any, TypeVar

T = TypeVar("T")


class Completions:
    """One per event loop (the front end's); ``wrap`` may be called on the loop only."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._lock = threading.Lock()
        self._done: list[tuple[asyncio.Future[Any], concurrent.futures.Future[Any]]] = []
        self._scheduled = False
        self.deliveries = 0  # wake-ups of the loop so far (tests, benchmarks)
        self.delivered = 0  # futures handed over so far

    def wrap(self, source: concurrent.futures.Future[T]) -> asyncio.Future[T]:
        """A loop future that completes as ``source`` does."""
        target: asyncio.Future[T] = self.loop.create_future()
        target.add_done_callback(functools.partial(_cancel_source, source))
        source.add_done_callback(functools.partial(self._arrived, target))
        return target

    def _arrived(self, target: asyncio.Future[Any], source: concurrent.futures.Future[Any]) -> None:
        """``source`` is done (any thread): queue it; wake the loop unless a wake-up is pending."""
        with self._lock:
            self._done.append((target, source))
            if self._scheduled:
                return
            self._scheduled = True
        try:
            self.loop.call_soon_threadsafe(self._deliver)
        except RuntimeError:  # the loop is closed (shutdown): nobody waits any more
            with self._lock:
                self._done.clear()
                self._scheduled = False

    def _deliver(self) -> None:
        """On the loop: every future queued so far."""
        with self._lock:
            done, self._done = self._done, []
            self._scheduled = False
        self.deliveries += 1
        self.delivered += len(done)
        for target, source in done:
            _copy_state(target, source)


def _cancel_source(source: concurrent.futures.Future[Any], target: asyncio.Future[Any]) -> None:
    if target.cancelled():
        source.cancel()


def _copy_state(target: asyncio.Future[Any], source: concurrent.futures.Future[Any]) -> None:
    if target.done():  # cancelled meanwhile (the call went away)
        return
    if source.cancelled():
        target.cancel()
        return
    error = source.exception()
    if error is not None:
        target.set_exception(error)
    else:
        target.set_result(source.result())
