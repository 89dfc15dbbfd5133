"""``HubClient``'s store upkeep calls (operator: the admin key): a mixin over ``run``, which the
client defines. ``AsyncHubClient`` has the same calls in aio_operator.py."""

from __future__ import annotations

from typing import TypeVar

from adapter_hub_client import calls
from adapter_hub_client import types as t
from adapter_hub_client.calls import Meta

T = TypeVar("T")


class StoreCalls:
    def run(
        self, call: calls.Call[T], timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> T:
        raise NotImplementedError

    def collect_garbage(
        self, dry_run: bool = False, *, timeout: float | None = None, retries: int | None = None, metadata: Meta = None
    ) -> t.GarbageCollection:
        """Reclaim files no live version needs, temp and idle lock files (dry_run: count only)."""
        return self.run(calls.collect_garbage(dry_run), timeout, retries, metadata)

    def verify_store(
        self,
        quarantine: bool = False,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Meta = None,
    ) -> t.StoreVerification:
        """Check every stored file and version record; quarantine moves damaged ones aside."""
        return self.run(calls.verify_store(quarantine), timeout, retries, metadata)
