"""The asyncio front end against clients that do not play along (issue 21): floods that ignore
retry hints, calls held open, stalled uploads, revocation, long streams, shutdown. Each test
starts the real server (tiny backbone, gated engine where the queue's state matters) and talks
gRPC through the client library or raw stubs."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from adapter_hub_client import HubClient
from grpc_health.v1 import health_pb2, health_pb2_grpc

from hub.api.v1 import adapters_pb2, common_pb2, inference_pb2
from hub.cli.main import main as cli_main
from tests.integration.test_fairness import ADMIN, code_of, hint_ms, hold, hub, queued, send, wait_until
from tests.residency.conftest import write_adapter_dir

__all__ = ["hub"]  # the fixture, shared with test_fairness
pytestmark = pytest.mark.integration
WAIT_S = 30.0


def stream_request(request_id: str, text: str) -> inference_pb2.PredictStreamRequest:
    request = inference_pb2.PredictRequest(adapter=common_pb2.AdapterRef(name="a"), texts=[text])
    return inference_pb2.PredictStreamRequest(request_id=request_id, request=request)


def held(messages: list[Any], release: threading.Event) -> Iterator[Any]:
    """A client stream that sends ``messages`` and then nothing until ``release`` is set."""
    yield from messages
    release.wait(WAIT_S)


def open_stream(client: HubClient, release: threading.Event, messages: list[Any] = ()) -> Any:  # type: ignore[assignment]
    return client.stubs["inference"].PredictStream(held(list(messages), release), metadata=client.config.metadata)


def open_upload(client: HubClient, release: threading.Event, chunks: int = 1) -> Any:
    header = adapters_pb2.UploadAdapterRequest(header=adapters_pb2.UploadHeader(name="stalled"))
    chunk = adapters_pb2.UploadAdapterRequest(chunk=adapters_pb2.FileChunk(path="adapter_config.json", data=b"{"))
    messages = [header] + [chunk] * chunks
    return client.stubs["adapters"].UploadAdapter.future(held(messages, release), metadata=client.config.metadata)


def spilled_uploads() -> int:
    """Upload spill files open in this process (the server runs in it)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += "adapter-hub-upload-" in os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
    return count


def failure_of(call: Any) -> grpc.RpcError:
    """The error that ends a streaming or future call."""
    with pytest.raises(grpc.RpcError) as caught:
        result = call.result(WAIT_S) if hasattr(call, "result") else None
        if result is None:
            list(call)
    return caught.value


@pytest.mark.parametrize("wait_s", [10.0, 0.0], ids=["waiting-room", "refused-at-once"])
def test_a_flood_that_ignores_hints_leaves_a_quiet_tenant_served_in_the_next_batch(hub, wait_s: float) -> None:  # type: ignore[no-untyped-def]
    """With the waiting room (the default) the flood's calls beyond its share wait and it has
    nothing to resend; refused at once, it resends as fast as it is refused. Either way the
    quiet tenant's call goes into the first batch after the one in progress."""
    h = hub(tenant_queue_max_requests=8, queue_wait_s=wait_s)
    worker = hold(h)
    stop, refused = threading.Event(), [0]

    def hostile(n: int) -> None:  # resend at once when refused, never honour a hint
        while not stop.is_set():
            try:
                h["flood"].predict("a", [f"flood {n}"], timeout=WAIT_S)
            except Exception:  # noqa: BLE001 - refused: resend at once
                refused[0] += 1

    flood = [threading.Thread(target=hostile, args=(n,), daemon=True) for n in range(24)]
    for thread in flood:
        thread.start()
    if wait_s:
        wait_until(lambda: queued(h, "flood") == 8 and h["server"].front.rooms.waiting == 16)
    else:
        wait_until(lambda: refused[0] > 50)  # the flood is at its share and hammering
    quiet = send(h["quiet"], ["quiet and polite"])
    wait_until(lambda: queued(h, "quiet") == 1)
    h["engine"].gate.set()
    assert quiet.result(WAIT_S).predictions  # never refused: retries=0
    assert "quiet and polite" in h["engine"].batches[1]  # the first batch after the held one
    stop.set()
    for thread in flood:
        thread.join(WAIT_S)
    worker.join(WAIT_S)
    if wait_s:
        assert refused[0] == 0


def test_a_tenant_over_its_open_call_limit_is_refused_on_arrival(hub) -> None:  # type: ignore[no-untyped-def]
    h = hub(tenant_max_open_calls=2, tenant_max_open_streams=1)
    worker = hold(h)
    admitted = [send(h["flood"], [f"open {i}"]) for i in range(2)]
    wait_until(lambda: queued(h, "flood") == 2)
    error = code_of(lambda: h["flood"].predict("a", ["third"]))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "too many open calls: this tenant holds 2 (its share is 2" in error.details() and hint_ms(error) >= 1
    error = code_of(lambda: h["flood"].server_info())  # every call counts, not only inference
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert h["quiet"].server_info().backbone_name  # another tenant is not affected
    h["engine"].gate.set()
    assert all(f.result(WAIT_S).predictions for f in admitted)
    worker.join(WAIT_S)
    release = threading.Event()
    first = open_stream(h["flood"], release)
    wait_until(lambda: h["server"].front.limits.held("flood")[1] == 1)
    second = open_stream(h["flood"], release)
    error = failure_of(second)
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "too many open streams" in error.details()
    release.set()
    assert list(first) == []


def test_idle_streams_and_stalled_uploads_of_one_tenant_leave_the_others_served(hub) -> None:  # type: ignore[no-untyped-def]
    h = hub()
    threads_before = threading.active_count()
    release = threading.Event()
    streams = [open_stream(h["flood"], release) for _ in range(30)]
    uploads = [open_upload(h["flood"], release) for _ in range(10)]
    wait_until(lambda: h["server"].front.limits.held("flood") == (40, 40))
    quiet = h["quiet"]
    assert quiet.predict("a", ["still answered"])
    assert quiet.server_info().backbone_name
    with grpc.insecure_channel(h["target"]) as channel:
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    # the server holds no thread per open call (the sync client has one per streaming call, its
    # request sender: grpc's ForkManagedThread, named "(_run)")
    server_threads = [t.name for t in threading.enumerate() if not t.name.endswith("(_run)")]
    assert len(server_threads) - threads_before < 10, sorted(server_threads)
    wait_until(lambda: spilled_uploads() == 10)  # each stalled upload holds its chunk on disk, not in memory
    release.set()
    for stream in streams:
        assert list(stream) == []
    for upload in uploads:
        assert failure_of(upload).code() == grpc.StatusCode.INVALID_ARGUMENT  # a broken adapter: refused
    wait_until(lambda: spilled_uploads() == 0)


def test_an_idle_stream_and_a_stalled_upload_end_with_a_status_naming_the_timeout(hub) -> None:  # type: ignore[no-untyped-def]
    h = hub(stream_idle_timeout_s=0.3, upload_stall_timeout_s=0.3)
    release = threading.Event()
    stream = open_stream(h["flood"], release, [stream_request("r1", "answered first")])
    answers: list[Any] = []
    with pytest.raises(grpc.RpcError) as caught:
        for answer in stream:
            answers.append(answer)
    assert [a.request_id for a in answers] == ["r1"]  # what it sent is answered, then the idle clock runs
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "stream-idle-timeout-s" in caught.value.details()
    error = failure_of(open_upload(h["flood"], release))
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "upload-stall-timeout-s" in error.details() and "nothing stored" in error.details()
    release.set()
    assert [a.name for a in h["flood"].list_adapters()] == ["a"]
    wait_until(lambda: spilled_uploads() == 0)


def test_revoking_a_tenant_ends_its_open_stream_and_discards_its_upload(hub) -> None:  # type: ignore[no-untyped-def]
    h = hub()
    release = threading.Event()
    stream = open_stream(h["flood"], release, [stream_request("r1", "before revocation")])
    answers = iter(stream)
    assert next(answers).request_id == "r1"
    upload = open_upload(h["flood"], release, chunks=2)
    wait_until(lambda: spilled_uploads() == 1)
    h["admin"].revoke_tenant("flood")
    with pytest.raises(grpc.RpcError) as caught:
        next(answers)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED and "revoked" in caught.value.details()
    error = failure_of(upload)
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    release.set()
    wait_until(lambda: spilled_uploads() == 0)
    assert [a.name for a in h["server"].service.registry.listings("flood")] == ["a"]  # nothing stored
    assert h["quiet"].predict("a", ["unaffected"])


def test_a_revocation_through_another_server_ends_open_calls_here(hub, start_hub, tiny_runtime) -> None:  # type: ignore[no-untyped-def]
    """Two hubs on one store (a cluster's replicas): revoked through the second, the tenant's
    stream open on the first ends within the watcher's second (a few seconds allowed here)."""
    h = hub()
    second, _ = start_hub(tiny_runtime, store=h["server"].service.settings.store, auth="on", admin_key=ADMIN)
    release = threading.Event()
    stream = open_stream(h["flood"], release, [stream_request("r1", "before revocation")])
    answers = iter(stream)
    assert next(answers).request_id == "r1"
    with HubClient(f"127.0.0.1:{second.port}", api_key=ADMIN, timeout=30) as elsewhere:
        elsewhere.revoke_tenant("flood")
    with pytest.raises(grpc.RpcError) as caught:
        next(answers)  # ended by the first server's watcher, not by the client
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED and "revoked" in caught.value.details()
    release.set()
    with pytest.raises(grpc.RpcError) as refused:  # and new calls there are refused too
        h["flood"].predict("a", ["after revocation"])
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert h["quiet"].predict("a", ["unaffected"])


def test_a_stream_far_beyond_its_tenants_queue_share_completes_in_order_without_refusal(hub) -> None:  # type: ignore[no-untyped-def]
    h = hub(tenant_queue_max_requests=2)
    batches = [[f"line {i}"] for i in range(60)]
    answered = list(h["flood"].predict_batches("a", batches, in_flight=16))
    assert [b.index for b in answered] == list(range(60))
    assert all(b.error is None and len(b.predictions) == 1 for b in answered)
    assert [b.texts for b in answered] == batches
    stats = {t.tenant: t for t in h["server"].service.batcher.tenant_stats()}
    assert stats["flood"].served_requests >= 60


def test_a_long_file_completes_on_a_fresh_hub_with_every_default(
    start_hub, tiny_runtime, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    server, client = start_hub(tiny_runtime)
    client.push(write_adapter_dir(tmp_path / "adapter", tiny_runtime.spec, 3), "a")
    lines = [f"tweet number {i} with a few more words to count as tokens #{i % 7}" for i in range(4000)]
    source = tmp_path / "tweets.txt"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    numbers = [n for n, _ in client.predict_file("a", source)]
    assert numbers == list(range(1, 4001))
    capsys.readouterr()
    assert cli_main(["predict", "--target", f"127.0.0.1:{server.port}", "--adapter", "a", "--file", str(source)]) == 0
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[line ")]
    assert [int(line.split()[1].rstrip("]")) for line in printed] == list(range(1, 4001))


def test_shutdown_ends_within_the_grace_with_streams_open(hub) -> None:  # type: ignore[no-untyped-def]
    h = hub()
    release = threading.Event()
    idle = open_stream(h["flood"], release, [stream_request("r1", "answered before the drain")])
    answers = iter(idle)
    assert next(answers).request_id == "r1"
    started = time.monotonic()
    h["server"].stop(grace=2)
    assert time.monotonic() - started < 3.5  # the grace, and a moment to close
    with pytest.raises(grpc.RpcError) as caught:
        next(answers)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE  # told to finish: retry elsewhere
    release.set()
