"""One client group of bench_fairness, run as its own process (its GIL is its own).

A group is one tenant's traffic: ``clients`` closed-loop clients (each sends its next request
when the last is answered or refused), or Poisson arrivals at ``rate`` per second. Each request
is a Predict of ``per_request`` texts with the group's API key, optionally with a gRPC deadline.
A RESOURCE_EXHAUSTED answer is retried after its ``retry-after-ms`` hint (times 1 to 1.5, so
refused clients do not return in lockstep), as the CLI client does. The group starts at the
wall-clock time ``start_at`` (so that groups in several processes start together), measures
what completes in ``[start_at + warmup_s, start_at + warmup_s + duration_s]`` and prints one
JSON line.

    echo '{"target": "127.0.0.1:PORT", ...}' | python benchmarks/fairness_load.py
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grpc

from hub.api.v1 import common_pb2, inference_pb2, inference_pb2_grpc

CLIENTS_PER_CHANNEL = 64  # one HTTP/2 connection per 64 clients, as separate client machines would have


class Group:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.rng = random.Random(spec.get("seed", 7))
        self.texts: list[str] = spec["texts"]
        self.tokens: list[int] = spec["tokens"]  # tokens of each text (special tokens included)
        self.metadata = (("authorization", f"Bearer {spec['key']}"),) if spec.get("key") else ()
        channels = max(1, -(-int(spec.get("clients", 1)) // CLIENTS_PER_CHANNEL))
        options = [("grpc.use_local_subchannel_pool", 1)]
        self.channels = [grpc.insecure_channel(spec["target"], options=options) for _ in range(channels)]
        self.stubs = [inference_pb2_grpc.InferenceServiceStub(c) for c in self.channels]
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)
        self.latencies: list[float] = []  # answered inside the window
        self.refusal_latencies: list[float] = []
        self.hints: list[float] = []
        self.codes: Counter[str] = Counter()
        self.answered_tokens = 0
        self.answered_texts = 0
        self.outstanding = 0
        self.measure_from = self.end = 0.0

    def request(self) -> tuple[inference_pb2.PredictRequest, int]:
        with self.lock:
            picks = [self.rng.randrange(len(self.texts)) for _ in range(self.spec.get("per_request", 1))]
        request = inference_pb2.PredictRequest(
            adapter=common_pb2.AdapterRef(name=self.spec["adapter"]),
            task=self.spec.get("task", ""),
            texts=[self.texts[i] for i in picks],
        )
        return request, sum(self.tokens[i] for i in picks)

    def send(self, client: int, closed: bool) -> None:
        request, tokens = self.request()
        started = time.perf_counter()
        timeout = self.spec.get("deadline_s") or 120.0
        stub = self.stubs[client % len(self.stubs)]
        future = stub.Predict.future(request, timeout=timeout, metadata=self.metadata)
        with self.lock:
            self.outstanding += 1
        future.add_done_callback(lambda f: self.done(f, client, started, tokens, closed))

    def done(self, future: grpc.Future, client: int, started: float, tokens: int, closed: bool) -> None:
        finished = time.perf_counter()
        elapsed = finished - started
        pause = 0.0
        inside = self.measure_from <= finished <= self.end
        code = future.code()
        with self.lock:
            self.outstanding -= 1
            if inside:
                self.codes[code.name] += 1
            if code is grpc.StatusCode.OK and inside:
                self.latencies.append(elapsed)
                self.answered_tokens += tokens
                self.answered_texts += self.spec.get("per_request", 1)
            elif code is grpc.StatusCode.RESOURCE_EXHAUSTED:
                hint = _hint(future)
                pause = hint * (1 + 0.5 * self.rng.random())
                if inside:
                    self.refusal_latencies.append(elapsed)
                    self.hints.append(hint)
            elif code is grpc.StatusCode.UNAVAILABLE:
                pause = 0.05
            again = closed and finished + pause < self.end
            self.idle.notify_all()
        if again:
            if pause:
                threading.Timer(pause, self.send, (client, closed)).start()
            else:
                self.send(client, closed)

    def run(self) -> dict[str, Any]:
        start = self.spec["start_at"] - time.time() + time.perf_counter()
        warmup, duration = self.spec["warmup_s"], self.spec["duration_s"]
        self.measure_from, self.end = start + warmup, start + warmup + duration
        time.sleep(max(0.0, start - time.perf_counter()))
        if self.spec["mode"] == "closed":
            for client in range(self.spec["clients"]):
                self.send(client, closed=True)
        else:
            next_at = time.perf_counter()
            while next_at < self.end:
                time.sleep(max(0.0, next_at - time.perf_counter()))
                self.send(0, closed=False)
                next_at += self.rng.expovariate(self.spec["rate"])
        with self.lock:
            while (self.outstanding or time.perf_counter() < self.end) and time.perf_counter() < self.end + 150:
                self.idle.wait(0.5)
        return self.summary(duration)

    def summary(self, duration: float) -> dict[str, Any]:
        lat, refused = sorted(self.latencies), sorted(self.refusal_latencies)
        return {
            "answered": len(lat),
            "answers_per_s": len(lat) / duration,
            "texts_per_s": self.answered_texts / duration,
            "tokens": self.answered_tokens,
            "p50_ms": 1000 * _quantile(lat, 0.50),
            "p99_ms": 1000 * _quantile(lat, 0.99),
            "max_ms": 1000 * (lat[-1] if lat else 0.0),
            "codes": dict(self.codes),
            "refusals": len(refused),
            "refusal_p50_ms": 1000 * _quantile(refused, 0.50),
            "refusal_p99_ms": 1000 * _quantile(refused, 0.99),
            "hint_p50_ms": 1000 * _quantile(sorted(self.hints), 0.50),
        }


def _hint(future: grpc.Future) -> float:
    for key, value in future.trailing_metadata() or ():
        if key == "retry-after-ms":
            return float(value) / 1000
    return 0.1  # no hint (today's server never sends one): back off a little anyway


def _quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


if __name__ == "__main__":
    print(json.dumps(Group(json.loads(sys.stdin.read())).run()))
