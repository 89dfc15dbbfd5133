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
from adapter_hub_client.base import ClientBase
from adapter_hub_client.calls import Meta
from adapter_hub_client.config import ClientConfig
from adapter_hub_client.connection import explain
from adapter_hub_client.domain_calls import AsyncDomainCalls
from adapter_hub_client.errors import HubError, Unavailable, from_rpc_error
from adapter_hub_client.retry import with_retries_async
from adapter_hub_client.streaming import Request, chunked, file_lines, stream_item, stream_request
from adapter_hub_client.sync import STUBS

T = TypeVar("T")


async def _each(items: Iterable[T] | AsyncIterable[T]) -> AsyncIterator[T]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


async def _explained(error: HubError, config: ClientConfig) -> HubError:
    """``explain`` off the event loop: for UNAVAILABLE it may probe the server (a blocking TLS handshake)."""
    return await asyncio.to_thread(explain, error, config) if isinstance(error, Unavailable) else error


class AsyncStreamCall:
    """A running PredictStream: ``async for`` the answers (in the order they finish),
    ``cancel()`` to stop early; a failure of the whole call raises ``HubError``."""

    def __init__(self, call: Any, config: ClientConfig) -> None:
        self._call, self._answers, self._config = call, call.__aiter__(), config

    def __aiter__(self) -> AsyncStreamCall:
        return self

    async def __anext__(self) -> t.StreamItem:
        try:
            return stream_item(await self._answers.__anext__())
        except grpc.RpcError as exc:
            raise await _explained(from_rpc_error(exc), self._config) from None

    def cancel(self) -> None:
        self._call.cancel()


async def ordered_batches(
    open_stream: Any,
    adapter: str,
    batches: Iterable[Iterable[str]] | AsyncIterable[Iterable[str]],
    task: str | None,
    in_flight: int,
) -> AsyncIterator[t.Batch]:
    """Each batch's answer in input order, at most ``in_flight`` batches outstanding."""
    if in_flight < 1:
        raise ValueError(f"in_flight must be at least 1, got {in_flight}")
    window, stopped = asyncio.Semaphore(in_flight), asyncio.Event()
    sent: dict[int, list[str]] = {}
    failure: list[BaseException] = []

    async def requests() -> AsyncIterator[Request]:
        try:
            index = 0
            async for texts in _each(batches):
                await window.acquire()
                if stopped.is_set():
                    return
                sent[index] = list(texts)
                yield t.StreamRequest(str(index), adapter, sent[index], task)
                index += 1
        except Exception as exc:  # noqa: BLE001 - the caller's iterable failed: raised to the caller below
            failure.append(exc)

    stream = open_stream(requests())
    early: dict[int, t.StreamItem] = {}
    done = 0
    try:
        async for item in stream:
            early[int(item.request_id)] = item
            while done in early:
                answer = early.pop(done)
                window.release()
                yield t.Batch(done, sent.pop(done), answer.predictions, answer.error)
                done += 1
    finally:
        stopped.set()
        window.release()
        stream.cancel()
    if failure:
        raise failure[0]


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
        messages = (stream_request(r) async for r in _each(requests))
        wait = timeout or self.config.timeout
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
        opener = lambda requests: self.predict_stream(requests, timeout=timeout)  # noqa: E731
        return ordered_batches(opener, adapter, batches, task, in_flight)

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
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> t.AdapterVersion:
        return await self.run(calls.push(directory, name, task, labels, description), timeout, retries, metadata)

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
