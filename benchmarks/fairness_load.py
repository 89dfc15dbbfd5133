"""One client group of bench_fairness, run as its own process (its GIL is its own).

A group is one tenant's traffic: ``clients`` closed-loop clients (each sends its next request
when the last is answered or refused), or Poisson arrivals at ``rate`` per second. Each request
is a Predict of ``per_request`` texts with the group's API key, optionally with a gRPC deadline.
A refusal is retried as the client library retries (adapter_hub_client/retry.py): after an exponential
backoff from 50 ms, never shorter than the ``retry-after-ms`` hint, stretched by up to a
quarter; any other answer is followed by the client's next request at once (an immediate
DEADLINE_EXCEEDED that carries a hint waits for it too). The group starts at the wall-clock time
``start_at`` (so that groups in several processes start together). Throughput counts what
completes in ``[start_at + warmup_s, start_at + warmup_s + duration_s]``; latencies and status
codes are of every call sent in it, waiting up to ``linger_s`` after it for the last answers (a
call still unanswered then counts with the time it had waited, and is cancelled). Prints one
JSON line.

    echo '{"target": "127.0.0.1:PORT", ...}' | python benchmarks/fairness_load.py
"""

from __future__ import annotations

import heapq
import json
import random
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "clients/python"))

import grpc
from adapter_hub_client.errors import from_rpc_error, retry_after_s
from adapter_hub_client.retry import pause_for, retryable

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
        self.latencies: list[float] = []  # of the calls sent inside the window
        self.refusal_latencies: list[float] = []
        self.steady_refusals: list[float] = []  # sent after steady_after_s (past a start's burst)
        self.steady_latencies: list[float] = []
        self.hints: list[float] = []
        self.codes: Counter[str] = Counter()
        self.answered_tokens = 0
        self.answered_texts = 0
        self.outstanding = 0
        self.pending: dict[grpc.Future, float] = {}  # outstanding call -> when it was sent
        self.answered = 0
        self.unfinished: list[float] = []  # sent in the window, still unanswered at the cutoff
        self.refused_in_a_row: Counter[int] = Counter()  # per client, for the backoff
        self.later: list[tuple[float, int]] = []  # (when, client): retries waiting for their pause
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
            self.pending[future] = started
        future.add_done_callback(lambda f: self.done(f, client, started, tokens, closed))

    def done(self, future: grpc.Future, client: int, started: float, tokens: int, closed: bool) -> None:
        finished = time.perf_counter()
        code = future.code()
        error = future.exception() if code is not grpc.StatusCode.OK else None
        with self.lock:
            self.outstanding -= 1
            self.pending.pop(future, None)
            self.record(code, error, started, finished, tokens)
            pause = 0.0
            refusal = from_rpc_error(error) if error is not None else None
            if refusal is not None and (retryable(refusal) or refusal.retry_after_s is not None):
                pause = pause_for(refusal, self.refused_in_a_row[client], self.rng.random())
                self.refused_in_a_row[client] += 1
            else:
                self.refused_in_a_row[client] = 0
            again = closed and finished + pause < self.end
            if again and pause:
                heapq.heappush(self.later, (finished + pause, client))
            self.idle.notify_all()
        if again and not pause:
            self.send(client, closed)

    def record(self, code: grpc.StatusCode, error: Any, started: float, finished: float, tokens: int) -> None:
        """Throughput counts what completes inside the window; latencies and status codes are
        of the requests sent inside it, however long they took (lock held)."""
        per_request = self.spec.get("per_request", 1)
        if code is grpc.StatusCode.OK and self.measure_from <= finished <= self.end:
            self.answered_tokens += tokens
            self.answered_texts += per_request
            self.answered += 1
        if not self.measure_from <= started <= self.end:
            return
        self.codes[code.name] += 1
        steady = started >= self.measure_from + self.spec.get("steady_after_s", 0.0)
        if code is grpc.StatusCode.OK:
            self.latencies.append(finished - started)
            if steady:
                self.steady_latencies.append(finished - started)
        elif code is grpc.StatusCode.RESOURCE_EXHAUSTED:
            self.refusal_latencies.append(finished - started)
            self.hints.append(retry_after_s(error) or 0.0)
            if steady:
                self.steady_refusals.append(finished - started)

    def resend(self) -> None:
        """One thread sends the refused clients' retries when their pauses end."""
        while True:
            with self.lock:
                while not self.later or self.later[0][0] > time.perf_counter():
                    if time.perf_counter() > self.end:
                        return
                    self.idle.wait(self.later[0][0] - time.perf_counter() if self.later else 0.2)
                _, client = heapq.heappop(self.later)
            self.send(client, True)

    def run(self) -> dict[str, Any]:
        start = self.spec["start_at"] - time.time() + time.perf_counter()
        warmup, duration = self.spec["warmup_s"], self.spec["duration_s"]
        self.measure_from, self.end = start + warmup, start + warmup + duration
        time.sleep(max(0.0, start - time.perf_counter()))
        if self.spec["mode"] == "closed":
            threading.Thread(target=self.resend, daemon=True).start()
            for client in range(self.spec["clients"]):
                self.send(client, closed=True)
        else:
            next_at = time.perf_counter()
            while next_at < self.end:
                time.sleep(max(0.0, next_at - time.perf_counter()))
                self.send(0, closed=False)
                next_at += self.rng.expovariate(self.spec["rate"])
        linger = self.end + self.spec.get("linger_s", 65.0)
        with self.lock:
            while (self.outstanding or time.perf_counter() < self.end) and time.perf_counter() < linger:
                self.idle.wait(0.2)
            left = dict(self.pending)
            cutoff = time.perf_counter()
            self.unfinished = [cutoff - t for t in left.values() if self.measure_from <= t <= self.end]
        for future in left:  # nobody waits for these any more (a FIFO server computes them anyway)
            future.cancel()
        return self.summary(duration)

    def summary(self, duration: float) -> dict[str, Any]:
        # unanswered calls count with the time they had waited at the cutoff (so at least that)
        lat = sorted(self.latencies + self.unfinished)
        refused = sorted(self.refusal_latencies)
        return {
            "answered": self.answered,
            "answers_per_s": self.answered / duration,
            "texts_per_s": self.answered_texts / duration,
            "tokens": self.answered_tokens,
            "p50_ms": 1000 * _quantile(lat, 0.50),
            "p99_ms": 1000 * _quantile(lat, 0.99),
            "max_ms": 1000 * (lat[-1] if lat else 0.0),
            "unfinished": len(self.unfinished),
            "codes": dict(self.codes),
            "refusals": len(refused),
            "refusal_p50_ms": 1000 * _quantile(refused, 0.50),
            "refusal_p99_ms": 1000 * _quantile(refused, 0.99),
            "steady_refusal_p99_ms": 1000 * _quantile(sorted(self.steady_refusals), 0.99),
            "steady_p99_ms": 1000 * _quantile(sorted(self.steady_latencies), 0.99),
            "hint_p50_ms": 1000 * _quantile(sorted(self.hints), 0.50),
        }


def _quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


if __name__ == "__main__":
    print(json.dumps(Group(json.loads(sys.stdin.read())).run()))
