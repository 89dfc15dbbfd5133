"""Scaling out on this machine: 2 hub replicas on Ray Serve, Zipf traffic over 200 adapters,
Serve's multiplexed routing (the client sends the adapter as ``multiplexed_model_id``, as the
client library does) against Serve's plain routing (no routing key), in one run.

Each arm starts a fresh cluster (`adapter-hub cluster up`: the packaged MiniLM, a local store
shared by both replicas, device tiers that hold about a fifth of the adapters each), sends the
same request sequence from closed-loop client threads, and reads every replica's counters from
`adapter-hub cluster status --json`: device-tier loads (per adapter requested), the device
tier's hit rate, how many replicas ended up holding each adapter, and throughput.

    .venv/bin/python benchmarks/bench_cluster.py --quick          # about 4 minutes
    .venv/bin/python benchmarks/bench_cluster.py --json out.json  # about 10 minutes

``--flood``: the hostile-flood arm instead (benchmarks/cluster_flood.py): 256 hostile clients of
one tenant beside a quiet one through a 2-replica cluster, the quiet tenant's p50 in units of B,
with replicas taking 1,024 calls at once (the default) against 64 (the default before).

    .venv/bin/python benchmarks/bench_cluster.py --flood --quick  # about 3 minutes
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grpc
from serving_fixtures import artifact, make_adapter, text_of_tokens, zipf_weights
from tqdm import tqdm

from adapters_registry.registry import AdapterRegistry
from adapters_registry.storage.factory import open_store
from hub.api.v1 import common_pb2, inference_pb2, inference_pb2_grpc
from hub.engine.runtime import Runtime

BACKBONE = "packaged:all-minilm-l6-v2"
CLI = [sys.executable, "-m", "hub.cli.main"]
ARMS = "multiplexed:32,multiplexed:8,plain:32"  # routing:max-ongoing calls per replica


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer requests (1,200 per arm)")
    p.add_argument("--adapters", type=int, default=200)
    p.add_argument("--requests", type=int, default=0, help="requests per arm (default 4,000; quick 1,200)")
    p.add_argument("--clients", type=int, default=8, help="closed-loop client threads (default 8)")
    p.add_argument("--texts", type=int, default=4, help="texts per request (default 4)")
    p.add_argument("--zipf", type=float, default=1.1, help="Zipf exponent of adapter popularity (default 1.1)")
    p.add_argument("--device-share", type=float, default=0.2, help="adapters one device tier holds, as a share")
    p.add_argument(
        "--arms",
        default=ARMS,
        help="comma-separated ROUTING:MAX_ONGOING, routing multiplexed or plain; a replica at MAX_ONGOING "
        "calls makes Serve's router spill a hot adapter's calls to another replica (default %(default)s)",
    )
    p.add_argument("--json", help="also write every number to this file")
    p.add_argument("--flood", action="store_true", help="run the hostile-flood arm (benchmarks/cluster_flood.py)")
    return p.parse_args(argv)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare_store(store: Path, count: int, runtime: Runtime) -> tuple[list[str], int]:
    """``count`` rank-8 adapters published straight into the store; and one's packed size."""
    registry = AdapterRegistry(open_store(str(store)))
    names = []
    for i in tqdm(range(count), desc="adapters", unit="adapter"):
        files = make_adapter(f"z{i:03d}", runtime.spec, 5000 + i, token=False)
        registry.publish("local", files.name, artifact(files, runtime.spec))
        names.append(files.name)
    record = registry.resolve("local", names[0], "")
    packed = runtime.pack("probe", registry.read_files(record), record.manifest)
    return names, int(packed.nbytes)


def start_cluster(root: Path, store: Path, port: int, device_bytes: int, max_ongoing: int) -> Path:
    state = root / f"state-{port}"
    command = [
        *CLI, "cluster", "up", "--replicas", "2", "--port", str(port), "--state-dir", str(state),
        "--store", str(store), "--backbone", BACKBONE,
        "--device-cache-bytes", str(device_bytes), "--host-cache-bytes", str(device_bytes),
        "--torch-threads", "1", "--max-ongoing", str(max_ongoing), "--max-queued", "512",
    ]  # fmt: skip
    subprocess.run(command, check=True)
    return state


def status(state: Path) -> list[dict[str, Any]]:
    """The replicas' counters, as published after now (two report intervals)."""
    asked, command = time.time(), [*CLI, "cluster", "status", "--json", "--state-dir", str(state)]
    while True:
        out = subprocess.run(command, check=True, capture_output=True)
        published = json.loads(out.stdout)
        if published["updated"] > asked + 2.0:
            return list(published["replicas"])
        time.sleep(0.5)


def run_arm(target: str, sequence: list[str], texts: list[str], clients: int, arm: str) -> dict[str, Any]:
    route = arm.startswith("multiplexed")
    channel = grpc.insecure_channel(target)
    stub = inference_pb2_grpc.InferenceServiceStub(channel)
    latencies: list[float] = []

    def call(name: str) -> None:
        metadata = [("application", "adapter-hub")] + ([("multiplexed_model_id", name)] if route else [])
        request = inference_pb2.PredictRequest(adapter=common_pb2.AdapterRef(name=name), texts=texts)
        started = time.perf_counter()
        stub.Predict(request, metadata=metadata, timeout=300)
        latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(tqdm(pool.map(call, sequence), total=len(sequence), desc=arm))
    elapsed = time.perf_counter() - started
    channel.close()
    latencies.sort()
    return {
        "requests_per_s": len(sequence) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
    }


def summarize(replicas: list[dict[str, Any]], requested: set[str]) -> dict[str, Any]:
    loads = sum(r["loads"] for r in replicas)
    hits, misses = sum(r["hits"] for r in replicas), sum(r["misses"] for r in replicas)
    holders: dict[str, int] = {}
    for replica in replicas:
        for resident in replica["resident"]:
            holders[resident.split("@")[0]] = holders.get(resident.split("@")[0], 0) + 1
    forwards = [r["forwards"] for r in replicas]
    return {
        "busiest_share": max(forwards) / max(1, sum(forwards)),  # of all forwards, on one replica
        "loads": loads,
        "loads_per_adapter": loads / len(requested),
        "device_hit_rate": hits / max(1, hits + misses),
        "resident_on_both": sum(1 for n in holders.values() if n > 1),
        "resident_adapters": len(holders),
        "forwards": sum(r["forwards"] for r in replicas),
        "mixed_forwards": sum(r["mixed_forwards"] for r in replicas),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.flood:
        import cluster_flood

        return cluster_flood.main(args.quick, args.json)
    requests = args.requests or (1200 if args.quick else 4000)
    runtime = Runtime.load(BACKBONE, device="cpu")
    rng = random.Random(0)
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        root = Path(tmp)
        names, packed_bytes = prepare_store(root / "store", args.adapters, runtime)
        device_bytes = int(packed_bytes * args.adapters * args.device_share)
        sequence = rng.choices(names, weights=zipf_weights(len(names), args.zipf), k=requests)
        texts = [text_of_tokens(24, i) for i in range(args.texts)]
        results: dict[str, Any] = {}
        for arm in args.arms.split(","):
            port = free_port()
            state = start_cluster(root, root / "store", port, device_bytes, int(arm.partition(":")[2] or 32))
            try:
                measured = run_arm(f"127.0.0.1:{port}", sequence, texts, args.clients, arm)
                results[arm] = measured | summarize(status(state), set(sequence))
            finally:
                subprocess.run([*CLI, "cluster", "down", "--state-dir", str(state)], check=True)
    report(args, requests, packed_bytes, device_bytes, len(set(sequence)), results)
    return 0


def report(
    args: argparse.Namespace, requests: int, packed: int, device: int, distinct: int, results: dict[str, Any]
) -> None:
    arms = list(results)
    base = next((a for a in arms if a.startswith("plain")), arms[-1])
    others = [a for a in arms if a != base]
    print(
        f"\n2 replicas, {args.adapters} adapters (Zipf {args.zipf}; {distinct} requested), {requests} requests x "
        f"{args.texts} texts, {args.clients} clients; packed adapter {packed / 2**20:.2f} MiB, device tier "
        f"{device / 2**20:.0f} MiB per replica (~{args.device_share:.0%} of the adapters); ratios against {base}"
    )
    rows = ("loads", "loads_per_adapter", "device_hit_rate", "resident_on_both", "resident_adapters")
    rows += ("busiest_share", "mixed_forwards", "forwards", "requests_per_s", "p50_ms", "p99_ms")
    print(f"{'':20s}" + "".join(f"{a:>16s}" for a in arms) + "".join(f"{'ratio ' + a:>20s}" for a in others))
    for row in rows:
        values = [results[a][row] for a in arms]
        ratios = [results[a][row] / results[base][row] if results[base][row] else float("nan") for a in others]
        print(f"{row:20s}" + "".join(f"{v:16.3f}" for v in values) + "".join(f"{r:20.2f}" for r in ratios))
    if args.json:
        config = {k: v for k, v in vars(args).items() if k != "json"} | {"requests": requests}
        out = {"config": config, "packed_bytes": packed, "device_bytes": device, "results": results}
        out["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    sys.exit(main())
