"""``AsyncHubClient``: the asyncio client, the same methods as ``HubClient``, awaited.

Streams take plain or async iterables and give async iterators; ``predict_batches`` keeps at
most ``in_flight`` batches between sent and handed back, as the synchronous one does.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from pathlib import Path
from typing import Any, TypeVar, cast

import grpc
import grpc.aio

from adapter_hub_client import calls, health
from adapter_hub_client import types as t
from adapter_hub_client.aio_operator import AsyncOperatorCalls
from adapter_hub_client.aio_stream import AsyncStreamCall, _explained
from adapter_hub_client.base import ClientBase
from adapter_hub_client.calls import Meta
from adapter_hub_client.domain_calls import AsyncDomainCalls
from adapter_hub_client.errors import HubError, from_rpc_error
from adapter_hub_client.retry import with_retries_async
from adapter_hub_client.streaming import Request, chunked, file_lines, resend_delay, stream_request
from adapter_hub_client.sync import STUBS

T = TypeVar("T")


async def _each(items: Iterable[T] | AsyncIterable[T]) -> AsyncIterator[T]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


class _Sender:
    """The sending side of ``ordered_batches``: new batches while the window has room, refused
    ones again after their hint, until every batch has its final answer."""

    def __init__(self, batches: Any, adapter: str, task: str | None, in_flight: int, timeout_s: float | None) -> None:
        self.batches, self.adapter, self.task, self.timeout_s = batches, adapter, task, timeout_s
        self.work: asyncio.Queue[tuple[str, int, float]] = asyncio.Queue()
        for _ in range(in_flight):
            self.work.put_nowait(("slot", -1, 0.0))
        self.sent: dict[int, list[str]] = {}
        self.done, self.total = 0, -1  # total: known once the caller's batches are exhausted
        self.failure: list[BaseException] = []

    def finished(self) -> bool:
        return 0 <= self.total <= self.done

    def request(self, index: int) -> Request:
        return t.StreamRequest(str(index), self.adapter, self.sent[index], self.task, self.timeout_s)

    async def requests(self) -> AsyncIterator[Request]:
        source, index = _each(self.batches).__aiter__(), 0
        try:
            while True:
                kind, resend, delay = await self.work.get()
                if kind == "stop" or self.finished():
                    return
                if kind == "resend":
                    await asyncio.sleep(delay)
                    yield self.request(resend)
                    continue
                if self.total < 0:
                    try:
                        texts = await source.__anext__()
                    except StopAsyncIteration:
                        self.total = index
                    else:
                        self.sent[index] = list(texts)
                        yield self.request(index)
                        index += 1
                        continue
                if self.finished():
                    return
        except Exception as exc:  # noqa: BLE001 - the caller's iterable failed: raised to the caller below
            self.failure.append(exc)


async def ordered_batches(
    open_stream: Any,
    adapter: str,
    batches: Iterable[Iterable[str]] | AsyncIterable[Iterable[str]],
    task: str | None,
    in_flight: int,
    request_timeout_s: float | None = None,
) -> AsyncIterator[t.Batch]:
    """Each batch's answer in input order, at most ``in_flight`` batches outstanding; a batch
    refused with a retry hint is sent again after it (as the synchronous one does)."""
    if in_flight < 1:
        raise ValueError(f"in_flight must be at least 1, got {in_flight}")
    sender = _Sender(batches, adapter, task, in_flight, request_timeout_s)
    resends: dict[int, int] = {}
    stream = open_stream(sender.requests())
    early: dict[int, t.StreamItem] = {}
    try:
        async for item in stream:
            index = int(item.request_id)
            delay = resend_delay(item, resends.get(index, 0))
            if delay is not None:
                resends[index] = resends.get(index, 0) + 1
                sender.work.put_nowait(("resend", index, delay))
                continue
            early[index] = item
            while sender.done in early:
                done = sender.done
                answer = early.pop(done)
                sender.done += 1
                sender.work.put_nowait(("slot", -1, 0.0))  # also wakes the sender to see it is finished
                yield t.Batch(done, sender.sent.pop(done), answer.predictions, answer.error)
    finally:
        sender.work.put_nowait(("stop", -1, 0.0))
        stream.cancel()
    if sender.failure:
        raise sender.failure[0]


class AsyncHubClient(ClientBase, AsyncOperatorCalls, AsyncDomainCalls):
    """``async with AsyncHubClient("127.0.0.1:50051", api_key=...) as hub: await hub.predict(...)``.

    Configured as ``HubClient`` is (arguments, then the ``ADAPTER_HUB_*`` environment). Create
    it inside the event loop that uses it.
    """

    def _connect(self) -> None:
        c = self.config
        if c.tls:
            self.channel = grpc.aio.secure_channel(c.target, c.credentials(), options=c.channel_options())
        else:
            self.channel = grpc.aio.insecure_channel(c.target, options=c.channel_options())
        self.stubs: dict[str, Any] = {name: stub(self.channel) for name, stub in STUBS.items()}

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self) -> AsyncHubClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def run(
        self,
        call: calls.Call[T],
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> T:
        """Run one Call: retried as its kind and ``retries`` allow, failures as HubError.
        ``metadata``: (key, value) pairs sent with the call besides the client's own."""
        method = getattr(self.stubs[call.service], call.method)
        wait = timeout or self.config.timeout
        sent = self.config.call_metadata(call.route, wait) + tuple(metadata or ())

        async def attempt() -> tuple[Any, Any, Any]:
            request = call.request() if call.streaming else call.request
            try:
                rpc = method(request, timeout=wait, metadata=sent)
                if call.answers_stream:  # server-streamed: every message, then the call's metadata
                    messages = [m async for m in rpc]
                    return messages, await rpc.initial_metadata(), await rpc.trailing_metadata()
                response = await rpc
                return response, await rpc.initial_metadata(), await rpc.trailing_metadata()
            except grpc.RpcError as exc:
                raise from_rpc_error(exc) from None

        tries = retries if retries is not None else (self.config.retries if call.idempotent else 0)
        try:
            response, initial, trailing = await with_retries_async(attempt, tries)
        except HubError as error:
            raise await _explained(error, self.config) from None
        return calls.answered(call.read(response), initial, trailing)

    # ---- inference -----------------------------------------------------------------------
    async def predict(
        self,
        adapter: str,
        texts: list[str],
        task: str | None = None,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> t.Predictions:
        return cast(t.Predictions, await self.run(calls.predict(adapter, texts, task), timeout, retries, metadata))

    async def fan_out(
        self,
        text: str,
        targets: list[str] | list[tuple[str, str]],
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> t.Predictions:
        return cast(t.Predictions, await self.run(calls.fan_out(text, targets), timeout, retries, metadata))

    def predict_stream(
        self, requests: Iterable[Request] | AsyncIterable[Request], *, timeout: float | None = None
    ) -> AsyncStreamCall:
        return self._open_stream(requests, timeout or self.config.timeout)

    def _open_stream(self, requests: Iterable[Request] | AsyncIterable[Request], wait: float | None) -> AsyncStreamCall:
        messages = (stream_request(r) async for r in _each(requests))
        metadata = self.config.call_metadata("", wait)  # a stream names no one adapter: any replica
        call = self.stubs["inference"].PredictStream(messages, timeout=wait, metadata=metadata)
        return AsyncStreamCall(call, self.config)

    def predict_batches(
        self,
        adapter: str,
        batches: Iterable[Iterable[str]] | AsyncIterable[Iterable[str]],
        task: str | None = None,
        *,
        in_flight: int = 8,
        timeout: float | None = None,
    ) -> AsyncIterator[t.Batch]:
        """As ``HubClient.predict_batches``: ``timeout`` bounds the whole call; without it each
        batch has the client's timeout and the call none."""
        if timeout is not None:
            opener = lambda requests: self._open_stream(requests, timeout)  # noqa: E731
            return ordered_batches(opener, adapter, batches, task, in_flight)
        opener = lambda requests: self._open_stream(requests, None)  # noqa: E731
        return ordered_batches(opener, adapter, batches, task, in_flight, self.config.timeout)

    async def predict_iter(
        self,
        adapter: str,
        texts: Iterable[str] | AsyncIterable[str],
        task: str | None = None,
        *,
        batch_size: int = 32,
        in_flight: int = 8,
        timeout: float | None = None,
    ) -> AsyncIterator[t.Prediction]:
        if isinstance(texts, AsyncIterable):
            batches: Any = _chunked_async(texts, batch_size)
        else:
            batches = chunked(texts, batch_size)
        async for batch in self.predict_batches(adapter, batches, task, in_flight=in_flight, timeout=timeout):
            if batch.error is not None:
                raise batch.error
            for prediction in batch.predictions:
                yield prediction

    async def predict_file(
        self,
        adapter: str,
        path: str | Path,
        task: str | None = None,
        *,
        batch_size: int = 32,
        in_flight: int = 8,
        timeout: float | None = None,
    ) -> AsyncIterator[tuple[int, t.Prediction]]:
        numbers: deque[int] = deque()

        def texts() -> Iterable[str]:
            for number, text in file_lines(path):
                numbers.append(number)
                yield text

        async for prediction in self.predict_iter(
            adapter, texts(), task, batch_size=batch_size, in_flight=in_flight, timeout=timeout
        ):
            yield numbers.popleft(), prediction

    # ---- adapters ------------------------------------------------------------------------
    async def push(
        self,
        directory: str | Path,
        name: str,
        task: str | None = None,
        labels: list[str] | None = None,
        description: str = "",
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> t.AdapterVersion:
        return await self.run(
            calls.push(directory, name, task, labels, description, idempotency_key), timeout, retries, metadata
        )

    async def list_adapters(
        self, domain: str = "", *, timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> list[t.Adapter]:
        """Your adapters, or (``domain``) that domain's."""
        return await self.run(calls.list_adapters(domain), timeout, retries, metadata)

    async def get_adapter(
        self,
        adapter: str,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> t.AdapterVersion:
        return await self.run(calls.get_adapter(adapter), timeout, retries, metadata)

    async def delete_adapter(
        self,
        adapter: str,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> list[str]:
        return await self.run(calls.delete_adapter(adapter), timeout, retries, metadata)

    async def set_alias(
        self,
        name: str,
        version: str,
        alias: str,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> t.AliasChange:
        return await self.run(calls.set_alias(name, version, alias), timeout, retries, metadata)

    # ---- the server ----------------------------------------------------------------------
    async def serving(self, *, timeout: float | None = None) -> bool:
        check = self.channel.unary_unary(
            health.METHOD,
            request_serializer=health.HealthCheckRequest.SerializeToString,
            response_deserializer=health.HealthCheckResponse.FromString,
        )
        try:
            response = await check(health.HealthCheckRequest(), timeout=timeout or self.config.timeout)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        return bool(response.status == health.SERVING)

    async def server_info(
        self, *, timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> t.ServerInfo:
        return await self.run(calls.server_info(), timeout, retries, metadata)

    async def list_tasks(
        self, *, timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> list[t.TaskInfo]:
        return await self.run(calls.list_tasks(), timeout, retries, metadata)

    async def list_plugins(
        self, *, timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> t.Plugins:
        return await self.run(calls.list_plugins(), timeout, retries, metadata)


async def _chunked_async(texts: AsyncIterable[str], size: int) -> AsyncIterator[list[str]]:
    chunk: list[str] = []
    async for text in texts:
        chunk.append(text)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
