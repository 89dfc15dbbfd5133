"""One load-generator process of the issue 21 benchmarks: many asyncio clients (grpc.aio, raw
stubs, no client-library retries) against a hub on 127.0.0.1. Reads one JSON spec on stdin,
prints one JSON summary line. Its own CPU time is in the summary, so a report can show whether
the generator, not the server, was the limit.

Kinds of traffic (``spec["kind"]``):

- ``closed``: ``clients`` closed-loop clients; each sends its next Predict the moment the last
  one ends, whatever the answer (hostile: refusals and their ``retry-after-ms`` hints ignored).
- ``open``: arrivals at ``rate`` per second (Poisson, or evenly spaced with ``even``), each its
  own call; ``method`` is predict, health or info (ServerInfo).
- ``burst``: ``clients`` Predict calls sent at once when the window opens (texts in turn, one
  each); with ``all_codes`` their latencies count whatever the answer (how long a call took).
- ``idle_streams``: ``clients`` PredictStream calls that send nothing, held open to the end.
- ``stalled_uploads``: ``clients`` UploadAdapter calls that send a header and one chunk, then
  nothing, held open to the end.

Every loop ends at ``start_at + warmup_s + duration_s`` (plus ``linger_s`` for answers of calls
sent in the window); every call has a deadline (``deadline_s``, default 30 s).
Throughput counts calls that end OK inside the window; latencies and codes are of calls sent in it
(answered, or past their deadline: those count with the time they waited).
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "clients/python"))

import grpc
import grpc.aio
from adapter_hub_client import health

from hub.api.v1 import (
    adapters_pb2,
    adapters_pb2_grpc,
    admin_pb2,
    admin_pb2_grpc,
    common_pb2,
    inference_pb2,
    inference_pb2_grpc,
)

CLIENTS_PER_CHANNEL = 64  # one HTTP/2 connection per 64 clients, as separate client machines would have


class Load:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.rng = random.Random(spec.get("seed", 7))
        self.metadata = (("authorization", f"Bearer {spec['key']}"),) if spec.get("key") else ()
        # e.g. a cluster's ("application", ...), ("multiplexed_model_id", adapter) for Serve's proxy
        self.metadata += tuple((str(k), str(v)) for k, v in spec.get("metadata", ()))
        self.channels: list[grpc.aio.Channel] = []  # made in run(): an aio channel belongs to its event loop
        self.latencies: list[float] = []
        self.codes: Counter[str] = Counter()
        self.answered = 0
        self.unfinished: list[float] = []
        self.pending: dict[int, float] = {}  # call number -> when it was sent
        self.sent = 0
        self.held = 0  # idle streams / stalled uploads still open at the end
        self.measure_from = self.end = 0.0

    def request(self, client: int) -> inference_pb2.PredictRequest:
        texts = self.spec["texts"]
        count = self.spec.get("per_request", 1)
        picks = (
            [client % len(texts)]
            if self.spec["kind"] == "burst"
            else [self.rng.randrange(len(texts)) for _ in range(count)]
        )
        return inference_pb2.PredictRequest(
            adapter=common_pb2.AdapterRef(name=self.spec["adapter"]),
            texts=[texts[i] for i in picks],
        )

    async def call(self, client: int) -> None:
        """One call of the group's method; recorded."""
        channel = self.channels[client % len(self.channels)]
        method = self.spec.get("method", "predict")
        timeout = self.spec.get("deadline_s") or 30.0
        started = time.perf_counter()
        number = self.sent = self.sent + 1
        self.pending[number] = started
        code = grpc.StatusCode.OK
        try:
            if method == "predict":
                inference = inference_pb2_grpc.InferenceServiceStub(channel)
                await inference.Predict(self.request(client), timeout=timeout, metadata=self.metadata)
            elif method == "info":
                admin = admin_pb2_grpc.AdminServiceStub(channel)
                await admin.ServerInfo(admin_pb2.ServerInfoRequest(), timeout=timeout, metadata=self.metadata)
            else:
                request, answer = health.HealthCheckRequest, health.HealthCheckResponse
                check = channel.unary_unary(
                    health.METHOD, request_serializer=request.SerializeToString, response_deserializer=answer.FromString
                )
                await check(health.HealthCheckRequest(), timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
        finished = time.perf_counter()
        self.pending.pop(number, None)
        if code is grpc.StatusCode.OK and self.measure_from <= finished <= self.end:
            self.answered += 1
        if self.measure_from <= started <= self.end:
            self.codes[code.name] += 1
            # a call past its deadline counts with the time it waited (so p50 is a lower bound)
            if code in (grpc.StatusCode.OK, grpc.StatusCode.DEADLINE_EXCEEDED) or self.spec.get("all_codes"):
                self.latencies.append(finished - started)

    async def closed_client(self, client: int) -> None:
        while time.perf_counter() < self.end:
            await self.call(client)

    async def burst(self) -> None:
        await asyncio.sleep(max(0.0, self.measure_from - time.perf_counter()))
        tasks = {asyncio.create_task(self.call(c)) for c in range(int(self.spec["clients"]))}
        await self.settle(tasks)

    async def open_loop(self) -> None:
        tasks: set[asyncio.Task] = set()
        rate = self.spec["rate"]
        next_at = time.perf_counter()
        sent = 0
        while next_at < self.end:
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            task = asyncio.create_task(self.call(sent))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
            next_at += 1.0 / rate if self.spec.get("even") else self.rng.expovariate(rate)
        await self.settle(tasks)

    async def settle(self, tasks: set[asyncio.Task]) -> None:
        """Wait for the calls sent in the window, at most ``linger_s``; what is left counts with
        the time it had waited (a lower bound) and is cancelled."""
        if tasks:
            left = max(0.0, self.end - time.perf_counter())
            await asyncio.wait(set(tasks), timeout=left + self.spec.get("linger_s", 30.0))
        cutoff = time.perf_counter()
        self.unfinished = [cutoff - t for t in self.pending.values() if self.measure_from <= t <= self.end]
        for task in tasks:
            task.cancel()

    async def idle_stream(self, client: int) -> None:
        stub = inference_pb2_grpc.InferenceServiceStub(self.channels[client % len(self.channels)])
        never = asyncio.Event()

        async def nothing() -> Any:
            await never.wait()
            yield inference_pb2.PredictStreamRequest()  # never reached

        await self.hold(stub.PredictStream(nothing(), timeout=self.remaining() + 10, metadata=self.metadata))

    async def stalled_upload(self, client: int) -> None:
        stub = adapters_pb2_grpc.AdapterServiceStub(self.channels[client % len(self.channels)])
        never = asyncio.Event()

        async def first_chunk() -> Any:
            yield adapters_pb2.UploadAdapterRequest(header=adapters_pb2.UploadHeader(name=f"stalled-{client}"))
            yield adapters_pb2.UploadAdapterRequest(
                chunk=adapters_pb2.FileChunk(path="adapter_model.safetensors", data=b"\0" * 65536)
            )
            await never.wait()

        await self.hold(stub.UploadAdapter(first_chunk(), timeout=self.remaining() + 10, metadata=self.metadata))

    def remaining(self) -> float:
        return max(1.0, self.end - time.perf_counter())

    async def hold(self, call: Any) -> None:
        """Keep ``call`` open until the end of the window; count it if it is still open then."""
        waiter = asyncio.ensure_future(self._finish(call))
        done, _ = await asyncio.wait({waiter}, timeout=self.remaining())
        if not done:
            self.held += 1
            call.cancel()
        waiter.cancel()

    async def _finish(self, call: Any) -> None:
        try:
            if hasattr(call, "__aiter__"):
                async for _ in call:
                    pass
            else:
                await call
            self.codes["OK"] += 1
        except grpc.aio.AioRpcError as exc:
            self.codes[exc.code().name] += 1
        except Exception as exc:  # noqa: BLE001 - counted by kind, the run goes on
            self.codes[type(exc).__name__] += 1

    async def run(self) -> dict[str, Any]:
        count = max(1, -(-int(self.spec.get("clients", 1)) // CLIENTS_PER_CHANNEL))
        options = [("grpc.use_local_subchannel_pool", 1)]
        self.channels = [grpc.aio.insecure_channel(self.spec["target"], options=options) for _ in range(count)]
        start = self.spec["start_at"] - time.time() + time.perf_counter()
        self.measure_from = start + self.spec.get("warmup_s", 0.0)
        self.end = self.measure_from + self.spec["duration_s"]
        await asyncio.sleep(max(0.0, start - time.perf_counter()))
        cpu0, wall0 = _cpu(), time.perf_counter()
        kind, clients = self.spec["kind"], int(self.spec.get("clients", 1))
        if kind == "open":
            await self.open_loop()
        elif kind == "burst":
            await self.burst()
        else:
            one = {"closed": self.closed_client, "idle_streams": self.idle_stream,
                   "stalled_uploads": self.stalled_upload}[kind]  # fmt: skip
            tasks = {asyncio.create_task(one(c)) for c in range(clients)}
            await self.settle(tasks)
        cpu, wall = _cpu() - cpu0, time.perf_counter() - wall0
        for channel in self.channels:
            await channel.close()
        return self.summary(cpu, wall)

    def summary(self, cpu: float, wall: float) -> dict[str, Any]:
        lat = sorted(self.latencies + self.unfinished)
        return {
            "answered": self.answered,
            "answers_per_s": self.answered / self.spec["duration_s"],
            "calls": sum(self.codes.values()),
            "latencies_ms": [round(1000 * x, 2) for x in lat],
            "p50_ms": 1000 * _quantile(lat, 0.50),
            "p99_ms": 1000 * _quantile(lat, 0.99),
            "unfinished": len(self.unfinished),
            "codes": dict(self.codes),
            "refusals": self.codes.get("RESOURCE_EXHAUSTED", 0),
            "held_open": self.held,
            "generator_cpu_s": cpu,
            "generator_wall_s": wall,
        }


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


if __name__ == "__main__":
    print(json.dumps(asyncio.run(Load(json.loads(sys.stdin.read())).run())))
