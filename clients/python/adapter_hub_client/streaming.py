"""PredictStream for both clients: requests and answers as plain values, and the ordered,
bounded batching on top of it (the synchronous half; ``aio`` has the asyncio one).

``predict_batches`` keeps at most ``in_flight`` batches between sent and handed to the caller:
the server batches the ones in flight together, and a slow first batch holds back neither
memory (answers that came early wait in a buffer of at most ``in_flight``) nor order. The server
reads a stream only as fast as its tenant's queue share allows (flow control); a batch it still
refuses with a retry hint is sent again after the hint.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

import grpc

from adapter_hub_client import convert
from adapter_hub_client.api.v1 import inference_pb2
from adapter_hub_client.calls import predict_request
from adapter_hub_client.errors import (
    REQUEST_ID_KEY,
    HubError,
    ResourceExhausted,
    error_for_number,
    headroom_of,
    metadata_value,
)
from adapter_hub_client.types import Batch, StreamItem, StreamRequest

T = TypeVar("T")
Request = StreamRequest | tuple[str, str, list[str], str | None]


def stream_request(request: Request) -> inference_pb2.PredictStreamRequest:
    """A StreamRequest, or a (request_id, adapter, texts, task) tuple, as the message."""
    r = request if isinstance(request, StreamRequest) else StreamRequest(*request)
    message = inference_pb2.PredictStreamRequest(
        request_id=r.request_id, request=predict_request(r.adapter, r.texts, r.task)
    )
    if r.timeout_s is not None:
        message.timeout_ms = max(1, round(r.timeout_s * 1000))
    return message


def stream_item(answer: inference_pb2.PredictStreamResponse) -> StreamItem:
    if answer.WhichOneof("outcome") == "error":
        e = answer.error
        error = error_for_number(e.code, e.message, e.retry_after_ms)
        return StreamItem(answer.request_id, [], error)
    return StreamItem(answer.request_id, convert.predictions(answer.response))


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def file_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """(line number, text) for every non-blank line of a UTF-8 text file, read as needed."""
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            text = line.rstrip("\r\n")
            if text.strip():
                yield number, text


class StreamCall:
    """A running PredictStream: iterate for the answers (in the order they finish), ``cancel()``
    to stop early. A failure of the whole call (a bad key, a lost connection) raises ``HubError``.
    Once the answers are all read: ``request_id`` (the server's ``x-request-id`` for the call)
    and ``ratelimit`` (the tenant's ``x-ratelimit-*`` and ``x-queue-*`` headroom as it ended)."""

    def __init__(self, call: Iterator[inference_pb2.PredictStreamResponse], fail: Callable[[Exception], HubError]):
        self._call, self._fail = call, fail
        self.request_id: str | None = None
        self.ratelimit: dict[str, str] = {}

    def __iter__(self) -> StreamCall:
        return self

    def __next__(self) -> StreamItem:
        try:
            return stream_item(next(self._call))
        except StopIteration:
            call: Any = self._call  # a grpc call: an iterator and a grpc.Call
            self.request_id, self.ratelimit = call_metadata(call.initial_metadata(), call.trailing_metadata())
            raise
        except grpc.RpcError as exc:  # the whole call failed
            raise self._fail(exc) from None

    def cancel(self) -> None:
        self._call.cancel()  # type: ignore[attr-defined]


def call_metadata(initial: Any, trailing: Any) -> tuple[str | None, dict[str, str]]:
    """A finished call's request id (initial metadata from a hub; trailing through Ray Serve's
    proxy) and headroom (trailing)."""
    request_id = metadata_value(initial, REQUEST_ID_KEY) or metadata_value(trailing, REQUEST_ID_KEY)
    return request_id, headroom_of(trailing)


MAX_RESENDS = 20  # a batch refused this often in a row is handed back with its refusal
_SLOT, _RESEND, _STOP = "slot", "resend", "stop"


def resend_delay(item: StreamItem, resends: int) -> float | None:
    """Seconds to wait before sending a refused batch again (the server's hint), or None when
    its answer is final: only a refusal with a retry hint (RESOURCE_EXHAUSTED: a full queue, a
    rate limit) is sent again, at most MAX_RESENDS times."""
    error = item.error
    if isinstance(error, ResourceExhausted) and error.retry_after_s is not None and resends < MAX_RESENDS:
        return error.retry_after_s
    return None


class _Window:
    """What the sender and the reader of ``ordered_batches`` share: the work for the sender
    (a free slot, a batch to send again, stop), the batches sent, and the counts that say when
    every batch has its final answer."""

    def __init__(self, in_flight: int) -> None:
        self.work: queue.Queue[tuple[str, int, float]] = queue.Queue()
        for _ in range(in_flight):
            self.work.put((_SLOT, -1, 0.0))
        self.sent: dict[int, list[str]] = {}
        self.resends: dict[int, int] = {}
        self.lock = threading.Lock()
        self.total: int | None = None  # known once the caller's batches are exhausted
        self.done = 0

    def finished(self) -> bool:
        with self.lock:
            return self.total is not None and self.done >= self.total

    def deliver(self, early: dict[int, StreamItem]) -> Iterator[Batch]:
        """The answers that are next in input order, each freeing a slot of the window."""
        while self.done in early:
            answer = early.pop(self.done)
            with self.lock:
                batch = Batch(self.done, self.sent.pop(self.done), answer.predictions, answer.error)
                self.done += 1
            self.work.put((_SLOT, -1, 0.0))  # also wakes the sender to see it is finished
            yield batch


def ordered_batches(
    open_stream: Callable[[Iterator[Request]], StreamCall],
    adapter: str,
    batches: Iterable[Iterable[str]],
    task: str | None,
    in_flight: int,
    request_timeout_s: float | None = None,
) -> Iterator[Batch]:
    """Each batch's answer in input order, at most ``in_flight`` batches outstanding; a batch
    refused with a retry hint is sent again after it (``resend_delay``). ``request_timeout_s``:
    each batch's own deadline."""
    if in_flight < 1:
        raise ValueError(f"in_flight must be at least 1, got {in_flight}")
    window = _Window(in_flight)
    failure: list[BaseException] = []

    def requests() -> Iterator[Request]:  # runs on gRPC's sending thread
        source = enumerate(batches)
        try:
            while True:
                kind, index, delay = window.work.get()
                if kind == _STOP or window.finished():
                    return
                if kind == _RESEND:
                    time.sleep(delay)
                elif window.total is None and (pair := next(source, None)) is not None:
                    index, texts = pair
                    window.sent[index] = list(texts)
                else:
                    if window.total is None:
                        with window.lock:
                            window.total = len(window.sent) + window.done
                    if window.finished():
                        return
                    continue
                yield StreamRequest(str(index), adapter, window.sent[index], task, request_timeout_s)
        except Exception as exc:  # noqa: BLE001 - the caller's iterable failed: raised to the caller below
            failure.append(exc)

    stream = open_stream(requests())
    early: dict[int, StreamItem] = {}
    try:
        for item in stream:
            index = int(item.request_id)
            delay = resend_delay(item, window.resends.get(index, 0))
            if delay is not None:
                window.resends[index] = window.resends.get(index, 0) + 1
                window.work.put((_RESEND, index, delay))
                continue
            early[index] = item
            yield from window.deliver(early)
    finally:
        window.work.put((_STOP, -1, 0.0))
        stream.cancel()
    if failure:
        raise failure[0]
