"""Quick before/after of the hub's front end (issue 21), on the tiny random backbone.

    .venv/bin/python scripts/measure_front.py [--root DIR] [--seconds 8]

``--root``: a checkout whose ``hub`` package the server runs (default: this one); the clients
are always this checkout's. Starts `adapter-hub serve` (auth on, two tenants with an adapter
each) and prints, as one JSON line:

- ``quiet_p50_ms`` / ``quiet_alone_p50_ms``: a quiet tenant (one text, 5 calls/s) beside a flood
  of 128 asyncio clients of another tenant (another process) that resend at once when refused,
  and alone; ``flood_answers_per_s``, ``flood_refusals_per_s``;
- ``predict_per_s``: single-text Predict/s from 2 client processes x 64 asyncio clients;
- ``threads_idle`` / ``threads_100_streams``: the server's thread count before and with 100
  PredictStreams open that send nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
from adapter_hub_client import AsyncHubClient, HubClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.residency.conftest: the adapter files
ADMIN = "measure-admin-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return -1


async def flood(target: str, key: str, seconds: float, clients: int) -> dict[str, float]:
    answered = refused = 0
    end = time.monotonic() + seconds
    async with AsyncHubClient(target, api_key=key, retries=0, timeout=30) as hub:

        async def one() -> None:
            nonlocal answered, refused
            while time.monotonic() < end:
                try:
                    await hub.predict("a", ["flood text that ignores every hint"])
                    answered += 1
                except Exception:  # noqa: BLE001 - refused: resend at once (hostile)
                    refused += 1

        await asyncio.gather(*(one() for _ in range(clients)))
    return {"answers_per_s": answered / seconds, "refusals_per_s": refused / seconds}


async def closed_loop(target: str, key: str, seconds: float, clients: int) -> dict[str, float]:
    answered = refused = 0
    end = time.monotonic() + seconds
    async with AsyncHubClient(target, api_key=key, retries=0, timeout=30) as hub:

        async def one() -> None:
            nonlocal answered, refused
            while time.monotonic() < end:
                try:
                    await hub.predict("a", ["a single short text"])
                    answered += 1
                except Exception:  # noqa: BLE001 - refused (a queue bound): counted
                    refused += 1
                    await asyncio.sleep(0.05)

        await asyncio.gather(*(one() for _ in range(clients)))
    return {"answers_per_s": answered / seconds, "refusals_per_s": refused / seconds}


async def quiet(target: str, key: str, seconds: float) -> list[float]:
    latencies = []
    async with AsyncHubClient(target, api_key=key, retries=3, timeout=30) as hub:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.perf_counter()
            await hub.predict("a", ["the quiet tenant's one text"])
            latencies.append(1000 * (time.perf_counter() - started))
            await asyncio.sleep(0.2)
    return latencies


async def idle_streams(target: str, key: str, count: int, pid: int) -> int:
    async with AsyncHubClient(target, api_key=key, retries=0, timeout=60) as hub:
        never = asyncio.Event()

        async def nothing():  # type: ignore[no-untyped-def]
            await never.wait()
            yield None

        calls = [hub.stubs["inference"].PredictStream(nothing(), metadata=hub.config.metadata) for _ in range(count)]
        await asyncio.sleep(3)
        counted = threads(pid)
        for call in calls:
            call.cancel()
        return counted


def wait_ready(admin: HubClient, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while True:
        try:
            admin.server_info()
            return
        except Exception:  # still starting, or loading the backbone
            if time.monotonic() > end:
                raise
            time.sleep(0.5)


def child(args: argparse.Namespace) -> None:
    kind, target, key, seconds, clients = args.child
    coroutine = {"flood": flood, "load": closed_loop}[kind](target, key, float(seconds), int(clients))
    print(json.dumps(asyncio.run(coroutine)), flush=True)


def spawn(kind: str, target: str, key: str, seconds: float, clients: int) -> subprocess.Popen[str]:
    argv = [sys.executable, __file__, "--child", kind, target, key, str(seconds), str(clients)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default=str(ROOT))
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--child", nargs=5)
    args = parser.parse_args()
    if args.child:
        return child(args)
    from hub.engine.tiny import save_tiny_backbone
    from tests.residency.conftest import write_adapter_dir

    work = Path(tempfile.mkdtemp(prefix="measure-front-"))
    backbone = save_tiny_backbone(work / "tiny", 0)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": args.root, "ADAPTER_HUB_ADMIN_KEY": ADMIN, "HF_HUB_OFFLINE": "1"}
    serve = [sys.executable, "-m", "hub.cli.main", "serve", "--port", str(port), "--backbone", str(backbone),
             "--store", str(work / "store"), "--auth", "on", "--log-level", "warning"]  # fmt: skip
    server = subprocess.Popen(serve, env=env, cwd=args.root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    target = f"127.0.0.1:{port}"
    try:
        with HubClient(target, api_key=ADMIN, timeout=60, retries=20) as admin:
            wait_ready(admin)
            keys = {t: admin.create_tenant(t).api_key for t in ("flood", "quiet")}
        from hub.engine.runtime import Runtime

        spec = Runtime.load(str(backbone), device="cpu").spec
        for n, key in enumerate(keys.values()):
            with HubClient(target, api_key=key, timeout=60) as c:
                c.push(write_adapter_dir(work / f"adapter{n}", spec, n), "a")
                c.predict("a", ["warm up"])
        s = args.seconds
        alone = asyncio.run(quiet(target, keys["quiet"], s))
        flooder = spawn("flood", target, keys["flood"], s + 2, 128)
        time.sleep(1)
        beside = asyncio.run(quiet(target, keys["quiet"], s))
        flood_result = json.loads(flooder.communicate()[0])
        loads = [spawn("load", target, keys["flood"], s, 64) for _ in range(2)]
        rates = [json.loads(p.communicate()[0]) for p in loads]
        rate = sum(r["answers_per_s"] for r in rates)
        load_refused = sum(r["refusals_per_s"] for r in rates)
        idle = threads(server.pid)
        with_streams = asyncio.run(idle_streams(target, keys["flood"], 100, server.pid))
        print(json.dumps({
            "root": args.root, "quiet_alone_p50_ms": round(statistics.median(alone), 1),
            "quiet_p50_ms": round(statistics.median(beside), 1),
            "flood_answers_per_s": round(flood_result["answers_per_s"], 1),
            "flood_refusals_per_s": round(flood_result["refusals_per_s"], 1),
            "predict_per_s": round(rate, 1), "predict_refusals_per_s": round(load_refused, 1),
            "threads_idle": idle, "threads_100_streams": with_streams,
        }))  # fmt: skip
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    try:
        main()
    except grpc.RpcError as exc:
        sys.exit(f"measure_front: {exc}")
