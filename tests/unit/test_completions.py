"""hub/transport/completions.py: futures completed on other threads reach the loop in groups,
with asyncio.wrap_future's semantics (result, exception, cancellation both ways)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading

import pytest

from hub.transport.completions import Completions


def test_a_batch_completed_on_another_thread_wakes_the_loop_once() -> None:
    async def main() -> tuple[list[int], Completions]:
        completions = Completions(asyncio.get_running_loop())
        sources = [concurrent.futures.Future[int]() for _ in range(32)]
        targets = [completions.wrap(s) for s in sources]

        def complete_all() -> None:  # as the scheduler's worker does with a batch's tickets
            for i, source in enumerate(sources):
                source.set_result(i)

        worker = threading.Thread(target=complete_all)
        worker.start()
        worker.join()  # the loop runs nothing meanwhile: every completion is queued
        return list(await asyncio.gather(*targets)), completions

    results, completions = asyncio.run(main())
    assert results == list(range(32))
    assert completions.delivered == 32
    assert completions.deliveries == 1


def test_completions_after_a_delivery_schedule_another() -> None:
    async def main() -> Completions:
        completions = Completions(asyncio.get_running_loop())
        for value in range(3):
            source = concurrent.futures.Future[int]()
            target = completions.wrap(source)
            threading.Thread(target=source.set_result, args=(value,)).start()
            assert await asyncio.wait_for(target, 5) == value
        return completions

    completions = asyncio.run(main())
    assert (completions.deliveries, completions.delivered) == (3, 3)


def test_an_exception_reaches_the_awaiting_call() -> None:
    async def main() -> None:
        completions = Completions(asyncio.get_running_loop())
        source = concurrent.futures.Future[int]()
        target = completions.wrap(source)
        threading.Thread(target=source.set_exception, args=(ValueError("refused"),)).start()
        with pytest.raises(ValueError, match="refused"):
            await asyncio.wait_for(target, 5)

    asyncio.run(main())


def test_a_completion_on_the_loop_itself_is_delivered() -> None:
    async def main() -> int:
        completions = Completions(asyncio.get_running_loop())
        source = concurrent.futures.Future[int]()
        target = completions.wrap(source)
        source.set_result(7)  # e.g. a queued request withdrawn at its deadline, from the loop
        return await asyncio.wait_for(target, 5)

    assert asyncio.run(main()) == 7


def test_cancelling_the_awaiting_call_cancels_a_pending_source() -> None:
    async def main() -> concurrent.futures.Future[int]:
        completions = Completions(asyncio.get_running_loop())
        source = concurrent.futures.Future[int]()
        task = asyncio.ensure_future(completions.wrap(source))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return source

    assert asyncio.run(main()).cancelled()


def test_a_cancelled_source_cancels_the_loop_future() -> None:
    async def main() -> None:
        completions = Completions(asyncio.get_running_loop())
        source = concurrent.futures.Future[int]()
        target = completions.wrap(source)
        threading.Thread(target=source.cancel).start()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(target, 5)

    asyncio.run(main())


def test_a_source_completing_after_its_caller_left_is_dropped() -> None:
    async def main() -> Completions:
        completions = Completions(asyncio.get_running_loop())
        source = concurrent.futures.Future[int]()
        target = completions.wrap(source)
        source.set_running_or_notify_cancel()  # running: cancelling the target cannot cancel it
        target.cancel()
        threading.Thread(target=source.set_result, args=(1,)).start()
        for _ in range(100):
            if completions.delivered:
                break
            await asyncio.sleep(0.01)
        return completions

    completions = asyncio.run(main())
    assert completions.delivered == 1  # handed over, found cancelled, nothing raised


def test_a_closed_loop_drops_late_completions() -> None:
    loop = asyncio.new_event_loop()
    completions = Completions(loop)
    source = concurrent.futures.Future[int]()
    completions.wrap(source)
    loop.close()
    source.set_result(1)  # the scheduler finishing a batch after shutdown: no error
    later = concurrent.futures.Future[int]()
    completions.wrap(later)
    later.set_result(2)  # nor for the next one: no delivery stays pending forever
    assert completions.deliveries == 0
