"""PredictStream: many Predict requests on one call, flow-controlled, each answered when done.

A reader task takes requests off the call one at a time: it reads the next request only once
the previous one has been admitted to the scheduler's queue, and while ``max_in_flight`` are
unanswered. A request whose tenant is at its queue share waits for room (hub/transport/
frontend.py ``Flow``) instead of being refused, so the reader stops reading and HTTP/2 flow
control stops the client: a file of any length goes through on a tenant's share. Requests in
flight reach the batcher together, so they share engine forwards with each other and with
other calls. Answers are yielded in the order they finish, each with its request_id (the
client puts them back in input order). A request's own failure becomes its answer; the call
itself ends with a status only for what concerns the whole call: a stream with nothing in
flight that sends nothing for ``idle_timeout_s`` (DEADLINE_EXCEEDED naming the setting), the
server shutting down (it stops reading, answers what is in flight, then UNAVAILABLE), or the
server ending it (revocation: hub/transport/base.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import grpc

from hub.api.v1 import inference_pb2
from hub.errors import DeadlineExceeded, Draining
from hub.transport import convert
from hub.transport.frontend import Flow
from hub.transport.status import status_of

RunOne = Callable[[inference_pb2.PredictStreamRequest, Flow], Awaitable[inference_pb2.PredictResponse]]
_END = object()


@dataclass
class _ReadingDone:
    submitted: int
    error: Exception | None = None


class StreamIdle(DeadlineExceeded):
    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"no request on this stream for {seconds:g} s with nothing in flight "
            "(stream-idle-timeout-s): the server closed it"
        )


class _Stream:
    """One PredictStream's reader and its requests in flight."""

    def __init__(self, run_one: RunOne, max_in_flight: int, idle_timeout_s: float, stopping: asyncio.Event) -> None:
        self.run_one, self.idle_timeout_s, self.stopping = run_one, idle_timeout_s, stopping
        self.answers: asyncio.Queue[inference_pb2.PredictStreamResponse | _ReadingDone] = asyncio.Queue()
        self.slots = asyncio.Semaphore(max(1, max_in_flight))
        self.running: set[asyncio.Task[None]] = set()

    async def one(self, item: inference_pb2.PredictStreamRequest, flow: Flow) -> None:
        try:
            answer = convert.stream_answer(item.request_id, await self.run_one(item, flow))
        except Exception as exc:  # noqa: BLE001 - becomes this request's answer
            answer = convert.stream_error(item.request_id, *status_of(exc), getattr(exc, "retry_after_ms", None))
        finally:
            flow.admitted.set()
            self.slots.release()
        self.answers.put_nowait(answer)

    async def read(self, requests: AsyncIterator[inference_pb2.PredictStreamRequest]) -> None:
        submitted, error = 0, None
        try:
            while True:
                await self.slots.acquire()
                item = await _next(requests, self.idle_timeout_s, self.stopping, lambda: bool(self.running))
                if item is _END:
                    break
                assert isinstance(item, inference_pb2.PredictStreamRequest)
                flow = Flow()
                task = asyncio.create_task(self.one(item, flow))  # a copy of this call's context
                self.running.add(task)
                task.add_done_callback(self.running.discard)
                submitted += 1
                await flow.admitted.wait()  # backpressure: the next request waits for room
        except (StreamIdle, Draining) as exc:
            error = exc
        except grpc.RpcError:  # the client went away mid-stream
            pass
        finally:
            self.answers.put_nowait(_ReadingDone(submitted, error))


async def answer_stream(
    requests: AsyncIterator[inference_pb2.PredictStreamRequest],
    run_one: RunOne,
    max_in_flight: int,
    idle_timeout_s: float,
    stopping: asyncio.Event,
) -> AsyncIterator[inference_pb2.PredictStreamResponse]:
    stream = _Stream(run_one, max_in_flight, idle_timeout_s, stopping)
    reader = asyncio.create_task(stream.read(requests))
    try:
        answered, done = 0, None
        while done is None or answered < done.submitted:
            item = await stream.answers.get()
            if isinstance(item, _ReadingDone):
                done = item
                continue
            answered += 1
            yield item
        if done.error is not None:
            raise done.error
    finally:
        reader.cancel()
        for task in list(stream.running):
            task.cancel()


async def _next(
    requests: AsyncIterator[inference_pb2.PredictStreamRequest],
    idle_timeout_s: float,
    stopping: asyncio.Event,
    busy: Callable[[], bool],
) -> object:
    """The next request, or _END at the end of the client's stream. Raises StreamIdle when
    nothing came for ``idle_timeout_s`` while nothing was in flight, Draining at shutdown."""
    if stopping.is_set():
        raise Draining()
    read = asyncio.ensure_future(_anext(requests))
    stop = asyncio.ensure_future(stopping.wait())
    try:
        while True:
            done, _ = await asyncio.wait({read, stop}, timeout=idle_timeout_s, return_when=asyncio.FIRST_COMPLETED)
            if read in done:
                return read.result()
            if stop in done:
                raise Draining()
            if not busy():
                raise StreamIdle(idle_timeout_s)
    finally:
        stop.cancel()
        if not read.done():
            read.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await read


async def _anext(requests: AsyncIterator[inference_pb2.PredictStreamRequest]) -> object:
    try:
        return await requests.__anext__()
    except StopAsyncIteration:
        return _END
