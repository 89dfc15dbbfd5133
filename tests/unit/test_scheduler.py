"""The threaded fair batcher (hub/scheduling/scheduler.py) around a fake engine that can hold a
batch: results in order, fair order across tenants, cancellation and expiry before any forward,
error isolation, drain and close. Nothing here asserts on elapsed time."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from hub.errors import Cancelled, DeadlineExceeded, Draining, InvalidArgument, Overloaded, Unavailable
from hub.scheduling.admission import QueueLimits
from hub.scheduling.fifo import FifoScheduler
from hub.scheduling.scheduler import FairBatcher
from hub.scheduling.scope import CallScope


@dataclass(frozen=True)
class Item:
    text: str
    tenant: str = "t"


class Engine:
    """Echoes rows and records every batch; can hold the first batch until released."""

    def __init__(self, hold_first: bool = False, fail_on: str = "") -> None:
        self.batches: list[list[Item]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()
        self.fail_on = fail_on

    def __call__(self, rows: list[Item]) -> list[str]:
        self.batches.append(list(rows))
        self.entered.set()
        self.release.wait(10)
        if self.fail_on and any(r.text == self.fail_on for r in rows):
            raise InvalidArgument(f"cannot score {self.fail_on!r}")
        return [f"{r.tenant}:{r.text}" for r in rows]

    @property
    def texts(self) -> list[str]:
        return [r.text for b in self.batches for r in b]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def held(batcher: FairBatcher, engine: Engine) -> None:
    """Occupy the worker with a first request so that the queue fills behind it."""
    batcher.submit([Item("warm-up")], tenant="warm")
    assert engine.entered.wait(10)


def test_each_caller_gets_its_own_results_in_order() -> None:
    engine = Engine()
    batcher = FairBatcher(engine, max_batch_size=8, max_wait_s=0.001)

    def call(t: int) -> list[str]:
        rows = [Item(f"{t}-{i}", f"tenant{t % 3}") for i in range(1 + t % 5)]
        return batcher.run(rows, costs=[1 + i for i in range(len(rows))], tenant=f"tenant{t % 3}")

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(call, range(64)))
    for t, got in enumerate(answers):
        assert got == [f"tenant{t % 3}:{t}-{i}" for i in range(1 + t % 5)]
    assert all(len(b) <= 8 for b in engine.batches)
    batcher.close()


def test_a_quiet_tenant_is_served_ahead_of_another_tenants_backlog() -> None:
    engine = Engine(hold_first=True)
    batcher = FairBatcher(engine, max_batch_size=4, max_wait_s=0.0)
    held(batcher, engine)
    flood = [batcher.submit([Item(f"f{i}", "flood")], costs=[10], tenant="flood") for i in range(12)]
    quiet = batcher.submit([Item("q", "quiet")], costs=[10], tenant="quiet")
    engine.release.set()
    assert quiet.future.result(10) == ["quiet:q"]
    for ticket in flood:
        ticket.future.result(10)
    assert [r.text for r in engine.batches[1]] == ["f0", "q", "f1", "f2"]
    batcher.close()


def test_a_cancelled_request_leaves_the_queue_and_never_reaches_the_engine() -> None:
    engine = Engine(hold_first=True)
    batcher = FairBatcher(engine, max_batch_size=4, max_wait_s=0.0)
    held(batcher, engine)
    scope = CallScope()
    gone = batcher.submit([Item("gone")], scope=scope)
    kept = batcher.submit([Item("kept")])
    scope.cancel()
    with pytest.raises(Cancelled):
        gone.future.result(10)
    engine.release.set()
    assert kept.future.result(10) == ["t:kept"]
    assert "gone" not in engine.texts
    assert {s.tenant: s.refusals for s in batcher.tenant_stats()} == {"local": {"cancelled": 1}, "warm": {}}
    batcher.close()


def test_an_already_cancelled_scope_is_refused() -> None:
    batcher = FairBatcher(Engine(), max_batch_size=4)
    scope = CallScope()
    scope.cancel()
    with pytest.raises(Cancelled):
        batcher.run([Item("x")], scope=scope)
    batcher.close()


def test_a_request_whose_deadline_passes_in_the_queue_never_reaches_the_engine() -> None:
    clock = FakeClock()
    engine = Engine(hold_first=True)
    batcher = FairBatcher(engine, max_batch_size=4, max_wait_s=0.0, clock=clock)
    held(batcher, engine)
    late = batcher.submit([Item("late")], scope=CallScope(deadline=clock.now + 1.0, clock=clock))
    fine = batcher.submit([Item("fine")], scope=CallScope(deadline=clock.now + 60.0, clock=clock))
    clock.now += 2.0
    engine.release.set()
    with pytest.raises(DeadlineExceeded):
        late.future.result(10)
    assert fine.future.result(10) == ["t:fine"]
    assert "late" not in engine.texts
    batcher.close()


def test_a_caller_whose_deadline_passes_while_waiting_withdraws_its_request() -> None:
    engine = Engine(hold_first=True)
    batcher = FairBatcher(engine, max_batch_size=4, max_wait_s=0.0)
    held(batcher, engine)
    with pytest.raises(DeadlineExceeded):
        batcher.run([Item("impatient")], scope=CallScope.within(0.05))
    engine.release.set()
    batcher.close()
    assert "impatient" not in engine.texts


def test_a_deadline_already_passed_is_refused_before_queueing() -> None:
    batcher = FairBatcher(Engine(), max_batch_size=4)
    with pytest.raises(DeadlineExceeded, match="passed before"):
        batcher.run([Item("x")], scope=CallScope.within(-1.0))
    batcher.close()


def test_bounds_refuse_at_once_while_the_engine_is_busy() -> None:
    engine = Engine(hold_first=True)
    limits = QueueLimits(max_requests=10, tenant_max_requests=2)
    batcher = FairBatcher(engine, max_batch_size=4, max_wait_s=0.0, limits=limits)
    held(batcher, engine)
    admitted = [batcher.submit([Item(f"a{i}")], tenant="a") for i in range(2)]
    with pytest.raises(Overloaded) as refused:
        batcher.submit([Item("a2")], tenant="a")
    assert refused.value.retry_after_ms is not None and refused.value.retry_after_ms >= 1
    engine.release.set()
    assert [t.future.result(10) for t in admitted] == [["t:a0"], ["t:a1"]]
    batcher.close()


def test_one_failing_request_does_not_fail_the_others() -> None:
    engine = Engine(hold_first=True, fail_on="bad")
    batcher = FairBatcher(engine, max_batch_size=16, max_wait_s=0.0)
    held(batcher, engine)
    good1 = batcher.submit([Item("a"), Item("b")], tenant="x")
    bad = batcher.submit([Item("c"), Item("bad")], tenant="y")
    good2 = batcher.submit([Item("d")], tenant="z")
    engine.release.set()
    assert good1.future.result(10) == ["t:a", "t:b"]
    assert good2.future.result(10) == ["t:d"]
    with pytest.raises(InvalidArgument, match="bad"):
        bad.future.result(10)
    assert batcher.stats.isolated == 1
    batcher.close()


def test_drain_finishes_admitted_work_and_refuses_new_work() -> None:
    engine = Engine(hold_first=True)
    batcher = FairBatcher(engine, max_batch_size=2, max_wait_s=60.0)
    batcher.submit([Item("w1"), Item("w2")])  # a full batch starts at once and is held
    assert engine.entered.wait(10)
    admitted = [batcher.submit([Item(f"q{i}")]) for i in range(5)]  # the last would wait 60 s
    drained: list[bool] = []
    drainer = threading.Thread(target=lambda: drained.append(batcher.drain(timeout=30)))
    drainer.start()
    while not batcher.queue.closed:  # drain has stopped intake
        threading.Event().wait(0.001)
    with pytest.raises(Draining):
        batcher.submit([Item("late")])
    engine.release.set()
    drainer.join(10)
    assert drained == [True]
    assert [t.future.result(0) for t in admitted] == [[f"t:q{i}"] for i in range(5)]
    assert issubclass(Draining, Unavailable)  # UNAVAILABLE on the wire
    batcher.close()


def test_drain_gives_up_after_its_timeout_and_close_fails_the_rest() -> None:
    engine = Engine(hold_first=True)
    batcher = FairBatcher(engine, max_batch_size=1, max_wait_s=0.0)
    held(batcher, engine)
    queued = batcher.submit([Item("queued")])
    assert batcher.drain(timeout=0.0) is False
    batcher.close(drain=False, timeout=0)
    with pytest.raises(Draining):
        queued.future.result(10)
    engine.release.set()


def test_fifo_scheduler_is_todays_batcher_behind_the_same_interface() -> None:
    engine = Engine()
    fifo = FifoScheduler(engine, max_batch_size=4, max_wait_s=0.0)
    assert fifo.run([Item("a"), Item("b")], costs=[1, 1], tenant="x", scope=CallScope()) == ["t:a", "t:b"]
    assert fifo.stats.rows == 2 and fifo.tenant_stats() == []
    fifo.close()


def test_a_stream_requests_scope_has_the_sooner_deadline_and_ends_with_its_call() -> None:
    clock = FakeClock()
    call = CallScope(deadline=clock.now + 10, clock=clock)
    own = call.child(2.0)
    assert own.deadline == clock.now + 2.0
    assert call.child(60.0).deadline == call.deadline
    assert call.child().deadline == call.deadline
    released = call.child()
    released.release()
    call.cancel()
    assert own.cancelled and not released.cancelled
    fired: list[str] = []
    own.on_cancel(lambda: fired.append("late"))  # already cancelled: runs at once
    assert fired == ["late"]
