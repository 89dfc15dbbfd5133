"""PredictStream for both clients: requests and answers as plain values, and the ordered,
bounded batching on top of it (the synchronous half; ``aio`` has the asyncio one).

``predict_batches`` keeps at most ``in_flight`` batches between sent and handed to the caller:
the server batches the ones in flight together, and a slow first batch holds back neither
memory (answers that came early wait in a buffer of at most ``in_flight``) nor order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import TypeVar

import grpc

from adapter_hub_client import convert
from adapter_hub_client.api.v1 import inference_pb2
from adapter_hub_client.calls import predict_request
from adapter_hub_client.errors import HubError, error_for_number
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
    to stop early. A failure of the whole call (a bad key, a lost connection) raises ``HubError``."""

    def __init__(self, call: Iterator[inference_pb2.PredictStreamResponse], fail: Callable[[Exception], HubError]):
        self._call, self._fail = call, fail

    def __iter__(self) -> StreamCall:
        return self

    def __next__(self) -> StreamItem:
        try:
            return stream_item(next(self._call))
        except StopIteration:
            raise
        except grpc.RpcError as exc:  # the whole call failed
            raise self._fail(exc) from None

    def cancel(self) -> None:
        self._call.cancel()  # type: ignore[attr-defined]


def ordered_batches(
    open_stream: Callable[[Iterator[Request]], StreamCall],
    adapter: str,
    batches: Iterable[Iterable[str]],
    task: str | None,
    in_flight: int,
) -> Iterator[Batch]:
    """Each batch's answer in input order, at most ``in_flight`` batches outstanding."""
    if in_flight < 1:
        raise ValueError(f"in_flight must be at least 1, got {in_flight}")
    window, stop = threading.Semaphore(in_flight), threading.Event()
    sent: dict[int, list[str]] = {}
    failure: list[BaseException] = []

    def requests() -> Iterator[Request]:  # runs on gRPC's sending thread
        try:
            for index, texts in enumerate(batches):
                window.acquire()
                if stop.is_set():
                    return
                sent[index] = list(texts)
                yield StreamRequest(str(index), adapter, sent[index], task)
        except Exception as exc:  # noqa: BLE001 - the caller's iterable failed: raised to the caller below
            failure.append(exc)

    stream = open_stream(requests())
    early: dict[int, StreamItem] = {}
    done = 0
    try:
        for item in stream:
            early[int(item.request_id)] = item
            while done in early:
                answer = early.pop(done)
                window.release()
                yield Batch(done, sent.pop(done), answer.predictions, answer.error)
                done += 1
    finally:
        stop.set()
        window.release()  # wakes a sender waiting for room, which then sees stop
        stream.cancel()
    if failure:
        raise failure[0]
