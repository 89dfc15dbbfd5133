"""PredictStream: many Predict requests on one call, each answered as soon as it is done.

A reader thread takes requests off the call and runs each on a small per-call pool, at most
``max_in_flight`` at a time (the client is slowed by flow control beyond that); the requests in
flight reach the service's batcher together, so they share engine forwards with each other and
with other calls. Answers are yielded in the order they finish, each with its request_id. A
request's own failure becomes its answer (RequestError, mapped by the one status table); the
call itself only ends with a status for what concerns the whole call (authentication).
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import grpc

from hub.api.v1 import inference_pb2
from hub.transport import convert
from hub.transport.status import status_of

RunOne = Callable[[inference_pb2.PredictStreamRequest], inference_pb2.PredictResponse]


@dataclass(frozen=True)
class _ReadingDone:
    submitted: int


def answer_stream(
    requests: Iterator[inference_pb2.PredictStreamRequest],
    run_one: RunOne,
    context: grpc.ServicerContext,
    max_in_flight: int,
) -> Iterator[inference_pb2.PredictStreamResponse]:
    answers: queue.Queue[inference_pb2.PredictStreamResponse | _ReadingDone] = queue.Queue()
    slots = threading.Semaphore(max(1, max_in_flight))
    pool = ThreadPoolExecutor(max_workers=max(1, max_in_flight), thread_name_prefix="predict-stream")

    def finished(request_id: str, future: Future[inference_pb2.PredictResponse]) -> None:
        slots.release()
        answers.put(_answer(request_id, future))

    def read() -> None:
        submitted = 0
        try:
            for item in requests:
                while not slots.acquire(timeout=0.5):
                    if not context.is_active():
                        return
                future = pool.submit(run_one, item)
                submitted += 1
                future.add_done_callback(functools.partial(finished, item.request_id))
        except Exception:  # noqa: BLE001 - the client went away mid-stream: stop reading
            return
        finally:
            answers.put(_ReadingDone(submitted))

    threading.Thread(target=read, name="predict-stream-reader", daemon=True).start()
    try:
        yield from _drain(answers)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _drain(
    answers: queue.Queue[inference_pb2.PredictStreamResponse | _ReadingDone],
) -> Iterator[inference_pb2.PredictStreamResponse]:
    """Yield answers until reading is over and every submitted request has been answered."""
    answered, total = 0, None
    while total is None or answered < total:
        item = answers.get()
        if isinstance(item, _ReadingDone):
            total = item.submitted
            continue
        answered += 1
        yield item


def _answer(request_id: str, future: Future[inference_pb2.PredictResponse]) -> inference_pb2.PredictStreamResponse:
    if future.cancelled():  # the call ended first: nobody reads this answer
        return convert.stream_error(request_id, grpc.StatusCode.CANCELLED, "call ended")
    try:
        return convert.stream_answer(request_id, future.result())
    except Exception as exc:  # noqa: BLE001 - becomes this request's answer
        return convert.stream_error(request_id, *status_of(exc), getattr(exc, "retry_after_ms", None))
