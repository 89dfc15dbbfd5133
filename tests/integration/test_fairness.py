"""Fair, deadline-aware, bounded serving through the real gRPC server on a tiny backbone.

The engine is the real tiny runtime behind a gate: a test holds the first batch in the engine so
that the queue fills behind it in a known order, and every text that reaches the engine is
recorded (so "never reaches the engine" is checked on the rows the engine ran)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from adapter_hub_client import DeadlineExceeded, HubClient, ResourceExhausted, StreamRequest

from hub.api.v1 import common_pb2, inference_pb2
from hub.cli.main import main as cli_main
from tests.residency.conftest import write_adapter_dir

pytestmark = pytest.mark.integration
ADMIN = "fairness-admin-key"


class GatedRuntime:
    """The real runtime; each batch waits at a gate, and the texts it runs are recorded."""

    def __init__(self, runtime: Any) -> None:
        self._runtime = runtime
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.batches: list[list[str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runtime, name)

    def run(self, rows: list[Any]) -> list[Any]:
        self.batches.append([r.text for r in rows])
        self.entered.set()
        self.gate.wait(60)
        return self._runtime.run(rows)

    @property
    def ran(self) -> list[str]:
        return [text for batch in self.batches for text in batch]


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "the server did not reach the expected state"
        time.sleep(0.01)


def code_of(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def hint_ms(error: grpc.RpcError) -> int:
    assert isinstance(error, ResourceExhausted) and error.retry_after_s is not None
    return round(error.retry_after_s * 1000)


@pytest.fixture
def hub(start_hub, tiny_runtime, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A keyed hub on the gated tiny runtime; ``hub(**settings)`` starts it, with tenants
    flood, quiet and warm, each with an adapter ``a``."""
    opened: list[HubClient] = []

    def start(**settings: Any) -> dict[str, Any]:
        engine = GatedRuntime(tiny_runtime)
        server, _ = start_hub(engine, auth="on", admin_key=ADMIN, max_batch_wait_ms=0, **settings)
        target = f"127.0.0.1:{server.port}"

        def client(key: str | None, **options: Any) -> HubClient:
            opened.append(HubClient(target, api_key=key, **{"timeout": 60, "retries": 0, **options}))
            return opened[-1]

        admin = client(ADMIN)
        keys = {name: admin.create_tenant(name).api_key for name in ("flood", "quiet", "warm")}
        tenants = {name: client(key) for name, key in keys.items()}
        for seed, c in enumerate(tenants.values()):
            c.push(write_adapter_dir(tmp_path / f"adapter{seed}", tiny_runtime.spec, seed), "a")
        engine.batches.clear()
        return {"server": server, "engine": engine, "admin": admin, "keys": keys, "client": client,
                "target": target, **tenants}  # fmt: skip

    yield start
    for c in opened:
        c.close()


def hold(h: dict[str, Any]) -> threading.Thread:
    """Occupy the engine with one batch (the warm tenant's) until ``h["engine"].gate`` opens."""
    engine = h["engine"]
    engine.gate.clear()
    engine.entered.clear()
    worker = threading.Thread(target=h["warm"].predict, args=("a", ["warm up"]))
    worker.start()
    assert engine.entered.wait(30)
    return worker


def queued(h: dict[str, Any], tenant: str) -> int:
    rows = {t.tenant: t for t in h["server"].service.batcher.tenant_stats()}
    return rows[tenant].queued_requests if tenant in rows else 0


def send(client: HubClient, texts: list[str], timeout: float = 60) -> grpc.Future:
    request = inference_pb2.PredictRequest(adapter=common_pb2.AdapterRef(name="a"), texts=texts)
    return client.stubs["inference"].Predict.future(request, timeout=timeout, metadata=client.config.metadata)


@pytest.mark.parametrize(("scheduler", "fair"), [("fair", True), ("fifo", False)])
def test_a_quiet_tenant_is_served_ahead_of_another_tenants_backlog(hub, scheduler: str, fair: bool) -> None:  # type: ignore[no-untyped-def]
    h = hub(scheduler=scheduler, max_batch_size=4)
    worker = hold(h)
    batcher = h["server"].service.batcher
    flood = []
    for i in range(6):
        flood.append(send(h["flood"], [f"flood {i} {j}" for j in range(4)]))
        wait_until(lambda i=i: batcher.queued == 4 * (i + 1))  # rows waiting: arrival order is known
    quiet = send(h["quiet"], ["quiet one"])
    wait_until(lambda: batcher.queued == 25)
    h["engine"].gate.set()
    assert quiet.result(60).predictions and all(f.result(60).predictions for f in flood)
    worker.join(30)
    position = next(i for i, batch in enumerate(h["engine"].batches) if "quiet one" in batch)
    # fair: the first batch after the one in progress; fifo: behind all 24 flood rows
    assert position == (1 if fair else 7)


def test_expired_and_cancelled_requests_never_reach_the_engine(hub) -> None:  # type: ignore[no-untyped-def]
    h = hub()
    worker = hold(h)
    impatient = h["client"](h["keys"]["flood"], timeout=0.5)
    error = code_of(lambda: impatient.predict("a", ["expires in the queue"]))
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    cancelled = send(h["quiet"], ["cancelled by its caller"])
    wait_until(lambda: queued(h, "quiet") == 1)
    cancelled.cancel()
    wait_until(lambda: queued(h, "quiet") == 0 and queued(h, "flood") == 0)
    stream = h["quiet"].predict_stream([StreamRequest("s1", "a", ["stream timeout"], timeout_s=0.2)])
    answer = next(iter(stream))
    assert isinstance(answer.error, DeadlineExceeded)
    h["engine"].gate.set()
    worker.join(30)
    assert h["quiet"].predict("a", ["after the gate"])
    ran = h["engine"].ran
    assert "after the gate" in ran
    assert not {"expires in the queue", "cancelled by its caller", "stream timeout"} & set(ran)
    refusals = {t.tenant: dict(t.refusals) for t in h["admin"].queue_status().tenants}
    assert refusals["flood"].get("expired", 0) + refusals["flood"].get("cancelled", 0) == 1
    assert refusals["quiet"].get("cancelled", 0) == 1
    assert refusals["quiet"].get("expired", 0) + refusals["quiet"].get("cancelled", 0) == 2


def test_a_full_queue_refuses_at_once_with_the_limit_and_a_retry_hint(hub) -> None:  # type: ignore[no-untyped-def]
    h = hub(tenant_queue_max_requests=2, queue_wait_s=0)  # 0: refused at once, no waiting room
    worker = hold(h)
    admitted = [send(h["flood"], [f"queued {i}"]) for i in range(2)]
    wait_until(lambda: queued(h, "flood") == 2)
    error = code_of(lambda: h["flood"].predict("a", ["one too many"]))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "this tenant's share of the queue holds 2 of at most 2 requests" in error.details()
    assert hint_ms(error) >= 1
    # a stream's request is not refused: it waits for room (flow control), then is answered
    streamed: list[Any] = []
    stream = h["flood"].predict_stream(iter([("r1", "a", ["streamed"], "")]))
    reader = threading.Thread(target=lambda: streamed.extend(stream))
    reader.start()
    other = send(h["quiet"], ["another tenant still gets in"])
    wait_until(lambda: queued(h, "quiet") == 1)
    assert not streamed and queued(h, "flood") == 2  # still waiting outside the queue
    h["engine"].gate.set()
    assert all(f.result(60).predictions for f in [*admitted, other])
    reader.join(60)
    assert [(item.request_id, item.error) for item in streamed] == [("r1", None)]
    worker.join(30)
    assert "one too many" not in h["engine"].ran and "streamed" in h["engine"].ran


def refusals_of(h: dict[str, Any], tenant: str) -> dict[str, int]:
    return {t.tenant: dict(t.refusals) for t in h["admin"].queue_status().tenants}.get(tenant, {})


def test_a_call_over_its_share_waits_for_room_instead_of_being_refused(hub) -> None:  # type: ignore[no-untyped-def]
    """The default (queue_wait_s 10): a client that would resend at once has nothing to resend."""
    h = hub(tenant_queue_max_requests=2)
    worker = hold(h)
    admitted = [send(h["flood"], [f"queued {i}"]) for i in range(2)]
    wait_until(lambda: queued(h, "flood") == 2)
    waiting = [send(h["flood"], [f"waits {i}"]) for i in range(3)]
    wait_until(lambda: h["server"].front.rooms.waiting == 3)
    quiet = send(h["quiet"], ["within its own share"])
    wait_until(lambda: queued(h, "quiet") == 1)  # the room holds only the flood's calls
    assert not any(f.done() for f in waiting) and queued(h, "flood") == 2
    h["engine"].gate.set()
    assert all(f.result(60).predictions for f in [*admitted, *waiting, quiet])
    worker.join(30)
    assert h["server"].front.rooms.waiting == 0
    ran = h["engine"].ran
    # all of them (in arrival order at each check; tokenized in parallel, neighbours may swap)
    assert sorted(t for t in ran if t.startswith("waits")) == ["waits 0", "waits 1", "waits 2"]
    assert not any(refusals_of(h, "flood").values())  # waited out: nothing counted as refused


def test_a_waiting_call_is_refused_once_when_its_wait_or_deadline_ends(hub) -> None:  # type: ignore[no-untyped-def]
    h = hub(tenant_queue_max_requests=1, queue_wait_s=0.5)
    worker = hold(h)
    admitted = send(h["flood"], ["queued"])
    wait_until(lambda: queued(h, "flood") == 1)
    error = code_of(lambda: h["flood"].predict("a", ["gives up"]))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and hint_ms(error) >= 1
    impatient = h["client"](h["keys"]["flood"], timeout=0.3)  # its deadline ends its wait first
    assert code_of(lambda: impatient.predict("a", ["too late"])).code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert refusals_of(h, "flood").get("tenant_queued_requests") == 1  # one refusal per call, not per try
    h["engine"].gate.set()
    assert admitted.result(60).predictions
    worker.join(30)
    assert h["server"].front.rooms.waiting == 0
    assert not {"gives up", "too late"} & set(h["engine"].ran)


def test_calls_over_a_rate_limit_are_paced_not_refused(hub) -> None:  # type: ignore[no-untyped-def]
    h = hub()
    h["admin"].set_tenant_limits("flood", rps=2)
    futures = [send(h["flood"], [f"paced {i}"]) for i in range(4)]  # twice what a second allows
    assert all(f.result(60).predictions for f in futures)
    assert not refusals_of(h, "flood").get("rate_requests_per_s")


def test_a_rate_limit_refuses_with_a_hint_and_the_cli_retries_after_it(hub, capsys) -> None:  # type: ignore[no-untyped-def]
    h = hub(queue_wait_s=0)
    info = h["admin"].set_tenant_limits("flood", rps=1)
    assert (info.weight, info.rps, info.tps) == (1.0, 1.0, 0.0)
    assert h["flood"].predict("a", ["first"])
    error = code_of(lambda: h["flood"].predict("a", ["second"]))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "1 requests per second" in error.details() and 1 <= hint_ms(error) <= 1000
    common = ["--target", h["target"], "--api-key", h["keys"]["flood"], "--json"]
    capsys.readouterr()
    assert cli_main(["predict", "--adapter", "a", "--retries", "0", *common, "refused"]) != 0
    assert "RESOURCE_EXHAUSTED" in capsys.readouterr().err
    # without the hint the CLI's own backoff (50 + 100 ms) would retry too soon and be refused again
    assert cli_main(["predict", "--adapter", "a", "--retries", "2", *common, "retried"]) == 0
    assert "retried" in h["engine"].ran
    status = {t.tenant: dict(t.refusals) for t in h["admin"].queue_status().tenants}
    assert status["flood"]["rate_requests_per_s"] >= 2


def test_drain_finishes_admitted_work_and_refuses_new_work(hub) -> None:  # type: ignore[no-untyped-def]
    h = hub(tenant_queue_max_requests=3)
    server = h["server"]
    worker = hold(h)
    admitted = [send(h["flood"], [f"admitted {i}"]) for i in range(3)]
    wait_until(lambda: queued(h, "flood") == 3)
    waiting = [send(h["flood"], [f"waiting {i}"]) for i in range(2)]  # over the share: in the room
    wait_until(lambda: server.front.rooms.waiting == 2)
    stopper = threading.Thread(target=server.stop, kwargs={"grace": 60})
    stopper.start()
    wait_until(lambda: server.service.batcher.queue.closed)
    for call in waiting:  # told at once that no room will come, not at the end of their wait
        assert call.exception(5).code() == grpc.StatusCode.UNAVAILABLE
    error = code_of(lambda: h["quiet"].predict("a", ["too late"]))
    assert error.code() == grpc.StatusCode.UNAVAILABLE and "shutting down" in error.details()
    assert not h["quiet"].serving()  # health says NOT_SERVING while draining
    h["engine"].gate.set()
    assert all(f.result(60).predictions for f in admitted)
    stopper.join(60)
    worker.join(30)
    assert not stopper.is_alive()
    assert not {"too late", "waiting 0", "waiting 1"} & set(h["engine"].ran)


@pytest.mark.parametrize(
    "limits",
    [{"weight": 0}, {"weight": -2}, {"weight": 1e9}, {"rps": 0}, {"rps": -1}, {"tps": 0}, {"tps": 1e15}],
)
def test_zero_negative_or_absurd_weights_and_limits_are_invalid(hub, limits: dict[str, float]) -> None:  # type: ignore[no-untyped-def]
    h = hub()
    error = code_of(lambda: h["admin"].set_tenant_limits("flood", **limits))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    error = code_of(lambda: h["admin"].create_tenant("newcomer", **limits))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "newcomer" not in [t.tenant for t in h["admin"].list_tenants()]


def test_only_the_operator_changes_limits_and_each_tenant_sees_its_own_queue(hub, capsys) -> None:  # type: ignore[no-untyped-def]
    h = hub()
    assert code_of(lambda: h["flood"].set_tenant_limits("flood", weight=5)).code() == grpc.StatusCode.PERMISSION_DENIED
    assert code_of(lambda: h["admin"].set_tenant_limits("ghost", weight=2)).code() == grpc.StatusCode.NOT_FOUND
    assert cli_main(["tenant", "set", "quiet", "--weight", "3", "--tps", "5000", "--target", h["target"],
                     "--api-key", ADMIN]) == 0  # fmt: skip
    assert "weight 3, 5000 tokens/s" in capsys.readouterr().out
    listed = {t.tenant: (t.weight, t.tps) for t in h["admin"].list_tenants()}
    assert listed["quiet"] == (3.0, 5000.0) and listed["flood"] == (1.0, 0.0)
    h["quiet"].predict("a", ["counted"])
    h["flood"].predict("a", ["also counted"])
    own = h["quiet"].queue_status()
    assert [t.tenant for t in own.tenants] == ["quiet"] and own.max_requests == 0
    assert own.tenants[0].weight == 3.0 and own.tenants[0].served_tokens > 0
    everyone = h["admin"].queue_status()
    assert {t.tenant for t in everyone.tenants} == {"flood", "quiet"} and everyone.max_requests > 0
    assert cli_main(["tenant", "set", "quiet", "--weight", "0", "--target", h["target"], "--api-key", ADMIN]) != 0
    assert "INVALID_ARGUMENT" in capsys.readouterr().err


def test_the_waiting_calls_show_in_the_metrics(hub) -> None:  # type: ignore[no-untyped-def]
    h = hub(tenant_queue_max_requests=1)
    worker = hold(h)
    admitted = send(h["flood"], ["queued"])
    wait_until(lambda: queued(h, "flood") == 1)
    waiting = [send(h["flood"], [f"waiting {i}"]) for i in range(2)]

    def gauge(name: str) -> float:
        text = h["server"].service.telemetry.exposition().decode()
        return float(next(line.split()[1] for line in text.splitlines() if line.startswith(name + " ")))

    wait_until(lambda: gauge("adapter_hub_waiting_calls") == 2)
    assert gauge("adapter_hub_open_calls") >= 4  # the held call, the queued one, the two waiting
    h["engine"].gate.set()
    assert all(f.result(60).predictions for f in [admitted, *waiting])
    worker.join(30)
    wait_until(lambda: gauge("adapter_hub_waiting_calls") == 0 and gauge("adapter_hub_open_calls") == 0)
