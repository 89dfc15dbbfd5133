"""Streams stay bounded and stop cleanly: an endless input is read only as far as the window of
batches in flight allows, a caller that stops early cancels the call, and the asyncio client takes
async iterables and serves concurrent calls on one channel."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator

import adapter_hub_client as ahc
import pytest

from tests.client.conftest import SEQ, SEQ_LABELS, LiveHub

pytestmark = pytest.mark.integration
BATCH, IN_FLIGHT, TAKEN = 2, 2, 5


class Endless:
    """Texts without end, counting how many were read."""

    def __init__(self) -> None:
        self.read = 0

    def __iter__(self) -> Iterator[str]:
        for i in itertools.count():
            self.read += 1
            yield f"text {i}"

    async def aiter(self) -> AsyncIterator[str]:
        for text in self:
            yield text


# the batches handed back (TAKEN // BATCH + 1), those in flight behind them, and one chunk read
# ahead while the sender waits for room
MOST_READ = (TAKEN // BATCH + 1 + IN_FLIGHT + 1) * BATCH


def test_an_endless_input_is_read_only_as_far_as_the_window(live_hub: LiveHub) -> None:
    with ahc.HubClient(live_hub.target, api_key=live_hub.tenant_key) as hub:
        hub.push(live_hub.plain, "solo", task=SEQ, labels=SEQ_LABELS)
        source = Endless()
        taken = list(itertools.islice(hub.predict_iter("solo", source, batch_size=BATCH, in_flight=IN_FLIGHT), TAKEN))
        assert [p.served_by for p in taken] == ["solo@1"] * TAKEN
        assert TAKEN <= source.read <= MOST_READ
        assert hub.predict("solo", ["the channel still serves"])[0].version == "1"


def test_the_async_client_takes_async_iterables_and_concurrent_calls(live_hub: LiveHub) -> None:
    async def requests() -> AsyncIterator[ahc.StreamRequest]:
        for i in range(4):
            await asyncio.sleep(0)
            yield ahc.StreamRequest(str(i), "solo", [f"streamed {i}"])

    async def main() -> tuple[int, list[str], list[int]]:
        async with ahc.AsyncHubClient(live_hub.target, api_key=live_hub.tenant_key) as hub:
            await hub.push(live_hub.plain, "solo", task=SEQ, labels=SEQ_LABELS)
            source = Endless()
            taken = []
            async for p in hub.predict_iter("solo", source.aiter(), batch_size=BATCH, in_flight=IN_FLIGHT):
                taken.append(p)
                if len(taken) == TAKEN:
                    break
            answers = await asyncio.gather(*(hub.predict("solo", [f"call {i}"]) for i in range(12)))
            streamed = [item.request_id async for item in hub.predict_stream(requests())]
            return source.read, [a[0].served_by for a in answers], sorted(int(r) for r in streamed)

    read, served, ids = asyncio.run(main())
    assert TAKEN <= read <= MOST_READ
    assert served == ["solo@1"] * 12 and ids == list(range(4))
