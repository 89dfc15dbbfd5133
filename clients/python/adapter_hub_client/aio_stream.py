"""The asyncio client's PredictStream call (``AsyncStreamCall``) and its error explanation."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

from adapter_hub_client import types as t
from adapter_hub_client.config import ClientConfig
from adapter_hub_client.connection import explain
from adapter_hub_client.errors import HubError, Unavailable, from_rpc_error
from adapter_hub_client.streaming import call_metadata, stream_item


async def _explained(error: HubError, config: ClientConfig) -> HubError:
    """``explain`` off the event loop: for UNAVAILABLE it may probe the server (a blocking TLS handshake)."""
    return await asyncio.to_thread(explain, error, config) if isinstance(error, Unavailable) else error


class AsyncStreamCall:
    """A running PredictStream: ``async for`` the answers (in the order they finish),
    ``cancel()`` to stop early; a failure of the whole call raises ``HubError``. Once the answers
    are all read: ``request_id`` and ``ratelimit`` (the tenant's headroom as the call ended)."""

    def __init__(self, call: Any, config: ClientConfig) -> None:
        self._call, self._answers, self._config = call, call.__aiter__(), config
        self.request_id: str | None = None
        self.ratelimit: dict[str, str] = {}

    def __aiter__(self) -> AsyncStreamCall:
        return self

    async def __anext__(self) -> t.StreamItem:
        try:
            return stream_item(await self._answers.__anext__())
        except StopAsyncIteration:
            initial, trailing = await self._call.initial_metadata(), await self._call.trailing_metadata()
            self.request_id, self.ratelimit = call_metadata(initial, trailing)
            raise
        except grpc.RpcError as exc:
            raise await _explained(from_rpc_error(exc), self._config) from None

    def cancel(self) -> None:
        self._call.cancel()
