"""The cross-request batcher: order, mixing, length grouping, error isolation, shutdown."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from hub.errors import InvalidArgument, Unavailable
from hub.scheduling.batching import BatcherClosed, DynamicBatcher


@dataclass(frozen=True)
class Item:
    text: str
    tenant: str = "t"


class Recorder:
    """A fake engine: echoes rows, records batches, can hold the first batch until released."""

    def __init__(self, hold_first: bool = False, fail_on: str = "") -> None:
        self.batches: list[list[Item]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()
        self.fail_on = fail_on
        self.lock = threading.Lock()

    def __call__(self, rows: list[Item]) -> list[str]:
        with self.lock:
            self.batches.append(list(rows))
        self.entered.set()
        self.release.wait(10)
        if self.fail_on and any(r.text == self.fail_on for r in rows):
            raise InvalidArgument(f"cannot score {self.fail_on!r}")
        return [f"{r.tenant}:{r.text}" for r in rows]


def _held(batcher: DynamicBatcher, recorder: Recorder) -> None:
    """Occupy the worker with a first request so that the queue fills behind it."""
    batcher.submit([Item("warm-up")])
    assert recorder.entered.wait(10)


def test_each_caller_gets_its_own_results_in_order() -> None:
    recorder = Recorder()
    batcher = DynamicBatcher(recorder, max_batch_size=8, max_wait_s=0.001)

    def call(t: int) -> list[str]:
        return batcher.run([Item(f"{t}-{i}", f"tenant{t}") for i in range(1 + t % 5)])

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(call, range(64)))
    for t, got in enumerate(answers):
        assert got == [f"tenant{t}:{t}-{i}" for i in range(1 + t % 5)]
    assert all(len(b) <= 8 for b in recorder.batches)
    batcher.close()


def test_requests_of_different_tenants_share_a_batch() -> None:
    recorder = Recorder(hold_first=True)
    batcher = DynamicBatcher(recorder, max_batch_size=16, max_wait_s=0.0)
    _held(batcher, recorder)
    futures = [batcher.submit([Item(f"x{i}", f"tenant{i}")]) for i in range(6)]
    recorder.release.set()
    assert [f.result(10) for f in futures] == [[f"tenant{i}:x{i}"] for i in range(6)]
    assert len(recorder.batches) == 2  # the held one, then all six together
    assert {r.tenant for r in recorder.batches[1]} == {f"tenant{i}" for i in range(6)}
    assert batcher.stats.max_rows == 6
    batcher.close()


def test_a_request_larger_than_a_batch_is_split_and_reassembled() -> None:
    recorder = Recorder()
    batcher = DynamicBatcher(recorder, max_batch_size=4, max_wait_s=0.0)
    texts = [f"t{i:02d}" for i in range(11)]
    assert batcher.run([Item(t) for t in texts]) == [f"t:{t}" for t in texts]
    assert [len(b) for b in recorder.batches] == [4, 4, 3]
    batcher.close()


def test_length_aware_grouping_keeps_the_oldest_and_groups_similar_lengths() -> None:
    recorder = Recorder(hold_first=True)
    batcher = DynamicBatcher(recorder, max_batch_size=3, max_wait_s=0.0)
    _held(batcher, recorder)
    lengths = [50, 2, 90, 3, 51, 91, 4, 52, 92]
    futures = [batcher.submit([Item("a" * n)]) for n in lengths]
    recorder.release.set()
    for f in futures:
        f.result(10)
    groups = [sorted(len(r.text) for r in b) for b in recorder.batches[1:]]
    assert groups[0] == [50, 51, 52]  # the oldest (50) with its nearest lengths
    assert sorted(map(tuple, groups[1:])) == [(2, 3, 4), (90, 91, 92)]
    batcher.close()


def test_one_failing_request_does_not_fail_the_others() -> None:
    recorder = Recorder(hold_first=True, fail_on="bad")
    batcher = DynamicBatcher(recorder, max_batch_size=16, max_wait_s=0.0)
    _held(batcher, recorder)
    good1 = batcher.submit([Item("a"), Item("b")])
    bad = batcher.submit([Item("c"), Item("bad")])
    good2 = batcher.submit([Item("d")])
    recorder.release.set()
    assert good1.result(10) == ["t:a", "t:b"]
    assert good2.result(10) == ["t:d"]
    with pytest.raises(InvalidArgument, match="bad"):
        bad.result(10)
    assert batcher.stats.isolated == 1
    batcher.close()


def test_wrong_result_count_is_an_error_not_a_hang() -> None:
    batcher = DynamicBatcher(lambda rows: [], max_batch_size=4, max_wait_s=0.0)
    with pytest.raises(RuntimeError, match="returned 0 results"):
        batcher.run([Item("a")])
    batcher.close()


def test_close_drains_queued_requests_then_refuses_new_ones() -> None:
    recorder = Recorder(hold_first=True)
    batcher = DynamicBatcher(recorder, max_batch_size=2, max_wait_s=60.0)
    batcher.submit([Item("w1"), Item("w2")])  # a full batch starts at once and is held
    assert recorder.entered.wait(10)
    futures = [batcher.submit([Item(f"q{i}")]) for i in range(5)]  # the last would wait 60 s
    closer = threading.Thread(target=batcher.close)
    closer.start()
    recorder.release.set()
    closer.join(10)
    assert not closer.is_alive()
    assert [f.result(0) for f in futures] == [[f"t:q{i}"] for i in range(5)]
    with pytest.raises(BatcherClosed):
        batcher.submit([Item("late")])
    assert issubclass(BatcherClosed, Unavailable)  # UNAVAILABLE on the wire


def test_close_without_drain_fails_what_is_queued() -> None:
    recorder = Recorder(hold_first=True)
    batcher = DynamicBatcher(recorder, max_batch_size=2, max_wait_s=0.0)
    first = batcher.submit([Item("running")])
    assert recorder.entered.wait(10)
    queued = batcher.submit([Item("queued")])
    batcher.close(drain=False, timeout=0)
    with pytest.raises(BatcherClosed):
        queued.result(10)
    recorder.release.set()
    assert first.result(10) == ["t:running"]  # the batch in flight still completes


def test_empty_request_needs_no_batch() -> None:
    batcher = DynamicBatcher(Recorder(), max_batch_size=2)
    assert batcher.run([]) == []
    with pytest.raises(ValueError):
        DynamicBatcher(Recorder(), max_batch_size=0)
