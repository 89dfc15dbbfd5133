"""Load generator for bench_serving, run as its own process (so the server's GIL is its own).

Closed loop: ``clients`` requests always in flight (each client sends its next request when
its answer arrives). Open loop: Poisson arrivals at ``rate`` requests/s, whatever the
answers do (the latency a client sees at a given load). Each request is a Predict of one
text to an adapter drawn from a Zipf law over the registered ones. Prints one JSON line.

    echo '{"target": "127.0.0.1:PORT", ...}' | python benchmarks/serving_load.py
"""

from __future__ import annotations

import json
import random
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grpc

from hub.api.v1 import common_pb2, inference_pb2, inference_pb2_grpc


class Load:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.rng = random.Random(spec["seed"])
        self.adapters: list[list[str]] = spec["adapters"]  # [name, task]
        self.weights = [1.0 / (r + 1) ** spec.get("zipf", 1.1) for r in range(len(self.adapters))]
        self.texts: list[str] = spec["texts"]
        self.channel = grpc.insecure_channel(spec["target"])
        self.stub = inference_pb2_grpc.InferenceServiceStub(self.channel)
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.sent = 0
        self.measure_from = 0.0
        self.end = 0.0
        self.outstanding = 0
        self.idle = threading.Condition(self.lock)

    def request(self) -> inference_pb2.PredictRequest:
        with self.lock:
            name, task = self.rng.choices(self.adapters, self.weights)[0]
            text = self.rng.choice(self.texts)
        return inference_pb2.PredictRequest(adapter=common_pb2.AdapterRef(name=name), task=task, texts=[text])

    def send(self, closed: bool) -> None:
        started = time.perf_counter()
        future = self.stub.Predict.future(self.request(), timeout=120)
        with self.lock:
            self.outstanding += 1
            self.sent += 1
        future.add_done_callback(lambda f: self.done(f, started, closed))

    def done(self, future: grpc.Future, started: float, closed: bool) -> None:
        finished = time.perf_counter()
        with self.lock:
            self.outstanding -= 1
            if future.exception() is not None:
                self.errors.append(str(future.exception())[:200])
            elif self.measure_from <= finished <= self.end:  # completions inside the window
                self.latencies.append(finished - started)
            again = closed and finished < self.end
            self.idle.notify_all()
        if again:
            self.send(closed)

    def run(self) -> dict[str, Any]:
        warmup, duration = self.spec["warmup_s"], self.spec["duration_s"]
        now = time.perf_counter()
        self.measure_from, self.end = now + warmup, now + warmup + duration
        usage = resource.getrusage(resource.RUSAGE_SELF)
        if self.spec["mode"] == "closed":
            for _ in range(self.spec["clients"]):
                self.send(closed=True)
        else:
            rate = self.spec["rate"]
            next_at = time.perf_counter()
            while next_at < self.end:
                pause = next_at - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                self.send(closed=False)
                next_at += self.rng.expovariate(rate)
        with self.lock:
            while self.outstanding and time.perf_counter() < self.end + 120:
                self.idle.wait(1.0)
        after = resource.getrusage(resource.RUSAGE_SELF)
        lat = sorted(self.latencies)
        return {
            "requests": len(lat),
            "throughput": len(lat) / duration,
            "p50_ms": 1000 * _quantile(lat, 0.50),
            "p99_ms": 1000 * _quantile(lat, 0.99),
            "mean_ms": 1000 * sum(lat) / len(lat) if lat else 0.0,
            "errors": len(self.errors),
            "first_error": self.errors[0] if self.errors else "",
            "client_cpu_s": (after.ru_utime + after.ru_stime) - (usage.ru_utime + usage.ru_stime),
        }


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(q * len(values)))]


if __name__ == "__main__":
    print(json.dumps(Load(json.loads(sys.stdin.read())).run()))
