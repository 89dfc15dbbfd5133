"""The ceiling of a Python grpc.aio front end on this machine (issue 21, capacity): what the
hub's own InferenceService.Predict contract carries when the server does NOTHING but answer.

Arms, one after the other in one run, each driven by the same load generator as
bench_frontend.py (``--procs`` processes x ``--clients`` closed-loop single-text clients):

- ``echo xN``: N server processes (``--servers``, e.g. 1,2) sharing one port (SO_REUSEPORT,
  grpc's default on Linux), each a bare ``grpc.aio`` server whose Predict returns a canned
  one-label PredictResponse: no authentication, no metrics, no engine. One process is the most
  any single-process asyncio front end can reach here, whatever it does per call.
- ``hub``: the hub itself (`adapter-hub serve`, the tiny random backbone of bench_frontend.py).

Reported: answers/s, p50/p99, the servers' cores, and the hub's rate as a share of one echo
process (same run).

    .venv/bin/python benchmarks/bench_grpc_ceiling.py                 # about 1.5 minutes
    .venv/bin/python benchmarks/bench_grpc_ceiling.py --servers 1,2,3 --skip-hub
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub_process import ROOT, free_port, loadavg, proc_status, run_groups, serve


def echo_server(port: int) -> None:
    """A bare grpc.aio InferenceService whose Predict answers at once (run as a subprocess)."""
    import grpc

    from hub.api.v1 import inference_pb2, inference_pb2_grpc

    answer = inference_pb2.PredictResponse(
        adapter="tiny", version="1", task="generic.sequence_classification", predictions=[inference_pb2.Prediction()]
    )

    class Echo(inference_pb2_grpc.InferenceServiceServicer):
        async def Predict(self, request: Any, context: Any) -> Any:
            return answer

    async def main() -> None:
        server = grpc.aio.server(options=[("grpc.so_reuseport", 1)])
        inference_pb2_grpc.add_InferenceServiceServicer_to_server(Echo(), server)
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        await server.wait_for_termination()

    asyncio.run(main())


def closed(target: str, texts: list[str], clients: int) -> dict[str, Any]:
    return {"target": target, "kind": "closed", "clients": clients, "adapter": "tiny", "texts": texts}


def arm_echo(args: argparse.Namespace, servers: int, texts: list[str]) -> dict[str, Any]:
    port = free_port()
    here = str(Path(__file__).parent)
    code = f"import sys; sys.path.insert(0, {here!r}); import bench_grpc_ceiling as b; b.echo_server({port})"
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT) for _ in range(servers)]
    try:
        time.sleep(3)  # import grpc, bind
        cpu0 = sum(proc_status(p.pid)["cpu_s"] for p in procs)
        spec = closed(f"127.0.0.1:{port}", texts, args.procs * args.clients)
        out = run_groups({"load": spec}, args.warmup, args.duration, {"load": args.procs})["load"]
        out["server_cores"] = (sum(proc_status(p.pid)["cpu_s"] for p in procs) - cpu0) / (args.warmup + args.duration)
        return out
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)


def arm_hub(args: argparse.Namespace, texts: list[str]) -> dict[str, Any]:
    from bench_frontend import tiny_backbone

    with tempfile.TemporaryDirectory(prefix="bench-ceiling-") as tmp:
        backbone, adapter = tiny_backbone(Path(tmp))
        with serve(str(backbone), auth=False) as served:
            with served.client() as client:
                client.push(adapter, "tiny", task="generic.sequence_classification", labels=["a", "b", "c"])
                client.predict("tiny", texts[:4])
            cpu0 = served.status()["cpu_s"]
            spec = closed(served.target, texts, args.procs * args.clients)
            out = run_groups({"load": spec}, args.warmup, args.duration, {"load": args.procs})["load"]
            out["server_cores"] = (served.status()["cpu_s"] - cpu0) / (args.warmup + args.duration)
            return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--servers", default="1,2", help="echo arms: server processes each (default 1,2)")
    p.add_argument("--procs", type=int, default=2, help="load generator processes (default 2)")
    p.add_argument("--clients", type=int, default=64, help="closed-loop clients per process (default 64)")
    p.add_argument("--duration", type=float, default=8.0, help="measured seconds per arm (default 8)")
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--skip-hub", action="store_true", help="the echo arms only")
    args = p.parse_args(argv)
    from bench_frontend import make_texts

    texts = make_texts(256, 8, 32, seed=1)
    print(f"load average at start: {loadavg()} ({os.cpu_count()} CPUs)", flush=True)
    rows: list[tuple[str, dict[str, Any]]] = []
    for count in (int(c) for c in args.servers.split(",") if c.strip()):
        rows.append((f"echo x{count}", arm_echo(args, count, texts)))
    if not args.skip_hub:
        rows.append(("hub (tiny backbone)", arm_hub(args, texts)))
    one = next((r for name, r in rows if name == "echo x1"), None)
    print(f"\n| server ({args.procs * args.clients} closed-loop clients) | answers/s | p50 / p99 ms | server cores "
          "| generator cores | vs echo x1 |\n|---|---:|---:|---:|---:|---:|")  # fmt: skip
    for name, r in rows:
        share = f"{r['answers_per_s'] / one['answers_per_s']:.2f}" if one and one["answers_per_s"] else "-"
        print(f"| {name} | {r['answers_per_s']:.0f} | {r['p50_ms']:.1f} / {r['p99_ms']:.1f} | "
              f"{r['server_cores']:.2f} | {r['generator_cores']:.2f} | {share} |")  # fmt: skip
    print(f"\n(load average at end: {loadavg()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
