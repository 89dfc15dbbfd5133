"""Plugin code under a time budget: a pool of worker processes, one call at a time each.

Plugin preprocessors, segmenters and postprocessors run on text a tenant sent. One backtracking
regex held the whole hub for 27 s (holding the GIL: every tenant's calls and the health check
timed out). Here that code runs in worker processes instead: a call that is not answered
within ``budget_s`` has its worker killed (SIGKILL: a regex in C cannot be interrupted any
other way) and replaced, and the call fails with :class:`PluginTimeout`, naming the component
that was running. Other calls go on in the other workers.

- Workers are FORKED from the server: they inherit the loaded plugins and the task registry
  exactly as the server built them (an installed plugin, or a plugin object handed to
  ``build_plugins`` in a test), so nothing has to be importable by name or sent over. The hub
  forks them when the service is built (before the gRPC threads start); a killed worker's
  replacement is forked later from the running server: the child only runs plugin code and
  the hub's text helpers, which take none of the locks another thread may hold at the fork.
- Jobs go to workers fairly across tenants (round robin), and one tenant holds at most
  ``share`` workers at a time (default: half of them), so a tenant sending pathological texts
  costs the others at most the workers it cannot take.
- ``submit`` returns a ``concurrent.futures.Future`` (a thread waits with ``result()``, asyncio
  with ``asyncio.wrap_future``); ``call`` is the blocking form. One keeper thread per worker
  sends jobs and waits for answers; no thread waits per call.
- Jobs and answers cross a pipe as Python objects (multiprocessing pickles them): both ends are
  this process's own code, and what comes back was built by plugin code the operator installed,
  which runs in the server process all the same when ``workers`` is 0.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from hub.errors import DomainError, InvalidArgument, ResourceExhausted, Unavailable
from hub.tasks.pipeline import PluginFault

Handler = Callable[..., Any]
IDLE = -1  # the marker's value while no component runs
# In a worker: told the worker's marker (a shared int) once; the handlers then set
# ``marker.value`` to the index in ``components`` of the component they run.
OnStart = Callable[[Any], None]


class PluginTimeout(InvalidArgument):
    """A call's plugin code ran past the budget: the input is pathological for that plugin."""


@dataclass
class _Job:
    tenant: str
    op: str
    args: tuple[Any, ...]
    future: Future[Any]
    queued_at: float = field(default_factory=time.monotonic)


class _Worker:
    """One worker process and its end of the pipe; replaced when it dies or runs out of time."""

    def __init__(self, pool: WorkerPool, index: int) -> None:
        self.pool = pool
        self.index = index
        self.marker: Any = multiprocessing.get_context("fork").Value("i", IDLE, lock=False)
        self.process: Any = None
        self.conn: Connection | None = None

    def start(self) -> None:
        if self.pool.closed:
            return
        ctx = multiprocessing.get_context("fork")
        parent, child = ctx.Pipe(duplex=True)
        others = [w.conn for w in self.pool.slots if w.conn is not None and w is not self]
        self.marker.value = IDLE
        process = ctx.Process(
            target=_serve,
            args=(child, parent, others, self.pool, self.marker),
            name=f"hub-plugin-worker-{self.index}",
            daemon=True,
        )
        process.start()
        child.close()
        self.process, self.conn = process, parent
        self.pool.started += 1

    def stop(self) -> None:
        if self.process is not None:
            with contextlib.suppress(Exception):
                self.process.kill()
                self.process.join(5)
        if self.conn is not None:
            self.conn.close()
        self.process = self.conn = None

    def run(self, job: _Job) -> Any:
        """Send the job, wait up to the budget for its answer; kill and replace on a timeout."""
        if self.conn is None or not self.process.is_alive():
            self.stop()
            self.start()
        if self.conn is None:
            raise Unavailable("the plugin workers stopped")
        try:
            self.conn.send((job.op, job.args))
        except OSError:  # the worker died idle (killed from outside): a fresh one takes the job
            self.stop()
            self.start()
            if self.conn is None:
                raise Unavailable("the plugin workers stopped") from None
            self.conn.send((job.op, job.args))
        if not self.conn.poll(self.pool.budget_s):
            running = self.marker.value
            self.stop()
            self.pool.killed += 1
            self.start()  # the caller is told below; the next job finds a fresh worker
            raise PluginTimeout(self.pool.describe_timeout(running))
        try:
            status, payload = self.conn.recv()
        except (EOFError, OSError):
            running = self.marker.value
            self.stop()
            self.start()
            raise InvalidArgument(self.pool.describe_death(running)) from None
        if status == "error":
            raise payload
        return payload


class WorkerPool:
    """``workers`` forked processes that run ``handlers[op](*args)`` within ``budget_s`` each.

    ``components``: what the marker's values mean (the handlers set ``marker.value`` to the
    index of the component they run), so a timeout names the plugin and the function.
    """

    def __init__(
        self,
        handlers: Mapping[str, Handler],
        *,
        workers: int,
        budget_s: float,
        components: Sequence[str] = (),
        share: int = 0,
        queue_wait_s: float | None = None,
        on_start: OnStart | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("a worker pool needs at least one worker")
        self.handlers = dict(handlers)
        self.on_start = on_start
        self.budget_s = budget_s
        self.components = tuple(components)
        self.share = share or max(1, workers // 2)
        self.queue_wait_s = budget_s if queue_wait_s is None else queue_wait_s
        self.slots = [_Worker(self, i) for i in range(workers)]
        self.started = 0  # processes forked, replacements included
        self.killed = 0  # workers killed for running past the budget
        self._lock = threading.Condition()
        self._queues: OrderedDict[str, deque[_Job]] = OrderedDict()
        self._running: dict[str, int] = {}
        self.closed = False
        for slot in self.slots:
            slot.start()
        self._keepers = [
            threading.Thread(target=self._keep, args=(slot,), name=f"plugin-keeper-{slot.index}", daemon=True)
            for slot in self.slots
        ]
        for keeper in self._keepers:
            keeper.start()

    # ---- the caller's side --------------------------------------------------------------
    def submit(self, tenant: str, op: str, *args: Any) -> Future[Any]:
        """The job's future: its answer, or the error it raised (PluginTimeout past the budget;
        ResourceExhausted when no worker came free within ``queue_wait_s``)."""
        future: Future[Any] = Future()
        with self._lock:
            if self.closed:
                raise Unavailable("the plugin workers are stopping")
            self._queues.setdefault(tenant, deque()).append(_Job(tenant, op, args, future))
            self._lock.notify()
        return future

    def call(self, tenant: str, op: str, *args: Any) -> Any:
        """The blocking form of :meth:`submit`: waits at most the queue wait and the budget."""
        future = self.submit(tenant, op, *args)
        return future.result(timeout=self.queue_wait_s + self.budget_s + 30)  # a keeper always answers

    def close(self) -> None:
        """Fail queued jobs, stop the keepers and the workers (a running job gets Unavailable)."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            queued = [job for q in self._queues.values() for job in q]
            self._queues.clear()
            self._lock.notify_all()
        for job in queued:
            job.future.set_exception(Unavailable("the plugin workers stopped"))
        for slot in self.slots:
            slot.stop()
        for keeper in self._keepers:
            keeper.join(5)

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self.slots if w.process is not None]

    # ---- the keepers' side --------------------------------------------------------------
    def _next(self) -> _Job | None:
        """The next job, round robin over tenants below their share; None once closed."""
        with self._lock:
            while not self.closed:
                for tenant, queue in list(self._queues.items()):
                    if self._running.get(tenant, 0) >= self.share:
                        continue
                    job = queue.popleft()
                    if queue:
                        self._queues.move_to_end(tenant)
                    else:
                        del self._queues[tenant]
                    self._running[tenant] = self._running.get(tenant, 0) + 1
                    return job
                self._lock.wait()
            return None

    def _done(self, tenant: str) -> None:
        with self._lock:
            self._running[tenant] -= 1
            if not self._running[tenant]:
                del self._running[tenant]
            self._lock.notify_all()

    def _keep(self, slot: _Worker) -> None:
        while (job := self._next()) is not None:
            try:
                if not job.future.set_running_or_notify_cancel():
                    continue
                waited = time.monotonic() - job.queued_at
                if waited > self.queue_wait_s:
                    job.future.set_exception(self._busy(waited))
                    continue
                job.future.set_result(slot.run(job))
            except BaseException as exc:  # noqa: BLE001 - every outcome goes to the caller
                if self.closed and not isinstance(exc, DomainError):
                    exc = Unavailable("the plugin workers stopped")
                if not job.future.done():
                    job.future.set_exception(exc)
            finally:
                self._done(job.tenant)

    def _busy(self, waited: float) -> ResourceExhausted:
        error = ResourceExhausted(
            f"every plugin worker was busy for {waited:.1f} s (the limit is {self.queue_wait_s:g} s); retry shortly"
        )
        error.retry_after_s = self.budget_s  # type: ignore[attr-defined]
        return error

    def describe_timeout(self, running: int) -> str:
        return (
            f"{self.component(running)} ran past the plugin time budget of {self.budget_s:g} s on this "
            "request's texts and was stopped (a pathological input for it: shorten or simplify the text)"
        )

    def describe_death(self, running: int) -> str:
        return f"{self.component(running)} ended its worker process on this request's texts"

    def component(self, running: int) -> str:
        if 0 <= running < len(self.components):
            return self.components[running]
        return "plugin code"


def _serve(
    conn: Connection, parent_end: Connection, inherited: Sequence[Connection], pool: WorkerPool, marker: Any
) -> None:
    """A worker's loop: run each job, send its answer (or its error); exit when the server's
    end of the pipe closes."""
    parent_end.close()
    for other in inherited:  # the other workers' pipes: a dead server must read as EOF to them
        with contextlib.suppress(OSError):
            other.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops its workers itself
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if pool.on_start is not None:
        pool.on_start(marker)
    handlers = pool.handlers
    while True:
        try:
            op, args = conn.recv()
        except (EOFError, OSError):
            os._exit(0)
        try:
            answer: tuple[str, Any] = ("ok", handlers[op](*args))
        except DomainError as exc:
            answer = ("error", exc)
        except Exception as exc:  # noqa: BLE001 - a plugin bug: named, never quoting the text
            answer = ("error", _fault(exc, pool.component(marker.value)))
        finally:
            marker.value = IDLE
        try:
            conn.send(answer)
        except Exception as exc:  # noqa: BLE001 - an answer that cannot cross the pipe
            conn.send(("error", RuntimeError(f"a plugin answer could not be sent back: {type(exc).__name__}")))


def _fault(exc: Exception, component: str) -> Exception:
    """What a worker sends back for an exception: the hub's own errors as they are (their
    classes carry plain messages), anything else as a PluginFault naming its type only."""
    if isinstance(exc, PluginFault):
        return exc
    return PluginFault(f"{component} raised {type(exc).__name__}")
