"""Cross-request dynamic batching in front of the engine (torch-free).

Callers on any thread (gRPC handlers, any tenant) ``submit`` the rows of one request and
block on a future. One worker thread turns the queue into engine batches:

- a batch closes when it holds ``max_batch_size`` rows, or when its oldest row has waited
  ``max_wait_s`` (while the engine is busy the queue fills, so batches grow with load);
- when more rows wait than fit, the batch is the window of similar lengths that contains the
  oldest row (length-aware grouping cuts padding; the oldest always goes, so nothing starves);
- rows of any adapter, head or task mix freely; a request larger than a batch is split;
- each request gets its results in its own row order;
- when a batch raises, each request in it is retried alone, so only the request at fault
  gets the error;
- ``close`` stops intake (new submits raise UNAVAILABLE) and drains what is queued, or fails
  it with UNAVAILABLE when ``drain=False``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from hub.errors import Unavailable

log = logging.getLogger("hub.scheduling.batching")

T = TypeVar("T")
R = TypeVar("R")


class BatcherClosed(Unavailable):
    def __init__(self) -> None:
        super().__init__("the server is shutting down; retry on another replica or later")


@dataclass(eq=False)
class _Request:
    size: int
    future: Future[list[Any]]
    results: list[Any] = field(default_factory=list)
    remaining: int = 0


@dataclass(eq=False)
class _Item:
    request: _Request
    index: int
    payload: Any
    length: int
    enqueued: float


@dataclass
class BatchStats:
    batches: int = 0
    rows: int = 0
    max_rows: int = 0
    isolated: int = 0  # batches that failed and were retried request by request

    @property
    def mean_rows(self) -> float:
        return self.rows / self.batches if self.batches else 0.0


def text_length(item: object) -> int:
    return len(getattr(item, "text", ""))


class DynamicBatcher(Generic[T, R]):
    """Queue rows from many callers; run them through ``run`` in batches."""

    def __init__(
        self,
        run: Callable[[list[T]], list[R]],
        max_batch_size: int = 32,
        max_wait_s: float = 0.002,
        length: Callable[[T], int] = text_length,
        name: str = "batcher",
    ) -> None:
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        self._run = run
        self.max_batch_size = max_batch_size
        self.max_wait_s = max(0.0, max_wait_s)
        self._length = length
        self._name = name
        self._pending: list[_Item] = []  # arrival order
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        self.stats = BatchStats()

    # ---- callers ------------------------------------------------------------------------
    def submit(self, rows: Sequence[T]) -> Future[list[R]]:
        future: Future[list[R]] = Future()
        if not rows:
            future.set_result([])
            return future
        request = _Request(len(rows), future, [None] * len(rows), len(rows))
        now = time.monotonic()
        items = [_Item(request, i, row, self._length(row), now) for i, row in enumerate(rows)]
        with self._cond:
            if self._closed:
                raise BatcherClosed()
            self._pending.extend(items)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify()
        return future

    def run(self, rows: Sequence[T]) -> list[R]:
        """Submit and wait: the results for ``rows``, in order (or the request's error)."""
        return self.submit(rows).result()

    def close(self, drain: bool = True, timeout: float | None = None) -> None:
        with self._cond:
            self._closed = True
            if not drain:
                for item in self._pending:
                    _fail(item.request, BatcherClosed())
                self._pending.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def queued(self) -> int:
        with self._cond:
            return len(self._pending)

    # ---- worker -------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if not self._pending:
                    return  # closed and drained
                deadline = self._pending[0].enqueued + self.max_wait_s
                while len(self._pending) < self.max_batch_size and not self._closed:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                batch = self._take()
            self._execute(batch)

    def _take(self) -> list[_Item]:
        """Remove and return the next batch (called with the lock held)."""
        live = [item for item in self._pending if not item.request.future.done()]
        size = self.max_batch_size
        if len(live) <= size:
            self._pending.clear()
            return live
        oldest = live[0]
        by_length = sorted(live, key=lambda item: item.length)
        lengths = [item.length for item in by_length]
        position = by_length.index(oldest)
        low = max(0, position - size + 1)
        high = min(position, len(by_length) - size)
        start = min(range(low, high + 1), key=lambda s: (lengths[s + size - 1] - lengths[s], abs(s - low)))
        chosen = by_length[start : start + size]
        taken = set(map(id, chosen))
        self._pending = [item for item in live if id(item) not in taken]
        return chosen

    def _execute(self, batch: list[_Item]) -> None:
        if not batch:
            return
        self.stats.batches += 1
        self.stats.rows += len(batch)
        self.stats.max_rows = max(self.stats.max_rows, len(batch))
        try:
            results = self._call([item.payload for item in batch])
        except Exception as exc:  # noqa: BLE001 - isolate the request at fault, below
            self._isolate(batch, exc)
            return
        _deliver(batch, results)

    def _call(self, payloads: list[T]) -> list[R]:
        results = self._run(payloads)
        if len(results) != len(payloads):
            raise RuntimeError(f"batch of {len(payloads)} rows returned {len(results)} results")
        return results

    def _isolate(self, batch: list[_Item], error: Exception) -> None:
        """Retry each request of a failed batch alone: only the failing ones get an error."""
        by_request: dict[int, list[_Item]] = {}
        for item in batch:
            by_request.setdefault(id(item.request), []).append(item)
        if len(by_request) == 1:
            _fail(batch[0].request, error)
            return
        self.stats.isolated += 1
        log.warning("a batch of %d requests failed (%s); retrying them one by one", len(by_request), error)
        for items in by_request.values():
            try:
                _deliver(items, self._call([item.payload for item in items]))
            except Exception as exc:  # noqa: BLE001 - this request's own error
                _fail(items[0].request, exc)


def _deliver(items: list[_Item], results: Sequence[Any]) -> None:
    for item, result in zip(items, results, strict=True):
        request = item.request
        if request.future.done():
            continue
        request.results[item.index] = result
        request.remaining -= 1
        if request.remaining == 0:
            request.future.set_result(request.results)


def _fail(request: _Request, error: BaseException) -> None:
    if not request.future.done():
        request.future.set_exception(error)
