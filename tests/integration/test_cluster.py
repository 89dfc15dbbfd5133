"""The hub on Ray Serve: `adapter-hub cluster up` with 2 replicas on a tiny backbone, every RPC
through Serve's gRPC proxy, routing by adapter, mixed batches, every replica's metrics, probes and
request log, overload, a 20 MiB upload answered by both replicas, a killed replica, and a drain
(`cluster scale` 2 -> 1).

One cluster for the module (Ray and two replicas take ~30 s to start); the tests that kill a
replica and scale the cluster down run last, in that order. Needs the `ray` extra (skipped
without it).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from adapter_hub_client import HubClient
from adapter_hub_client.errors import NotFound, ResourceExhausted, Unauthenticated
from prometheus_client.parser import text_string_to_metric_families

from tests.fixtures.hub import StartHub
from tests.helpers import make_peft_adapter

pytest.importorskip("ray.serve", reason="the cluster needs the ray extra: pip install 'adapter-hub[ray]'")
pytestmark = [pytest.mark.integration, pytest.mark.ray]

CLI = [sys.executable, "-m", "hub.cli.main"]
ADMIN = "cluster-admin-key"
REPORT_EVERY_S = 1.0  # hub/cluster/directory.py: how often replicas report
SEQ = "generic.sequence_classification"
LABELS = ["negative", "neutral", "positive"]
ADAPTERS = 8
TEXTS = ["the service was quick and friendly", "a dreadful, slow afternoon"]


@dataclass
class Cluster:
    target: str
    state_dir: Path
    store: Path
    tenant_key: str
    adapters: dict[str, Path]

    def client(self, key: str | None = None, retries: int = 0) -> HubClient:
        return HubClient(self.target, api_key=key or self.tenant_key, timeout=60, retries=retries)

    def status(self, fresh: bool = False) -> list[dict]:
        """The replicas as `cluster status --json` shows them; ``fresh``: reported after now."""
        asked, command = time.time(), [*CLI, "cluster", "status", "--json", "--state-dir", str(self.state_dir)]
        while True:
            out = subprocess.run(command, capture_output=True, text=True)
            assert out.returncode == 0, out.stderr
            published = json.loads(out.stdout)
            if not fresh or published["updated"] > asked + 2 * REPORT_EVERY_S:
                return published["replicas"]
            time.sleep(0.5)

    def wait_status(self, check, timeout: float = 30) -> list[dict]:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while True:
            replicas = self.status()
            if check(replicas) or time.monotonic() > deadline:
                return replicas
            time.sleep(0.5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, tiny_backbone_dir: Path) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("cluster")
    adapters = {
        f"a{i}": make_peft_adapter(tiny_backbone_dir, root / f"a{i}", task_type="SEQ_CLS", num_labels=3, rank=4, seed=i)
        for i in range(ADAPTERS)
    }
    state_dir, store, port = root / "state", root / "store", free_port()
    up = [
        *CLI, "cluster", "up", "--replicas", "2", "--port", str(port), "--state-dir", str(state_dir),
        "--store", str(store), "--backbone", str(tiny_backbone_dir), "--disk-cache-dir", str(root / "disk"),
        "--auth", "on", "--torch-threads", "1", "--max-ongoing", "8", "--max-queued", "16",
        "--models-per-replica", "16", "--max-adapter-rank", "8192", "--log-format", "json", "--wait", "300",
    ]  # fmt: skip
    env = {**os.environ, "ADAPTER_HUB_ADMIN_KEY": ADMIN}
    started = subprocess.run(up, env=env, capture_output=True, text=True)
    try:
        assert started.returncode == 0, started.stderr
        target = f"127.0.0.1:{port}"
        with HubClient(target, api_key=ADMIN, timeout=60) as admin:
            key = admin.create_tenant("acme").api_key
        with HubClient(target, api_key=key, timeout=60) as tenant:
            for name, directory in adapters.items():
                tenant.push(directory, name, task=SEQ, labels=LABELS)
        yield Cluster(target, state_dir, store, key, adapters)
    finally:
        down = subprocess.run([*CLI, "cluster", "down", "--state-dir", str(state_dir)], capture_output=True, text=True)
        assert down.returncode == 0, down.stderr
        assert json.loads((state_dir / "state.json").read_text())["phase"] == "stopped"


def test_every_rpc_works_through_the_proxy(cluster: Cluster) -> None:
    with cluster.client(ADMIN) as admin, cluster.client() as c:
        assert admin.server_info().auth_enabled
        assert any(t.name == SEQ for t in c.list_tasks())
        assert c.list_plugins().plugins
        assert "acme" in {t.tenant for t in admin.list_tenants()}
        admin.set_tenant_limits("acme", weight=2.0)
        assert c.queue_status().scheduler == "fair"
        assert {a.name for a in c.list_adapters()} >= set(cluster.adapters)
        assert c.get_adapter("a0").version == "1"
        assert c.set_alias("a0", "1", "prod").version == "1"
        assert c.predict("a0@prod", TEXTS)[0].adapter == "a0"
        assert [p.adapter for p in c.fan_out(TEXTS[0], ["a1", "a2"])] == ["a1", "a2"]
        stream = c.predict_stream(iter([("r1", "a1", TEXTS, ""), ("r2", "missing", TEXTS, "")]))
        answers = list(stream)
        assert stream.request_id and int(stream.ratelimit["x-queue-limit-requests"]) >= 1  # the stream's trailers
        by_id = {a.request_id: a for a in answers}
        assert by_id["r1"].error is None and len(by_id["r1"].predictions) == 2
        assert isinstance(by_id["r2"].error, NotFound)  # a request's own failure, the stream goes on
        assert c.pin("a3").adapter.pinned
        assert not c.unpin("a3").adapter.pinned
        assert "device" in c.load("a3").adapter.tiers
        assert "device" not in c.unload("a3").adapter.tiers
        assert c.residency_status().tiers
        temporary = c.push(cluster.adapters["a0"], "scratch", task=SEQ, labels=LABELS)
        assert c.delete_adapter(f"scratch@{temporary.version}")
        assert admin.create_tenant("short-lived").api_key
        assert admin.revoke_tenant("short-lived").tenant == "short-lived"


def test_a_multi_chunk_upload_goes_through_the_proxy(cluster: Cluster, tiny_backbone_dir: Path, tmp_path: Path) -> None:
    """An adapter of several 1 MiB chunks (rank 1024 on the tiny backbone: 1.5 MiB of weights);
    the proxy once failed to pickle the client stream's messages for the replica."""
    big = make_peft_adapter(
        tiny_backbone_dir, tmp_path / "big", task_type="SEQ_CLS", num_labels=3, rank=1024, seed=11,
        target_modules=["query", "key", "value"],
    )  # fmt: skip
    assert (big / "adapter_model.safetensors").stat().st_size > 1 << 20
    with cluster.client() as c:
        pushed = c.push(big, "big", task=SEQ, labels=LABELS)
        assert pushed.size_bytes > 1 << 20
        for _ in range(4):  # answered by whichever replica each call reaches
            assert c.predict("big", TEXTS)[0].adapter == "big"


def test_cli_client_commands_work_against_the_cluster_unchanged(cluster: Cluster) -> None:
    env = {**os.environ, "ADAPTER_HUB_TARGET": cluster.target, "ADAPTER_HUB_API_KEY": cluster.tenant_key}
    command = [*CLI, "predict", "--adapter", "a6", "--json", *TEXTS]
    out = subprocess.run(command, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    answers = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(answers) == 2 and all(a["labels"][0]["label"] in LABELS for a in answers), answers


def test_every_call_is_authenticated_by_the_replica(cluster: Cluster) -> None:
    with cluster.client("not-a-key") as stranger, pytest.raises(Unauthenticated):
        stranger.predict("a0", TEXTS)
    with cluster.client(ADMIN) as admin:
        other = admin.create_tenant("rival").api_key  # ("other" is reserved: the metrics overflow label)
    # the routing key names acme's adapter; the tenant comes from the key: rival has no a0
    with cluster.client(other) as c, pytest.raises(NotFound):
        c.predict("a0", TEXTS)


def test_answers_equal_the_single_process_server(cluster: Cluster, start_hub: StartHub, tiny_runtime) -> None:  # type: ignore[no-untyped-def]
    server, _ = start_hub(tiny_runtime, store=str(cluster.store), auth="on", admin_key=ADMIN)
    single = HubClient(f"127.0.0.1:{server.port}", api_key=cluster.tenant_key, timeout=60)
    with cluster.client() as c, single:
        for name in ("a4", "a5"):
            ours, theirs = c.predict(name, TEXTS), single.predict(name, TEXTS)
            for a, b in zip(ours, theirs, strict=True):
                assert [x.label for x in a.labels] == [x.label for x in b.labels]
                for x, y in zip(a.labels, b.labels, strict=True):
                    assert x.score == pytest.approx(y.score, abs=1e-5)


def test_adapters_stick_to_one_replica_and_spread_over_both(cluster: Cluster) -> None:
    placed = [f"placed{i}" for i in range(6)]  # adapters no other test has sent anywhere
    loads_before = sum(r["loads"] for r in cluster.status(fresh=True))
    with cluster.client() as c:
        for name in placed:
            c.push(cluster.adapters["a0"], name, task=SEQ, labels=LABELS)
        for name in placed:  # warm-up: one call each; Serve's routers learn where it went
            c.predict(name, TEXTS)
            time.sleep(0.5)
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(lambda i: c.predict(placed[i % len(placed)], TEXTS), range(120)))

    def all_resident(replicas: list[dict]) -> bool:
        held = {r.split("@")[0] for replica in replicas for r in replica["resident"]}
        return len(replicas) == 2 and held >= set(placed)

    replicas = cluster.wait_status(all_resident)
    assert {"id", "resident", "loads", "queued"} <= set(replicas[0])
    holders = {name: [r["id"] for r in replicas if f"{name}@1" in r["resident"]] for name in placed}
    assert all(len(ids) == 1 for ids in holders.values()), holders  # each loaded on one replica
    assert len({ids[0] for ids in holders.values()}) == 2, holders  # and they spread over both
    assert sum(r["loads"] for r in replicas) - loads_before == len(placed)  # one load each


def test_a_replica_batches_rows_of_different_adapters(cluster: Cluster) -> None:
    before = sum(r["mixed_forwards"] for r in cluster.status(fresh=True))
    with cluster.client() as c, ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: c.predict(f"a{i % ADAPTERS}", TEXTS * 4), range(200)))
    replicas = cluster.wait_status(lambda rs: sum(r["mixed_forwards"] for r in rs) > before)
    assert sum(r["mixed_forwards"] for r in replicas) > before, replicas


def http_get(address: str, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://{address}{path}", timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def tenant_calls(address: str, tenant: str = "acme") -> float:
    """The tenant's calls a replica counted (adapter_hub_tenant_request_seconds_count)."""
    code, body = http_get(address, "/metrics")
    assert code == 200
    return sum(
        sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if sample.name == "adapter_hub_tenant_request_seconds_count" and sample.labels.get("tenant") == tenant
    )


def replica_log_lines(logs: list[Path]) -> list[dict]:
    """The JSON lines of the replicas' logs: Ray's worker-*.err files, and the cluster's log
    (where Ray forwards them, prefixed with the replica's name in colour)."""
    lines = []
    text = "\n".join(log.read_text(errors="replace") for log in logs if log.is_file())
    for line in text.splitlines():
        start, end = line.find("{"), line.rfind("}")
        if 0 <= start < end:
            try:
                lines.append(json.loads(line[start : end + 1]))
            except ValueError:
                continue
    return lines


def test_every_replica_is_scraped_probed_and_logs_its_requests(cluster: Cluster) -> None:
    """Each replica serves /metrics, /livez and /readyz on its own port, named in `cluster status`
    and in the Prometheus target list; together they count every call; each call's JSON log line
    (its request id the one the client got back) reaches the cluster's log."""
    replicas = cluster.wait_status(lambda rs: len(rs) == 2 and all(r["ready"] for r in rs))
    addresses = [r["metrics"] for r in replicas]
    assert len(replicas) == 2 and len(set(addresses)) == 2, replicas
    for address in addresses:
        assert http_get(address, "/livez")[0] == 200 and http_get(address, "/readyz")[0] == 200
        assert http_get(address, "/healthz")[0] == 404  # a probe on a wrong path fails
        assert "adapter_hub_ready 1.0" in http_get(address, "/metrics")[1]
    targets = json.loads((cluster.state_dir / "prometheus.json").read_text())
    assert {(t["targets"][0], t["labels"]["replica"]) for t in targets} == {(r["metrics"], r["id"]) for r in replicas}
    before = [tenant_calls(a) for a in addresses]
    calls = 24
    with cluster.client() as c:
        ids = [c.predict(f"a{i % ADAPTERS}", TEXTS).request_id for i in range(calls)]
    assert all(ids) and len(set(ids)) == calls, ids  # the request id comes back through the proxy
    after = [tenant_calls(a) for a in addresses]
    assert sum(after) - sum(before) == calls
    assert all(a > 0 for a in after)  # both replicas answered acme (the routing test spread its adapters)
    logs_dir = Path(json.loads((cluster.state_dir / "state.json").read_text())["logs"])
    deadline, logged = time.monotonic() + 30, {}
    while time.monotonic() < deadline and set(logged) < set(ids):
        logs = [cluster.state_dir / "cluster.log", *logs_dir.glob("worker-*.err")]
        logged = {f["request_id"]: f for f in replica_log_lines(logs) if "request_id" in f}
        time.sleep(0.5)
    assert set(ids) <= set(logged), set(ids) - set(logged)
    assert all(logged[i]["method"] == "Predict" and logged[i]["status"] == "OK" for i in ids)
    assert all(logged[i]["tenant"] == "acme" for i in ids)


def test_overload_is_refused_with_resource_exhausted(cluster: Cluster) -> None:
    texts = ["a long sentence about the weather and the markets " * 8] * 64

    def call(i: int) -> str:
        with cluster.client() as c:
            try:
                c.predict(f"a{i % 2}", texts)
                return "ok"
            except ResourceExhausted:
                return "exhausted"

    with ThreadPoolExecutor(48) as pool:
        outcomes = list(pool.map(call, range(96)))
    assert "exhausted" in outcomes and "ok" in outcomes


def test_a_killed_replica_loses_nothing_acknowledged(cluster: Cluster, tiny_backbone_dir: Path, tmp_path: Path) -> None:
    """Calls in flight when a replica dies are retried onto the other; what was acknowledged
    stays. And a 20 MiB adapter, pushed through the proxy in 1 MiB chunks, is answered by the
    replica that loaded it and, once that one is killed, by another, from the shared store."""
    huge = make_peft_adapter(
        tiny_backbone_dir, tmp_path / "huge", task_type="SEQ_CLS", num_labels=3, rank=5632, seed=12
    )  # all linear layers at rank 5632: 20.6 MiB of weights
    assert (huge / "adapter_model.safetensors").stat().st_size > 20 << 20
    with cluster.client() as c:
        acknowledged = c.push(cluster.adapters["a1"], "late", task=SEQ, labels=LABELS)
        pushed = c.push(huge, "huge", task=SEQ, labels=LABELS)
        assert pushed.size_bytes > 20 << 20
        first = c.predict("huge", TEXTS)
    replicas = cluster.wait_status(lambda rs: any("huge@1" in r["resident"] for r in rs))
    victim = next(r for r in replicas if "huge@1" in r["resident"])  # the replica that answered
    failures: list[Exception] = []

    def call(i: int) -> None:
        with cluster.client(retries=5) as c:
            try:
                c.predict(f"a{i % ADAPTERS}", TEXTS)
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                failures.append(exc)

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(call, i) for i in range(120)]
        time.sleep(0.5)
        os.kill(victim["pid"], signal.SIGKILL)  # the replica's process dies mid-traffic
        for future in futures:
            future.result()
    assert failures == []
    with cluster.client(retries=5) as c:
        assert c.get_adapter("late").version == acknowledged.version
        assert c.predict("late", TEXTS)[0].adapter == "late"
        again = c.predict("huge", TEXTS)  # the victim is gone: another replica loads it
    for a, b in zip(first, again, strict=True):
        assert a.adapter == b.adapter == "huge" and [x.label for x in a.labels] == [x.label for x in b.labels]
        for x, y in zip(a.labels, b.labels, strict=True):
            assert x.score == pytest.approx(y.score, abs=1e-5)
    replicas = cluster.wait_status(
        lambda rs: (
            any("huge@1" in r["resident"] for r in rs if r["id"] != victim["id"])
            and len(rs) == 2
            and victim["id"] not in {r["id"] for r in rs}
        ),
        90,
    )
    assert any("huge@1" in r["resident"] for r in replicas if r["id"] != victim["id"]), replicas
    assert victim["id"] not in {r["id"] for r in replicas}  # Serve replaced it


def test_a_drained_replica_answers_its_calls_and_is_not_ready_first(cluster: Cluster) -> None:
    """`cluster scale --replicas 1` under traffic: the replica Serve stops reports not ready
    (/readyz 503, adapter_hub_ready 0) from the start of its drain, every call is answered (no
    client retries), and what was acknowledged stays."""
    replicas = cluster.wait_status(lambda rs: len(rs) == 2 and all(r["ready"] for r in rs), 90)
    assert len(replicas) == 2 and all(r["ready"] for r in replicas), replicas
    addresses = {r["id"]: r["metrics"] for r in replicas}
    seen: dict[str, set[tuple[str, int]]] = {rid: set() for rid in addresses}
    with cluster.client() as c:
        kept = c.push(cluster.adapters["a2"], "kept", task=SEQ, labels=LABELS)
    stop, failures, answered = threading.Event(), list[Exception](), list[int]()

    def probe() -> None:
        while not stop.is_set():
            for rid, address in addresses.items():
                try:
                    seen[rid].add(("readyz", http_get(address, "/readyz")[0]))
                    seen[rid].add(("ready gauge", int("adapter_hub_ready 1.0" in http_get(address, "/metrics")[1])))
                except OSError:
                    seen[rid].add(("gone", 0))
            time.sleep(0.05)

    def traffic(worker: int) -> None:
        with cluster.client() as c:  # retries=0: a call the drain dropped would fail here
            while not stop.is_set():
                try:
                    c.predict(f"a{worker % ADAPTERS}", TEXTS * 4)
                    answered.append(worker)
                except Exception as exc:  # noqa: BLE001 - collected and asserted below
                    failures.append(exc)

    threads = [threading.Thread(target=probe)] + [threading.Thread(target=traffic, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        command = [*CLI, "cluster", "scale", "--replicas", "1", "--state-dir", str(cluster.state_dir), "--wait", "120"]
        scaled = subprocess.run(command, capture_output=True, text=True)
        time.sleep(1.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert scaled.returncode == 0, scaled.stderr
    assert failures == [] and len(answered) > 10, failures[:3]
    remaining = {r["id"] for r in cluster.status(fresh=True)}
    assert len(remaining) == 1 and remaining < set(addresses)
    (gone,) = set(addresses) - remaining
    assert ("readyz", 503) in seen[gone] and ("ready gauge", 0) in seen[gone], seen
    assert ("readyz", 503) not in seen[remaining.pop()], seen
    with cluster.client() as c:
        assert c.get_adapter("kept").version == kept.version
        assert c.predict("kept", TEXTS)[0].adapter == "kept"
