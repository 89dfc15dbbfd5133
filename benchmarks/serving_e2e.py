"""End-to-end arms of bench_serving: the hub over gRPC (127.0.0.1 only) under concurrent
clients, against the bare backbone in-process at the same batch size and against a naive
server that runs PEFT one request at a time (same wire, same service code, no batching).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from serving_fixtures import AdapterFiles, adapter_ref, artifact, nth_adapter, peft_model, text_of_tokens

from hub.config.settings import Settings
from hub.engine.engine import Row
from hub.engine.heads import apply_heads
from hub.engine.runtime import RowRequest, Runtime
from hub.plugins.manager import build_plugins
from hub.scheduling.fair import Ticket
from hub.scheduling.scope import CallScope
from hub.serving.app import build_service
from hub.serving.auth import LOCAL_TENANT, Caller, LocalAuthenticator
from hub.serving.service import HubService
from hub.serving.types import Plan
from hub.transport.server import HubServer

LOAD_SCRIPT = Path(__file__).with_name("serving_load.py")
ROOT = Path(__file__).resolve().parents[1]


def make_texts(count: int, low: int, high: int, seed: int) -> list[str]:
    """Texts of ``low`` to ``high`` tokens (uniform): a mix of short and long requests."""
    rng = random.Random(seed)
    return [text_of_tokens(rng.randint(low, high), seed + i) for i in range(count)]


def publish(service: HubService, first: int, end: int) -> None:
    """Register the benchmark's adapters ``first`` to ``end - 1`` (made one at a time)."""
    spec = service.runtime.spec
    for index in range(first, end):
        a = nth_adapter(index, spec)
        service.registry.publish(LOCAL_TENANT, a.name, artifact(a, spec))


class NaiveService(HubService):
    """The baseline: one request at a time through PEFT, no batching across requests.

    The request's adapter is chosen with ``adapter_names=`` (measured faster than
    ``set_adapter``, which walks every loaded adapter of every layer: 40 ms at 100 adapters).
    """

    peft: Any = None
    lock = threading.Lock()
    runner = ThreadPoolExecutor(1, thread_name_prefix="naive-peft")  # one request at a time

    def submit(self, caller: Caller, plan: Plan, scope: CallScope | None, count: bool = True) -> Ticket:
        """Each request's rows alone through PEFT, in arrival order (the asyncio front end
        awaits the ticket's future; the hub's own submit would queue them for its batcher)."""
        return Ticket(caller.namespace(), plan.rows, plan.costs, future=self.runner.submit(self._run, plan.rows))

    def _run(self, rows: list) -> list:
        with self.lock, torch.inference_mode():
            first: RowRequest = rows[0]
            name = first.adapter.key.split("/", 1)[1].split("@", 1)[0]
            tokenizer = self.runtime.backbone.tokenizer
            encoded = tokenizer([r.text for r in rows], padding=True, return_tensors="pt")  # type: ignore[operator]
            encoded = encoded.to(self.runtime.backbone.device)
            output = self.peft(**encoded, adapter_names=[name] * len(rows))
            engine_rows = [Row(r.text, r.adapter, r.adapter.heads[r.task]) for r in rows]
            return apply_heads(engine_rows, output, encoded["attention_mask"], [r.encoded for r in rows])


def settings_for(store: Path, max_batch: int, wait_ms: float, workers: int) -> Settings:
    return Settings.from_env(
        environ={},
        host="127.0.0.1",
        port=0,
        store=str(store),
        max_batch_size=max_batch,
        max_batch_wait_ms=wait_ms,
        max_workers=workers,
        auth="off",
    )


@contextmanager
def serving(service: HubService, runtime: Runtime) -> Iterator[str]:
    """Run ``service`` behind a real gRPC server on 127.0.0.1; yield its address."""
    service.attach_runtime(runtime)
    server = HubServer(service, LocalAuthenticator())
    server.start(load_backbone=False)
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        server.stop(grace=5)
        service.close()


def hub_service(settings: Settings) -> HubService:
    return build_service(settings)


def naive_service(settings: Settings, runtime: Runtime, adapters: Sequence[AdapterFiles]) -> NaiveService:
    plugins = build_plugins(settings)
    service = NaiveService(settings, build_service(settings).registry, plugins.tasks, plugins=plugins)
    backbone = runtime.backbone
    service.peft = peft_model(str(backbone.path), list(adapters), backbone.device, backbone.dtype)
    return service


def drive(target: str, registered: int, texts: list[str], **spec: Any) -> dict[str, Any]:
    """Run the load generator process against ``target`` (Zipf over the first ``registered``
    benchmark adapters); its JSON summary."""
    payload = {
        "target": target,
        "adapters": [list(adapter_ref(i)) for i in range(registered)],
        "texts": texts,
        "seed": 7,
        "zipf": 1.1,
        **spec,
    }
    timeout = payload["warmup_s"] + payload["duration_s"] + 300
    done = subprocess.run(
        [sys.executable, str(LOAD_SCRIPT)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bare_throughput(runtime: Runtime, bare: torch.nn.Module, texts: list[str], batch: int, seconds: float) -> float:
    """Texts per second of tokenizer + bare backbone forward, batches of ``batch`` in arrival order."""
    tokenizer = runtime.backbone.tokenizer
    device = runtime.backbone.device
    rng = random.Random(11)
    done = 0
    with torch.inference_mode():
        bare(**tokenizer(texts[:batch], padding=True, return_tensors="pt").to(device))  # type: ignore[operator]
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            chunk = [rng.choice(texts) for _ in range(batch)]
            bare(**tokenizer(chunk, padding=True, return_tensors="pt").to(device))  # type: ignore[operator]
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            done += batch
        elapsed = time.perf_counter() - start
    return done / elapsed


def batch_stats(service: HubService, before: tuple[int, int]) -> dict[str, float]:
    stats = service.batcher.stats
    batches, rows = stats.batches - before[0], stats.rows - before[1]
    return {"mean_batch_rows": rows / batches if batches else 0.0, "batches": batches}
