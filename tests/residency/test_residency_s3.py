"""Hot swap across two servers on one SeaweedFS bucket, and serving through a storage outage."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from adapter_hub_client import HubClient

from hub.cli.main import main as cli_main
from tests.residency.conftest import write_adapter_dir

pytestmark = [pytest.mark.integration, pytest.mark.s3]
ADMIN = "residency-s3-admin"
TEXT = "shares rally after a strong quarter"


def s3_settings(weed: Any, monkeypatch: pytest.MonkeyPatch, **extra: object) -> dict[str, object]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", weed.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", weed.secret_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", weed.region)
    return {
        "store": f"s3://{weed.new_bucket('res')}/hub",
        "s3_endpoint_url": weed.endpoint_url,
        "s3_addressing_style": "path",
        "auth": "on",
        "admin_key": ADMIN,
        **extra,
    }


def scores(response: Any) -> list[float]:
    return [x.score for x in sorted(response[0].labels, key=lambda x: x.label)]


def close(a: list[float], b: list[float]) -> bool:
    return all(abs(x - y) < 1e-3 for x, y in zip(a, b, strict=True))


class Traffic:
    """Threads sending the same request in a loop, recording (when, version, scores) or the error."""

    def __init__(self, target: str, key: str, adapters: list[str]) -> None:
        self.stop = threading.Event()
        self.results: list[tuple[float, str, list[float], str]] = []  # (when, adapter, scores, version)
        self.by_thread: dict[int, list[str]] = {i: [] for i in range(len(adapters))}  # versions, in order
        self.errors: list[tuple[float, str, str]] = []
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(target, key, a, i)) for i, a in enumerate(adapters)]

    def _run(self, target: str, key: str, adapter: str, index: int) -> None:
        with HubClient(target, api_key=key, timeout=30, retries=0) as client:
            while not self.stop.is_set():
                try:
                    response = client.predict(adapter, [TEXT])
                except grpc.RpcError as exc:
                    with self._lock:
                        self.errors.append((time.monotonic(), adapter, f"{exc.code().name}: {exc.details()}"))
                    continue
                with self._lock:
                    self.results.append((time.monotonic(), adapter, scores(response), response[0].version))
                    self.by_thread[index].append(response[0].version)

    def __enter__(self) -> Traffic:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)

    def wait_for(self, condition: Any, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if condition(list(self.results)):
                    return
            time.sleep(0.05)
        raise AssertionError("traffic never reached the expected state")


def test_an_alias_move_reaches_every_server_and_no_request_sees_a_mix(
    start_hub, packaged_runtime, seaweedfs, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    settings = s3_settings(seaweedfs, monkeypatch, alias_ttl_s=1.0)
    a, _ = start_hub(packaged_runtime, **settings)
    b, _ = start_hub(packaged_runtime, **settings)  # a second server on the same bucket
    with HubClient(f"127.0.0.1:{a.port}", api_key=ADMIN, retries=0) as admin:
        key = admin.create_tenant("acme").api_key
    with HubClient(f"127.0.0.1:{a.port}", api_key=key, retries=0) as on_a:
        for seed in (1, 2):
            on_a.push(write_adapter_dir(tmp_path / f"v{seed}", packaged_runtime.spec, seed), "sent")
        on_a.set_alias("sent", "1", "prod")
        expected = {v: scores(on_a.predict(f"sent@{v}", [TEXT])) for v in ("1", "2")}
    assert not close(expected["1"], expected["2"])
    b_target = f"127.0.0.1:{b.port}"
    with HubClient(b_target, api_key=key, retries=0) as on_b:
        assert on_b.predict("sent@prod", [TEXT])[0].version == "1"

        with Traffic(b_target, key, ["sent@prod"] * 3) as traffic:
            traffic.wait_for(lambda r: len(r) >= 10)
            with HubClient(f"127.0.0.1:{a.port}", api_key=key, retries=0) as on_a:
                on_a.set_alias("sent", "2", "prod")  # moved through the OTHER server
            traffic.wait_for(lambda r: sum(v == "2" for *_, v in r) >= 10)
        assert traffic.errors == []
        versions = [v for *_, v in traffic.results]
        assert {"1", "2"} == set(versions)
        for _, _, got, version in traffic.results:  # each answer is wholly one version's
            assert close(got, expected[version]), (version, got, expected)
        for seen in traffic.by_thread.values():  # once a client got the new version, never the old again
            assert seen == sorted(seen), seen

        status = on_b.residency_status()
        old = next(r for r in status.adapters if r.version == "1")
        assert "device" not in old.tiers and "host" not in old.tiers  # the old version was released

    code = cli_main(["predict", "--adapter", "sent@prod", "--json", TEXT, "--target", b_target, "--api-key", key])
    assert code == 0
    assert [json.loads(line)["version"] for line in capsys.readouterr().out.splitlines()] == ["2"]

    with HubClient(f"127.0.0.1:{a.port}", api_key=key, retries=0) as on_a:
        on_a.delete_adapter("sent@1")
    with HubClient(b_target, api_key=key, retries=0) as on_b:
        deadline = time.monotonic() + 30
        while True:  # B learns of the deletion within alias_ttl_s, without a restart
            try:
                on_b.predict("sent@1", [TEXT])
            except grpc.RpcError as exc:
                assert exc.code() == grpc.StatusCode.NOT_FOUND
                break
            assert time.monotonic() < deadline, "the deletion never reached the second server"
            time.sleep(0.1)


def test_cached_adapters_serve_through_a_storage_outage_and_all_recovers(
    start_hub, packaged_runtime, seaweedfs_restartable, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    weed = seaweedfs_restartable
    settings = s3_settings(
        weed,
        monkeypatch,
        alias_ttl_s=0.5,
        store_breaker_failures=2,
        store_breaker_open_s=1.0,
        store_timeout_s=2.0,
        store_retries=0,
    )
    server, _ = start_hub(packaged_runtime, **settings)
    target = f"127.0.0.1:{server.port}"
    with HubClient(target, api_key=ADMIN, retries=0) as admin:
        key = admin.create_tenant("acme").api_key
    client = HubClient(target, api_key=key, timeout=30, retries=0)
    for name, seed in (("hot", 1), ("cold", 2)):
        client.push(write_adapter_dir(tmp_path / name, packaged_runtime.spec, seed), name)
    client.set_alias("hot", "1", "prod")
    assert client.predict("hot@prod", [TEXT])[0].version == "1"  # resident from here on

    with Traffic(target, key, ["hot@prod", "hot@1", "hot"]) as traffic:
        traffic.wait_for(lambda r: len(r) >= 10)
        weed.stop()
        down_at = time.monotonic()
        unavailable = []
        deadline = down_at + 30
        while time.monotonic() < down_at + 6 or not unavailable:  # past the 5 s key cache too
            assert time.monotonic() < deadline, "the breaker never opened"
            with pytest.raises(grpc.RpcError) as caught:
                client.predict("cold", [TEXT])  # never loaded: fails fast and says why
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "object store" in caught.value.details()
            if "not calling it until it recovers" in caught.value.details():
                unavailable.append(caught.value.details())
            time.sleep(0.2)
        outage = client.residency_status()
        weed.start()
        up_at = time.monotonic()
        deadline = up_at + 60
        while True:  # the store is back: the cold adapter loads, no restart
            try:
                assert client.predict("cold", [TEXT])[0].version == "1"
                break
            except grpc.RpcError as exc:
                assert exc.code() == grpc.StatusCode.UNAVAILABLE, exc.details()
                assert time.monotonic() < deadline, "never recovered"
                time.sleep(0.2)
        traffic.wait_for(lambda r: sum(t > up_at for t, *_ in r) >= 10)

    assert traffic.errors == []  # 100% of the resident adapter's requests succeeded
    during = [r for r in traffic.results if down_at < r[0] < up_at]
    assert {adapter for _, adapter, *_ in during} == {"hot@prod", "hot@1", "hot"}
    assert outage.store.breaker in ("open", "half-open") and outage.store.rejected > 0
    assert outage.stale_served > 0  # aliases and records answered from cache while the store was down
    after = client.residency_status()
    assert after.store.breaker == "closed"
    client.close()


def test_a_server_restarted_during_an_outage_serves_the_adapters_its_disk_holds(
    start_hub, packaged_runtime, seaweedfs_restartable, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    weed = seaweedfs_restartable
    settings = s3_settings(weed, monkeypatch, store_breaker_failures=2, store_timeout_s=2.0, store_retries=0)
    first, _ = start_hub(packaged_runtime, **settings)  # both servers share one disk-cache directory
    with HubClient(f"127.0.0.1:{first.port}", api_key=ADMIN, retries=0) as admin:
        key = admin.create_tenant("acme").api_key
    with HubClient(f"127.0.0.1:{first.port}", api_key=key, timeout=30, retries=0) as client:
        for name, seed in (("hot", 1), ("cold", 2)):
            client.push(write_adapter_dir(tmp_path / name, packaged_runtime.spec, seed), name)
        served = client.predict("hot", [TEXT])

    weed.stop()
    try:
        restarted, _ = start_hub(packaged_runtime, **settings)  # a fresh process: empty memory
        with HubClient(f"127.0.0.1:{restarted.port}", api_key=key, timeout=30, retries=0) as client:
            again = client.predict("hot", [TEXT])  # the key, the name and the files: all from disk
            assert again[0].version == "1" and close(scores(again), scores(served))
            with pytest.raises(grpc.RpcError) as caught:
                client.predict("cold", [TEXT])  # never loaded by any server here
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        with HubClient(
            f"127.0.0.1:{restarted.port}", api_key="ahk_0123456789abcdef_wrong", timeout=30, retries=0
        ) as stranger:
            with pytest.raises(grpc.RpcError) as caught:
                stranger.list_adapters()
            assert caught.value.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.UNAVAILABLE)
    finally:
        weed.start()
