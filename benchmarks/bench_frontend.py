"""Front-end capacity (issue 21): what the gRPC front end itself can carry, against a real
`adapter-hub serve` on 127.0.0.1 driven by asyncio clients in other processes (grpc.aio, raw
stubs). The same script measures today's thread-pool front end and the asyncio one.

Arms:

1. tiny: a 2-layer, 32-wide random BERT (hub/engine/tiny.py) served from a local directory
   (``--backbone DIR``), so the engine is nearly free: single-text Predict/s from
   ``--procs`` processes x ``--clients`` closed-loop clients, then p50/p99 open-loop (Poisson) at
   half that rate. Aims: >= 2,000/s; p99 <= 50 ms at half. Also, from the hub's /metrics over
   the saturated phase: the engine's duty (forward seconds per second), its forwards' mean
   duration and rows, and the same forward (those rows, the same adapter) timed alone in this
   process after the server stopped: how much longer a forward takes inside the loaded server
   (the engine thread waiting for the GIL behind the front end's threads).
2. packaged: the packaged MiniLM (``--dtype``, default float32) with 64 closed-loop clients,
   one text of 8-64 tokens each, against the bare backbone in this process on the same texts and
   dtype (tokenizer + forward in batches of 32, torch's automatic threads as the server's),
   measured while no server runs. Aim: hub / bare >= 0.95.
3. file: `adapter-hub predict --file` of ``--lines`` lines on a fresh hub with every default:
   exit code, lines printed, seconds.

Every arm's generator CPU (all its processes) is reported: on 2 shared cores the load
generator competes with the server, and a generator near a core is itself the limit.

    .venv/bin/python benchmarks/bench_frontend.py --quick                # about 2 minutes
    .venv/bin/python benchmarks/bench_frontend.py --json frontend.json   # every arm, 20,000 lines
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub_process import PACKAGED, ROOT, SHIPPED, WORDS, free_port, loadavg, run_groups, serve

ARMS = ("tiny", "packaged", "file")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short phases (6 s), 2,000 lines for the file arm")
    p.add_argument("--procs", type=int, default=2, help="load generator processes (default 2)")
    p.add_argument("--clients", type=int, default=64, help="closed-loop clients per process, tiny arm (default 64)")
    p.add_argument("--packaged-clients", type=int, default=64, help="clients of the packaged arm, all processes")
    p.add_argument("--dtype", default="float32", help="dtype of the packaged arm, server and bare (default float32)")
    p.add_argument("--lines", type=int, default=0, help="lines of the file arm (default 20000; quick 2000)")
    p.add_argument("--file-timeout", type=float, default=900, help="seconds before the file arm gives up")
    p.add_argument("--duration", type=float, default=0, help="measured seconds per phase (default 15; quick 6)")
    p.add_argument("--skip", default="", help=f"comma list of arms to skip: {','.join(ARMS)}")
    p.add_argument("--json", help="also write every number to this file")
    return p.parse_args(argv)


def make_texts(count: int, low: int, high: int, seed: int) -> list[str]:
    """Texts of ``low`` to ``high`` tokens (each word is one token; [CLS]/[SEP] included)."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high) - 2)) for _ in range(count)]


def tiny_backbone(directory: Path) -> tuple[Path, Path]:
    """The tiny random backbone and a rank-8 LoRA sequence adapter for it (PEFT directory)."""
    from hub.engine.tiny import save_tiny_backbone
    from tests.helpers import make_peft_adapter

    backbone = save_tiny_backbone(directory / "backbone")
    adapter = make_peft_adapter(backbone, directory / "adapter", task_type="SEQ_CLS", num_labels=3, rank=8, seed=1)
    return backbone, adapter


def closed(target: str, adapter: str, texts: list[str], clients: int, **extra: Any) -> dict[str, Any]:
    return {"target": target, "kind": "closed", "clients": clients, "adapter": adapter, "texts": texts, **extra}


ENGINE_METRICS = re.compile(r"^adapter_hub_(forward_seconds|batch_rows)_(sum|count) (\S+)$", re.M)


def engine_metrics(port: int) -> dict[str, float]:
    """The hub's forward-seconds and batch-rows sums and counts, from its /metrics."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return {f"{m[1]}_{m[2]}": float(m[3]) for m in ENGINE_METRICS.finditer(text)}


def engine_during(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    d = {k: after[k] - before.get(k, 0.0) for k in after}
    forwards = d.get("forward_seconds_count", 0.0) or 1.0
    return {
        "duty": d.get("forward_seconds_sum", 0.0) / seconds,
        "forward_ms": 1000 * d.get("forward_seconds_sum", 0.0) / forwards,
        "rows_per_batch": d.get("batch_rows_sum", 0.0) / (d.get("batch_rows_count", 0.0) or 1.0),
    }


def arm_tiny(args: argparse.Namespace, d: float, w: float) -> dict[str, Any]:
    texts = make_texts(256, 8, 32, seed=1)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-frontend-") as tmp:
        backbone, adapter = tiny_backbone(Path(tmp))
        with serve(str(backbone), auth=False, env={"ADAPTER_HUB_METRICS_PORT": str(port)}) as served:
            with served.client() as client:
                client.push(adapter, "tiny", task="generic.sequence_classification", labels=["a", "b", "c"])
                client.predict("tiny", texts[:4])
            cpu0, metrics0 = served.status()["cpu_s"], engine_metrics(port)
            total = args.procs * args.clients
            sat = run_groups({"load": closed(served.target, "tiny", texts, total)}, w, d, {"load": args.procs})["load"]
            sat["server_cores"] = (served.status()["cpu_s"] - cpu0) / (w + d + 3)
            engine = engine_during(metrics0, engine_metrics(port), w + d)  # the clients run w + d seconds
            rate = sat["answers_per_s"] / 2
            if not rate:
                raise RuntimeError(f"no answers at saturation: {sat['codes']}")
            spec = {"target": served.target, "kind": "open", "rate": rate, "adapter": "tiny", "texts": texts}
            half = run_groups({"load": spec}, w, d, {"load": args.procs})["load"]
        engine["alone_ms"] = forward_alone(backbone, adapter, texts, max(1, round(engine["rows_per_batch"])))
    return {"saturation": sat, "half": {**half, "rate": rate}, "clients": total, "engine": engine}


def forward_alone(backbone: Path, adapter: Path, texts: list[str], rows: int, repeats: int = 50) -> float:
    """Mean ms of the engine's forward of ``rows`` single-text rows of the tiny adapter, in this
    process with nothing else running (the service built as the server builds it, no gRPC)."""
    from hub.config.settings import Settings
    from hub.serving.app import build_service
    from hub.serving.auth import Caller
    from hub.serving.types import Target
    from hub.serving.upload import UploadHeader

    with tempfile.TemporaryDirectory(prefix="bench-alone-") as tmp:
        settings = Settings(backbone=str(backbone), store=str(Path(tmp) / "store"), device="cpu", disk_cache_dir="off")
        service = build_service(settings)
        try:
            service.load_backbone()
            caller = Caller("local", admin=True)
            files = {f.name: f.read_bytes() for f in adapter.iterdir() if f.is_file()}
            header = UploadHeader(name="tiny", task="generic.sequence_classification", labels=("a", "b", "c"))
            service.upload(caller, header, files)
            plans = [service.plan_predict(caller, Target("tiny"), [text]) for text in texts[:rows]]
            batch = [row for plan in plans for row in plan.rows]
            for _ in range(5):
                service.runtime.run(batch)
            started = time.perf_counter()
            for _ in range(repeats):
                service.runtime.run(batch)
            return 1000 * (time.perf_counter() - started) / repeats
        finally:
            service.close(drain=False)


def bare_throughput(texts: list[str], dtype: str, seconds: float, batch: int = 32) -> dict[str, Any]:
    """Texts/s of tokenizer + bare packaged backbone in this process, batches of ``batch`` in order."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from hub.engine.backbone import resolve_backbone_path
    from hub.engine.precision import configure_threads

    threads = configure_threads(0)  # the server's automatic choice
    _, path = resolve_backbone_path(PACKAGED)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, dtype=getattr(torch, dtype)).eval()
    rng = random.Random(11)
    done = 0
    with torch.inference_mode():
        model(**tokenizer(texts[:batch], padding=True, return_tensors="pt"))
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            model(**tokenizer([rng.choice(texts) for _ in range(batch)], padding=True, return_tensors="pt"))
            done += batch
        elapsed = time.perf_counter() - start
    return {"texts_per_s": done / elapsed, "torch_threads": threads}


def arm_packaged(args: argparse.Namespace, d: float, w: float) -> dict[str, Any]:
    texts = make_texts(256, 8, 64, seed=1)
    with serve(PACKAGED, auth=False, env={"ADAPTER_HUB_DTYPE": args.dtype}) as served:
        with served.client() as client:
            client.push(SHIPPED / "finance-tweet-sentiment", "sentiment")
            client.predict("sentiment", texts[:32])
        spec = closed(served.target, "sentiment", texts, args.packaged_clients)
        hub = run_groups({"load": spec}, w, d, {"load": args.procs})["load"]
    bare = bare_throughput(texts, args.dtype, d)
    return {"hub": hub, "bare": bare, "ratio": hub["answers_per_s"] / bare["texts_per_s"]}


def arm_file(args: argparse.Namespace) -> dict[str, Any]:
    lines = args.lines or (2000 if args.quick else 20000)
    texts = make_texts(lines, 8, 40, seed=5)
    with tempfile.TemporaryDirectory(prefix="bench-file-") as tmp, serve(PACKAGED, auth=False) as served:
        with served.client() as client:
            client.push(SHIPPED / "finance-tweet-sentiment", "sentiment")
        path = Path(tmp) / "lines.txt"
        path.write_text("\n".join(texts) + "\n")
        argv = [sys.executable, "-m", "hub.cli.main", "predict", "--target", served.target,
                "--adapter", "sentiment", "--file", str(path), "--json"]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("ADAPTER_HUB_")}
        started = time.perf_counter()
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=args.file_timeout, cwd=ROOT, env=env, check=False
            )
            code, out, err = done.returncode, done.stdout, done.stderr
        except subprocess.TimeoutExpired as exc:
            code, out, err = None, _text(exc.stdout), _text(exc.stderr)
        seconds = time.perf_counter() - started
    numbers = [json.loads(line)["line"] for line in out.splitlines() if line.startswith("{")]
    in_order = numbers == sorted(numbers)
    return {"lines": lines, "exit_code": code, "printed": len(numbers), "in_order": in_order, "seconds": seconds,
            "stderr_tail": err.strip().splitlines()[-1:] if err.strip() else [],
            "errors": dict(Counter(m[1] for m in re.finditer(r"^error: ([A-Z_]+)", err, re.M)))}  # fmt: skip


def _text(raw: bytes | str | None) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else (raw or "")


def report(out: dict[str, Any], args: argparse.Namespace) -> list[str]:
    lines = ["| measure | value | aim |", "|---|---:|---|"]
    if "tiny" in out:
        s, h, e = out["tiny"]["saturation"], out["tiny"]["half"], out["tiny"]["engine"]
        lines += [
            f"| tiny backbone, {out['tiny']['clients']} closed-loop clients ({args.procs} processes): Predict/s | "
            f"{s['answers_per_s']:.0f} | >= 2,000 |",
            f"|   p50 / p99 (ms), codes | {s['p50_ms']:.1f} / {s['p99_ms']:.1f}, {_codes(s)} | |",
            f"|   generator cores / server cores | {s['generator_cores']:.2f} / {s['server_cores']:.2f} | |",
            f"|   engine duty (forward s per s) / rows per forward | {e['duty']:.2f} / {e['rows_per_batch']:.1f} | |",
            f"|   forward ms in the server / the same forward alone | {e['forward_ms']:.1f} / {e['alone_ms']:.1f} "
            f"({e['forward_ms'] / e['alone_ms']:.1f}x) | |",
            f"| tiny, open loop at half ({h['rate']:.0f}/s): p50 / p99 (ms) | {h['p50_ms']:.1f} / {h['p99_ms']:.1f} "
            f"| p99 <= 50 ms |",
            f"|   answered/s, codes, generator cores | {h['answers_per_s']:.0f}, {_codes(h)}, "
            f"{h['generator_cores']:.2f} | |",
        ]
    if "packaged" in out:
        p = out["packaged"]
        lines += [
            f"| packaged ({args.dtype}), {args.packaged_clients} clients: texts/s | "
            f"{p['hub']['answers_per_s']:.1f} | |",
            f"|   p50 / p99 (ms), codes | {p['hub']['p50_ms']:.0f} / {p['hub']['p99_ms']:.0f}, {_codes(p['hub'])} | |",
            f"|   bare backbone in-process, batch 32 ({p['bare']['torch_threads']} torch threads): texts/s | "
            f"{p['bare']['texts_per_s']:.1f} | |",
            f"|   hub / bare | **{p['ratio']:.3f}** | >= 0.95 |",
            f"|   generator cores | {p['hub']['generator_cores']:.2f} | |",
        ]
    if "file" in out:
        f = out["file"]
        lines.append(f"| `predict --file` of {f['lines']:,} lines, fresh hub, defaults: exit code, lines answered, "
                     f"in order, s | {f['exit_code']}, {f['printed']:,}, {f['in_order']}, {f['seconds']:.0f} | "
                     "exit 0, all lines |")  # fmt: skip
        if f.get("errors"):
            lines.append(f"|   errors on stderr (chunks refused) | {f['errors']} | |")
        if f["exit_code"] != 0 and f["stderr_tail"]:
            lines.append(f"|   its last error line | {f['stderr_tail'][0][:160]} | |")
    return lines


def _codes(g: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(g["codes"].items()))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    d = args.duration or (6.0 if args.quick else 15.0)
    w = 2.0 if args.quick else 3.0
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    out: dict[str, Any] = {"load_start": loadavg(), "cpus": os.cpu_count(), "args": vars(args)}
    started = time.perf_counter()
    print(f"## bench_frontend\n\nload average at start: {out['load_start']} ({os.cpu_count()} CPUs)", flush=True)
    for name, arm in (("tiny", arm_tiny), ("packaged", arm_packaged)):
        if name not in skip:
            out[name] = arm(args, d, w)
            out[f"load_after_{name}"] = loadavg()
            print(f"({name}: done, load average {loadavg()})", file=sys.stderr, flush=True)
    if "file" not in skip:
        out["file"] = arm_file(args)
        out["load_after_file"] = loadavg()
    print("\n" + "\n".join(report(out, args)))
    out["seconds"] = time.perf_counter() - started
    out["load_end"] = loadavg()
    print(f"\n(total {out['seconds']:.0f} s; load average {out['load_start']} at start, {out['load_end']} at end)")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
