"""Drive an AsyncHubClient through the synchronous interface, so one scenario tests both clients.

Each coroutine method is run to completion on a private event loop and each async iterator is
collected into a list; the client itself is made inside that loop, as asyncio code would.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any


async def _collect(items: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in items]


class Awaited:
    def __init__(self, make: Callable[[], Any]) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = self.loop.run_until_complete(self._make(make))

    @staticmethod
    async def _make(make: Callable[[], Any]) -> Any:
        return make()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.client, name)
        if not callable(attribute):
            return attribute

        def run(*args: Any, **kwargs: Any) -> Any:
            # a method that returns a stream makes its grpc.aio call now, outside the loop's run:
            # grpc finds the loop as the thread's current one (another test's asyncio.run clears it)
            asyncio.set_event_loop(self.loop)
            result = attribute(*args, **kwargs)
            if inspect.isawaitable(result):
                return self.loop.run_until_complete(result)
            if hasattr(result, "__aiter__"):
                return self.loop.run_until_complete(_collect(result))
            return result

        return run

    def close(self) -> None:
        self.loop.run_until_complete(self.client.close())
        self.loop.close()

    def __enter__(self) -> Awaited:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
