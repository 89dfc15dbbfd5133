"""Would an engine core process pay on these cores? A prototype measurement for issue 21 point 4
(nothing in hub/ uses it): the packaged backbone's batched forward (bare MiniLM, batches of 32
texts of 16-64 tokens, padded, torch's automatic threads as the hub's) run

1. ``thread``: in a thread of a process whose other threads do a synthetic front end's Python
   work (today's shape: the engine thread and the gRPC handler threads share one GIL);
2. ``process``: in its own process, fed token-id arrays over a multiprocessing pipe
   (``send_bytes`` of the int64 buffer; the pooled output, 32 x 384 float32, comes back the same
   way) by a feeder thread of the loaded process (the engine-core shape of vLLM V1 / SGLang);
3. ``alone``: in a thread of an idle process (the ceiling).

Each arm reports forwards/s and the front end's own work done per second (requests' worth of
Python) in the same seconds, and the pipe's round trip per batch with an engine that answers
at once (the IPC cost). The synthetic front end does per request what the hub's handler threads
do in Python: tokenize one text (the fast tokenizer), build a protobuf request and its answer,
frozen dataclasses of an offset map, a few dict and list operations; ``--frontend-threads``
threads do it back to back (a front end under load).

    .venv/bin/python benchmarks/bench_engine_split.py --quick   # about 1 minute
    .venv/bin/python benchmarks/bench_engine_split.py --quick --tiny --batch 20   # the tiny random backbone

``--tiny``: the 2-layer, 32-wide random BERT of hub/engine/tiny.py (bench_frontend.py's tiny arm),
whose forward is nearly all Python and torch-op overhead, so nearly all of it needs the GIL.
    .venv/bin/python benchmarks/bench_engine_split.py --json split.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

PACKAGED = "packaged:all-minilm-l6-v2"
BATCH, SEQ_MAX, HIDDEN = 32, 64, 384
WORDS = [
    "the",
    "company",
    "reported",
    "strong",
    "quarterly",
    "results",
    "and",
    "the",
    "board",
    "approved",
    "a",
    "new",
    "dividend",
    "shares",
    "fell",
    "after",
    "the",
    "central",
    "bank",
    "raised",
    "interest",
    "rates",
    "again",
    "on",
    "monday",
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="5 s per arm")
    p.add_argument("--duration", type=float, default=0, help="seconds per arm (default 12; quick 5)")
    p.add_argument("--frontend-threads", type=int, default=4, help="front-end threads (default 4)")
    p.add_argument("--batch", type=int, default=BATCH, help=f"rows per forward (default {BATCH}, the hub's)")
    p.add_argument("--rounds", type=int, default=0, help="rounds of the three arms, order rotated (default 2; quick 1)")
    p.add_argument("--tiny", action="store_true", help="the tiny random backbone instead of the packaged one")
    p.add_argument("--json", help="also write every number to this file")
    return p.parse_args(argv)


def texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(14, 62))) for _ in range(count)]


def load_model(backbone: str = PACKAGED) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModel, AutoTokenizer

    from hub.engine.backbone import resolve_backbone_path
    from hub.engine.precision import configure_threads

    configure_threads(0)
    _, path = resolve_backbone_path(backbone)
    return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path, dtype=torch.float32).eval()


def batches(tokenizer: Any, count: int, rows: int = BATCH) -> list[np.ndarray]:
    """Padded token-id arrays (int64, rows x longest), the engine's input."""
    pool = texts(rows * count, seed=3)
    out = []
    for i in range(count):
        enc = tokenizer(pool[i * rows : (i + 1) * rows], padding=True, truncation=True, max_length=SEQ_MAX)
        out.append(np.asarray(enc["input_ids"], dtype=np.int64))
    return out


def forward(model: Any, ids: np.ndarray) -> np.ndarray:
    """One batched forward; the [CLS] vectors (what a sequence head reads)."""
    import torch

    with torch.inference_mode():
        tensor = torch.from_numpy(ids)
        out = model(input_ids=tensor, attention_mask=(tensor != 0).long()).last_hidden_state[:, 0]
    return out.float().numpy()


def engine_process(conn: Any, echo: bool, backbone: str = PACKAGED) -> None:
    """The engine core: receive (rows, cols) + int64 ids, answer the pooled float32 vectors."""
    model = None if echo else load_model(backbone)[1]
    conn.send_bytes(b"ready")
    while True:
        header = conn.recv_bytes()
        if header == b"stop":
            return
        rows, cols = np.frombuffer(header, dtype=np.int64)
        ids = np.frombuffer(conn.recv_bytes(), dtype=np.int64).reshape(rows, cols)
        result = np.zeros((rows, HIDDEN), np.float32) if model is None else forward(model, ids)
        conn.send_bytes(result.tobytes())


class RemoteEngine:
    """The parent's side of the pipe: one batch in flight at a time."""

    def __init__(self, echo: bool = False, backbone: str = PACKAGED) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=engine_process, args=(child, echo, backbone), daemon=True)
        self.process.start()
        if not self.conn.poll(300):
            raise TimeoutError("the engine process did not start")
        self.conn.recv_bytes()

    def forward(self, ids: np.ndarray) -> np.ndarray:
        self.conn.send_bytes(np.asarray(ids.shape, dtype=np.int64).tobytes())
        self.conn.send_bytes(ids.tobytes())
        return np.frombuffer(self.conn.recv_bytes(), dtype=np.float32).reshape(ids.shape[0], -1)

    def close(self) -> None:
        self.conn.send_bytes(b"stop")
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()


class FrontEnd:
    """Threads doing a request handler's Python work back to back; counts requests done."""

    def __init__(self, tokenizer: Any, threads: int) -> None:
        self.tokenizer, self.count = tokenizer, threads
        self.threads: list[threading.Thread] = []
        self.stop, self.done = threading.Event(), 0
        self.error: BaseException | None = None
        self.pool = texts(512, seed=9)

    def request(self, rng: random.Random) -> None:
        from hub.api.v1 import common_pb2, inference_pb2
        from hub.tasks.text import OffsetMap, Preprocessed

        text = rng.choice(self.pool)
        wire = inference_pb2.PredictRequest(adapter=common_pb2.AdapterRef(name="a"), texts=[text]).SerializeToString()
        request = inference_pb2.PredictRequest.FromString(wire)
        encoded = self.tokenizer(list(request.texts), truncation=True, max_length=SEQ_MAX, return_offsets_mapping=True)
        pre = Preprocessed(text, OffsetMap.identity(len(text)))
        spans = [pre.offsets.span(a, b) for a, b in encoded["offset_mapping"][0] if b > a]
        scores = {f"label{i}": float(i) / 3 for i in range(3)}
        answer = inference_pb2.PredictResponse()
        result = answer.predictions.add()
        for label, score in sorted(scores.items(), key=lambda kv: -kv[1]):
            result.labels.add(label=label, score=score)
        answer.SerializeToString()
        del spans

    def run(self, seed: int) -> None:
        rng = random.Random(seed)
        try:
            while not self.stop.is_set():
                self.request(rng)
                self.done += 1  # one writer per thread would be exact; the GIL makes += near enough
        except BaseException as exc:  # noqa: BLE001 - reported by the arm that used it
            self.error = exc

    def __enter__(self) -> FrontEnd:
        for i in range(self.count):
            thread = threading.Thread(target=self.run, args=(i,), daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


def timed(run_one: Any, inputs: list[np.ndarray], seconds: float, front: FrontEnd | None) -> dict[str, float]:
    """Forwards/s of ``run_one`` over ``seconds`` in a thread (front end's requests/s alongside)."""
    done, stop = [0], time.perf_counter() + seconds

    def loop() -> None:
        while time.perf_counter() < stop:
            run_one(inputs[done[0] % len(inputs)])
            done[0] += 1

    before = front.done if front else 0
    started = time.perf_counter()
    worker = threading.Thread(target=loop)
    worker.start()
    worker.join()
    elapsed = time.perf_counter() - started
    return {"forwards_per_s": done[0] / elapsed, "frontend_per_s": ((front.done if front else 0) - before) / elapsed}


def ipc_cost(inputs: list[np.ndarray], repeats: int = 200) -> dict[str, float]:
    """Round trip of one batch's ids and its answer through the pipe, no compute."""
    echo = RemoteEngine(echo=True)
    try:
        times = []
        for i in range(repeats):
            started = time.perf_counter()
            echo.forward(inputs[i % len(inputs)])
            times.append(time.perf_counter() - started)
    finally:
        echo.close()
    times.sort()
    return {
        "round_trip_p50_ms": 1000 * statistics.median(times),
        "round_trip_p99_ms": 1000 * times[int(0.99 * len(times))],
    }


def run_rounds(args: argparse.Namespace, seconds: float, backbone: str) -> dict[str, Any]:
    tokenizer, model = load_model(backbone)
    inputs = batches(tokenizer, 16, args.batch)
    remote = RemoteEngine(backbone=backbone)
    front = FrontEnd(tokenizer, args.frontend_threads)
    arms = {
        "alone": lambda: timed(lambda ids: forward(model, ids), inputs, seconds, None),
        "thread": lambda: _with(front, lambda: timed(lambda ids: forward(model, ids), inputs, seconds, front)),
        "process": lambda: _with(front, lambda: timed(remote.forward, inputs, seconds, front)),
    }
    results: dict[str, list[dict[str, float]]] = {k: [] for k in arms}
    try:
        names = list(arms)
        for r in range(args.rounds or (1 if args.quick else 2)):
            for name in names[r % 3 :] + names[: r % 3]:
                results[name].append(arms[name]())
                print(f"({name} round {r + 1}: {results[name][-1]})", file=sys.stderr, flush=True)
    finally:
        remote.close()
    merged = {k: {m: statistics.median(x[m] for x in v) for m in v[0]} for k, v in results.items()}
    return {**merged, "ipc": ipc_cost(inputs)}


def _with(front: FrontEnd, measure: Any) -> dict[str, float]:
    front.stop.clear()
    front.threads = []
    with front:
        time.sleep(0.5)  # the front end is busy before the engine starts
        result = measure()
    if front.error is not None:
        raise RuntimeError("the synthetic front end failed") from front.error
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    seconds = args.duration or (5.0 if args.quick else 12.0)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-split-") as tmp:
        backbone = PACKAGED
        if args.tiny:
            from hub.engine.tiny import save_tiny_backbone

            backbone = str(save_tiny_backbone(Path(tmp) / "tiny"))
        out = run_rounds(args, seconds, backbone)
    a, t, p, ipc = out["alone"], out["thread"], out["process"], out["ipc"]
    print(f"## bench_engine_split\n\nload average {load} at start ({os.cpu_count()} CPUs), "
          f"{args.frontend_threads} front-end threads, batch {args.batch} x up to {SEQ_MAX} tokens, "
          f"{'tiny random' if args.tiny else 'packaged'} backbone\n")  # fmt: skip
    print("| engine | forwards/s | / alone | front-end requests/s alongside |\n|---|---:|---:|---:|")
    print(f"| thread of an idle process (alone) | {a['forwards_per_s']:.2f} | 1.00 | - |")
    for name, r in (("thread of the loaded process (today)", t), ("own process, pipe (engine core)", p)):
        print(f"| {name} | {r['forwards_per_s']:.2f} | {r['forwards_per_s'] / a['forwards_per_s']:.2f} | "
              f"{r['frontend_per_s']:.0f} |")  # fmt: skip
    print(f"\nprocess / thread forwards/s: **{p['forwards_per_s'] / t['forwards_per_s']:.2f}**; pipe round trip per "
          f"batch (ids {args.batch}x{SEQ_MAX} int64 out, {args.batch}x{HIDDEN} float32 back): "
          f"p50 {ipc['round_trip_p50_ms']:.3f} ms, p99 {ipc['round_trip_p99_ms']:.3f} ms = "
          f"{ipc['round_trip_p50_ms'] / 1000 * a['forwards_per_s']:.4f} of a forward")  # fmt: skip
    end = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"\n(total {time.perf_counter() - started:.0f} s; load average {load} at start, {end} at end)")
    if args.json:
        Path(args.json).write_text(
            json.dumps({**out, "load_start": load, "load_end": end, "args": vars(args)}, indent=2)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
