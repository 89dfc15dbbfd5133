"""Servers and client processes for bench_fairness: a keyed hub (auth on, hub defaults otherwise)
on the packaged backbone with one adapter per tenant, started fresh per arm with either
scheduler, and client groups run as separate processes that start together."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapter_hub_client import HubClient
from serving_fixtures import artifact, nth_adapter

from hub.config.settings import Settings
from hub.engine.runtime import Runtime
from hub.serving.app import build_authenticator, build_service
from hub.serving.auth import Caller
from hub.serving.fairness import LimitsChange
from hub.transport.server import HubServer

LOAD_SCRIPT = Path(__file__).with_name("fairness_load.py")
ROOT = Path(__file__).resolve().parents[1]
ADMIN_KEY = "bench-fairness-operator-key"
TENANTS = {"quiet": 1.0, "flood": 1.0, "heavy": 3.0}  # name -> weight
OPERATOR = Caller("", admin=True)


@dataclass
class Hub:
    server: HubServer
    target: str
    keys: dict[str, str]
    adapters: dict[str, str]


def settings_for(store: Path, scheduler: str, **overrides: Any) -> Settings:
    return Settings.from_env(
        environ={},
        host="127.0.0.1",
        port=0,
        store=str(store),
        disk_cache_dir="off",
        auth="on",
        admin_key=ADMIN_KEY,
        scheduler=scheduler,
        **overrides,
    )


def prepare(runtime: Runtime, store: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Tenants with their weights and keys, one adapter each (sequence classification)."""
    service = build_service(settings_for(store, "fair"))
    service.attach_runtime(runtime)
    keys, adapters = {}, {}
    for index, (tenant, weight) in enumerate(TENANTS.items()):
        keys[tenant] = service.create_tenant(OPERATOR, tenant, limits=LimitsChange(weight=weight))[0]
        files = nth_adapter(3 * index, runtime.spec)  # every third is a sequence task
        service.registry.publish(tenant, files.name, artifact(files, runtime.spec))
        adapters[tenant] = files.name
    service.close()
    return keys, adapters


@contextmanager
def hub(runtime: Runtime, store: Path, scheduler: str, keys: dict[str, str], adapters: dict[str, str]) -> Iterator[Hub]:
    settings = settings_for(store, scheduler)
    service = build_service(settings)
    service.attach_runtime(runtime)
    server = HubServer(service, build_authenticator(settings, service))
    server.start(load_backbone=False)
    try:
        yield Hub(server, f"127.0.0.1:{server.port}", keys, adapters)
    finally:
        server.stop(grace=1)  # what is still queued fails; the batch in progress finishes


def measure_b(h: Hub, texts: list[str], repeats: int) -> float:
    """B: seconds for one request of a full batch of texts on the idle hub (median)."""
    with HubClient(h.target, api_key=h.keys["quiet"], timeout=120) as client:
        client.predict(h.adapters["quiet"], texts)  # warm: adapter loaded, allocator primed
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            client.predict(h.adapters["quiet"], texts)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def run_groups(h: Hub, groups: dict[str, dict[str, Any]], warmup: float, duration: float) -> dict[str, Any]:
    """Run each client group (tenant -> spec) in its own process, all starting together."""
    start_at = time.time() + 2.5  # the processes import grpc first
    processes = {}
    for name, spec in groups.items():
        tenant = spec.pop("tenant", name)
        payload = {
            "target": h.target,
            "key": h.keys[tenant],
            "adapter": h.adapters[tenant],
            "start_at": start_at,
            "warmup_s": warmup,
            "duration_s": duration,
            "seed": len(processes) + 1,
            **spec,
        }
        with tempfile.TemporaryFile("w+") as spec_file:
            json.dump(payload, spec_file)
            spec_file.seek(0)
            processes[name] = subprocess.Popen(
                [sys.executable, str(LOAD_SCRIPT)], stdin=spec_file, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, cwd=ROOT,
            )  # fmt: skip
    results = {}
    for name, process in processes.items():
        out, err = process.communicate(timeout=warmup + duration + 120)
        if process.returncode != 0:
            raise RuntimeError(f"client group {name} failed: {err[-2000:]}")
        results[name] = json.loads(out.strip().splitlines()[-1])
    return results


def queue_bound_s(h: Hub) -> tuple[float, float]:
    """The token bound a tenant alone may fill, in seconds of engine work at the speed the
    scheduler measured; and its measured full-batch time."""
    with HubClient(h.target, api_key=ADMIN_KEY, timeout=30) as admin:
        status = admin.queue_status()
    if not status.tokens_per_s:
        return 0.0, 0.0
    return min(status.max_tokens, status.tenant_max_tokens) / status.tokens_per_s, status.batch_ms / 1000
