"""A hub started while its S3 store is down (ADAPTER_HUB_S3_CREATE_BUCKET=true, as the README's
SeaweedFS example sets) starts anyway, says UNAVAILABLE without naming the endpoint, bucket or
key layout (an unknown API key included), and works once the store is back: the bucket check
is retried on later calls. The same at the store level, and a store stopped and restarted."""

from __future__ import annotations

import time
from typing import Any

import pytest
from adapter_hub_client import HubClient, Unauthenticated, Unavailable

from adapters_registry.storage.base import StoreUnavailable
from tests.fixtures.seaweedfs import SeaweedFS
from tests.residency.conftest import write_adapter_dir
from tests.residency.test_residency_s3 import ADMIN, s3_settings

pytestmark = pytest.mark.integration


def test_the_store_opens_during_an_outage_and_creates_its_bucket_later(seaweedfs_restartable: SeaweedFS) -> None:
    weed = seaweedfs_restartable
    weed.stop()
    store = weed.open_store("made-later", create_bucket=True, connect_timeout=0.5, max_retries=0)
    try:
        with pytest.raises(StoreUnavailable) as caught:
            store.get("k")
        assert "made-later" not in str(caught.value) and weed.endpoint_url not in str(caught.value)
        weed.start()
        deadline = time.monotonic() + 30
        while True:  # the bucket check is retried at most every 2 s
            try:
                store.put("k", b"v")
                break
            except StoreUnavailable:
                assert time.monotonic() < deadline
                time.sleep(0.5)
        assert store.get("k").data == b"v"
    finally:
        store.close()


def test_a_hub_starts_during_an_outage_with_create_bucket_and_serves_after_it(
    start_hub: Any, tiny_runtime: Any, seaweedfs_restartable: SeaweedFS, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    weed = seaweedfs_restartable
    settings = s3_settings(weed, monkeypatch, s3_create_bucket=True, store_timeout_s=1.0, store_retries=0)
    bucket = str(settings["store"]).split("/")[2]
    weed.stop()
    server, _ = start_hub(tiny_runtime, **settings)
    target = f"127.0.0.1:{server.port}"
    with HubClient(target, api_key="ahk_0123456789abcdef_unknown", timeout=30, retries=0) as stranger:
        with pytest.raises((Unavailable, Unauthenticated)) as refused:
            stranger.list_adapters()
        text = refused.value.message
        assert weed.endpoint_url not in text and bucket not in text and "tenants/" not in text and "_system" not in text
    weed.start()
    with HubClient(target, api_key=ADMIN, timeout=30, retries=5) as admin:
        deadline = time.monotonic() + 60
        while True:
            try:
                key = admin.create_tenant("acme").api_key
                break
            except Unavailable:
                assert time.monotonic() < deadline, "the hub never reached the store again"
                time.sleep(0.5)
    with HubClient(target, api_key=key, timeout=30, retries=3) as client:
        assert client.push(write_adapter_dir(tmp_path / "a", tiny_runtime.spec, 1), "a").version == "1"
        assert client.predict("a", ["back"])[0].served_by == "a@1"
