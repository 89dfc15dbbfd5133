"""What the scheduler must know about a call besides its rows: when its caller stops waiting.

A CallScope carries the call's deadline as an absolute ``time.monotonic()`` value (None: no
deadline) and a cancellation signal. The transport makes one per call (the deadline from the
call's remaining time; ``cancel`` hooked to the call's termination callback), and one child per
request of a stream (the request's own timeout, cancelled with the call). Queued work whose
scope is cancelled or past its deadline leaves the queue before any forward pass.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any


class CallScope:
    def __init__(self, deadline: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.deadline = deadline
        self.clock = clock
        self._lock = threading.Lock()
        self._cancelled = False
        self._callbacks: list[Callable[[], None]] = []
        self._parent: CallScope | None = None

    @classmethod
    def within(cls, seconds: float | None, clock: Callable[[], float] = time.monotonic) -> CallScope:
        """A scope whose deadline is ``seconds`` from now (None: no deadline)."""
        return cls(None if seconds is None else clock() + seconds, clock)

    def child(self, seconds: float | None = None) -> CallScope:
        """A scope ending at the sooner of this one's deadline and ``seconds`` from now, and
        cancelled when this one is (a stream's request inside its call)."""
        own = None if seconds is None else self.clock() + seconds
        deadlines = [d for d in (self.deadline, own) if d is not None]
        child = CallScope(min(deadlines) if deadlines else None, self.clock)
        child._parent = self
        self.on_cancel(child.cancel)
        return child

    def release(self) -> None:
        """A child whose request is answered: stop listening to the parent (long streams)."""
        if self._parent is not None:
            self._parent.forget(self.cancel)

    def remaining(self) -> float | None:
        """Seconds left before the deadline (negative once passed); None without a deadline."""
        return None if self.deadline is None else self.deadline - self.clock()

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        """Signal that nobody waits for the answer any more (runs the callbacks once)."""
        with self._lock:
            if self._cancelled:
                return
            self._cancelled = True
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` when the scope is cancelled (at once if it already is)."""
        with self._lock:
            if not self._cancelled:
                self._callbacks.append(callback)
                return
        callback()

    def forget(self, callback: Callable[[], None]) -> None:
        """Drop a callback that is no longer needed (its request was answered)."""
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def on_cancel_until_done(self, future: Future[Any], callback: Callable[[], None]) -> None:
        """Run ``callback`` if this scope is cancelled before ``future`` is done. A Future keeps
        its done callbacks after running them, so one that held ``callback`` (and what it holds:
        a queued ticket, its adapter) would make a cycle only Python's cyclic GC frees; adapters
        then stayed "draining" for minutes (issue 24). The holder is emptied once it is done."""
        holder = [callback]

        def cancelled() -> None:
            if holder:
                holder[0]()

        def done(_: object) -> None:
            self.forget(cancelled)
            holder.clear()

        self.on_cancel(cancelled)
        future.add_done_callback(done)
