"""Soak: a real `adapter-hub serve` under mixed traffic for a set time, sampled every minute.

Several tenants (API keys), many adapters each, and worker threads that mostly predict (on a
Zipf-drawn adapter, by name or by pinned version) and sometimes push, delete, move an alias,
list, or unload; the device tier is kept small so adapters are evicted and reloaded all the time;
garbage collection runs in the background with a short grace. Every minute it prints, for the
hub process: resident memory, open file descriptors, threads, and for the calls of that minute:
count, errors by status, predict p50/p99 latency; plus the residency's draining count and the
bytes GC reclaimed. A predict that names a version must be answered by that version (else it
counts as wrong). At the end: each sampled figure's last minute against its first (the same-run
baseline), and RSS growth per minute after the first.

    .venv/bin/python benchmarks/bench_soak.py --minutes 5              # the BENCHMARKS.md run
    .venv/bin/python benchmarks/bench_soak.py --minutes 1 --workers 4  # a quick look
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapter_hub_client import HubClient, HubError

ADMIN = "soak-admin-key-0123456789abcdef0123"
SEQ = "generic.sequence_classification"
TEXTS = ["the service was quick and friendly", "the parcel never arrived", "a fine day", "not worth it"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=5.0, help="how long the traffic runs (default %(default)s)")
    p.add_argument("--tenants", type=int, default=3)
    p.add_argument("--adapters", type=int, default=20, help="adapters per tenant at the start")
    p.add_argument("--workers", type=int, default=8, help="client threads")
    p.add_argument("--backbone", default="packaged:all-minilm-l6-v2")
    p.add_argument("--device-cache-mb", type=int, default=16, help="small: adapters are evicted all the time")
    p.add_argument("--seed", type=int, default=24)
    return p.parse_args(argv)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Minute:
    calls: Counter[str] = field(default_factory=Counter)  # "op status"
    latencies: list[float] = field(default_factory=list)  # predict seconds
    wrong: int = 0


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.current = Minute()

    def add(self, op: str, status: str, seconds: float, wrong: bool = False) -> None:
        with self.lock:
            self.current.calls[f"{op} {status}"] += 1
            if op == "predict" and status == "OK":
                self.current.latencies.append(seconds)
            self.current.wrong += wrong

    def roll(self) -> Minute:
        with self.lock:
            done, self.current = self.current, Minute()
        return done


def start_hub(args: argparse.Namespace, root: Path) -> tuple[subprocess.Popen[bytes], str, int]:
    port, metrics = free_port(), free_port()
    env = {**os.environ, "ADAPTER_HUB_STORE": str(root / "store"), "ADAPTER_HUB_AUTH": "on"}
    env |= {"ADAPTER_HUB_ADMIN_KEY": ADMIN, "ADAPTER_HUB_DEVICE_CACHE_BYTES": str(args.device_cache_mb << 20)}
    env |= {"ADAPTER_HUB_GC_INTERVAL_S": "30", "ADAPTER_HUB_GC_GRACE_S": "20", "ADAPTER_HUB_METRICS_PORT": str(metrics)}
    env |= {"ADAPTER_HUB_DEVICE": "cpu", "PYTHONPATH": str(Path.cwd())}
    log = open(root / "hub.log", "wb")  # noqa: SIM115 - the process owns it
    cli = [sys.executable, "-m", "hub.cli.main", "serve", "--port", str(port), "--backbone", args.backbone]
    process = subprocess.Popen(cli, env=env, stdout=log, stderr=subprocess.STDOUT)
    target = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    with HubClient(target, timeout=2) as probe:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"the hub exited; see {root / 'hub.log'}")
            try:
                if probe.serving():
                    return process, target, metrics
            except HubError:
                pass
            time.sleep(0.5)
    raise SystemExit("the hub did not become SERVING")


def sample(pid: int) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
    threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    return {"rss_mb": rss, "fds": len(os.listdir(f"/proc/{pid}/fd")), "threads": threads}


def gc_bytes(metrics_port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as response:
        text = response.read().decode()
    found = re.search(r"^adapter_hub_gc_reclaimed_bytes_total ([0-9.e+]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


@dataclass(frozen=True)
class Upload:
    directory: Path
    task: str
    labels: list[str]


def adapter_dirs(args: argparse.Namespace, root: Path, count: int) -> list[Upload]:
    """``count`` distinct upload-ready PEFT directories for the backbone (benchmarks' fixtures:
    rank 8 on query/key/value/dense, a sequence or token classifier)."""
    from serving_fixtures import nth_adapter

    from hub.engine.runtime import Runtime

    spec = Runtime.load(args.backbone, device="cpu").spec
    uploads = []
    for i in range(count):
        adapter = nth_adapter(i, spec)
        directory = root / "adapters" / str(i)
        directory.mkdir(parents=True)
        for path, data in adapter.files.items():
            (directory / path).write_bytes(data)
        uploads.append(Upload(directory, adapter.task, list(adapter.labels)))
    return uploads


class Traffic:
    """One tenant's worker: mostly predictions, sometimes a change."""

    def __init__(
        self,
        client: HubClient,
        admin: HubClient,
        tenant: str,
        uploads: list[Upload],
        recorder: Recorder,
        rng: random.Random,
    ) -> None:
        self.client, self.admin, self.tenant = client, admin, tenant
        self.uploads, self.recorder, self.rng = uploads, recorder, rng
        self.names = [f"s{i:03d}" for i in range(len(uploads) // 2)]

    def step(self) -> None:
        roll = self.rng.random()
        weights = [1.0 / (rank + 1) ** 1.1 for rank in range(len(self.names))]
        name = self.rng.choices(self.names, weights)[0]
        if roll < 0.86:
            self.timed("predict", lambda: self.predict(name))
        elif roll < 0.90:
            self.timed("push", lambda: self.push(name))
        elif roll < 0.93:
            self.timed("delete", lambda: self.delete(name))
        elif roll < 0.96:
            self.timed("alias", lambda: self.client.set_alias(name, "latest", "prod"))
        elif roll < 0.98:
            self.timed("list", self.client.list_adapters)
        else:
            self.timed("unload", lambda: self.client.unload(name))

    def predict(self, name: str) -> bool:
        """True (wrong) when another adapter than the one named answered."""
        ref = name if self.rng.random() < 0.7 else f"{name}@prod"
        answer = self.client.predict(ref, [self.rng.choice(TEXTS)])
        return not answer[0].served_by.startswith(f"{name}@")

    def push(self, name: str) -> None:
        """A new version with other content (drawn from twice as many directories as names):
        deleting old versions then leaves files for garbage collection to reclaim."""
        upload = self.rng.choice(self.uploads)
        self.client.push(upload.directory, name, task=upload.task, labels=upload.labels)

    def delete(self, name: str) -> None:
        versions = [v.version for a in self.client.list_adapters() if a.name == name for v in a.versions]
        if len(versions) > 1:
            self.client.delete_adapter(f"{name}@{versions[0]}")  # the oldest; the name stays

    def timed(self, op: str, call: Callable[[], object]) -> None:
        started = time.perf_counter()
        try:
            result = call()
            wrong, status = op == "predict" and bool(result), "OK"
        except HubError as exc:
            wrong, status = False, exc.status
        self.recorder.add(op, status, time.perf_counter() - started, wrong)


def setup(target: str, uploads: list[Upload], tenants: int) -> list[tuple[str, str]]:
    """Tenants with their keys, each holding every adapter once."""
    created = []
    with HubClient(target, api_key=ADMIN, timeout=120) as admin:
        for t in range(tenants):
            tenant = f"soak{t}"
            key = admin.create_tenant(tenant).api_key
            with HubClient(target, api_key=key, timeout=120) as client:
                for i, upload in enumerate(uploads[: len(uploads) // 2]):
                    client.push(upload.directory, f"s{i:03d}", task=upload.task, labels=upload.labels)
                    client.set_alias(f"s{i:03d}", "1", "prod")
            created.append((tenant, key))
    return created


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def report_minute(
    n: int, minute: Minute, process: dict[str, float], draining: int, reclaimed: float
) -> dict[str, float]:
    calls = sum(minute.calls.values())
    errors = {k: v for k, v in minute.calls.items() if not k.endswith(" OK")}
    row = {
        "minute": n,
        "calls": calls,
        "p50_ms": percentile(minute.latencies, 0.5),
        "p99_ms": percentile(minute.latencies, 0.99),
        "draining": draining,
        "gc_mb": reclaimed / 2**20,
        "wrong": minute.wrong,
        **process,
    }
    print(
        f"{n:>6} {calls:>6} {row['p50_ms']:>7.1f} {row['p99_ms']:>7.1f} {process['rss_mb']:>7.0f} "
        f"{process['fds']:>5.0f} {process['threads']:>7.0f} {draining:>8} {row['gc_mb']:>6.1f} {minute.wrong:>5}  "
        f"{dict(sorted(errors.items())) or ''}",
        flush=True,
    )
    return row


def run(args: argparse.Namespace, target: str, pid: int, metrics: int, uploads: list[Upload]) -> list[dict[str, float]]:
    keys = setup(target, uploads, args.tenants)
    recorder, stop = Recorder(), threading.Event()
    admin = HubClient(target, api_key=ADMIN, timeout=60, retries=0)

    def worker(index: int) -> None:
        tenant, key = keys[index % len(keys)]
        with HubClient(target, api_key=key, timeout=60, retries=0) as client:
            traffic = Traffic(client, admin, tenant, uploads, recorder, random.Random(args.seed + index))
            while not stop.is_set():
                traffic.step()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(args.workers)]
    for thread in threads:
        thread.start()
    print(
        f"{'minute':>6} {'calls':>6} {'p50ms':>7} {'p99ms':>7} {'rss_mb':>7} {'fds':>5} {'threads':>7} "
        f"{'draining':>8} {'gc_mb':>6} {'wrong':>5}  errors"
    )
    rows, end = [], time.monotonic() + args.minutes * 60
    for n in range(1, int(args.minutes + 0.999) + 1):
        time.sleep(max(0.0, min(60.0, end - time.monotonic())))
        draining = admin.residency_status().draining
        rows.append(report_minute(n, recorder.roll(), sample(pid), draining, gc_bytes(metrics)))
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    time.sleep(5)
    idle = admin.residency_status().draining
    print(f"draining 5 s after the traffic stopped: {idle}; {sample(pid)}")
    admin.close()
    return rows


def summary(rows: list[dict[str, float]]) -> None:
    first, last = rows[0], rows[-1]
    print("\nlast minute / first minute (same run):")
    for name in ("calls", "p50_ms", "p99_ms", "rss_mb", "fds", "threads"):
        print(f"  {name:>8}: {first[name]:.1f} -> {last[name]:.1f}  (x{last[name] / max(first[name], 1e-9):.2f})")
    if len(rows) > 2:
        growth = (last["rss_mb"] - rows[1]["rss_mb"]) / (len(rows) - 2)
        print(f"  RSS growth after the first two minutes: {growth:+.1f} MB/min")
    p99 = [r["p99_ms"] for r in rows]
    print(f"  p99 per minute: min {min(p99):.0f} ms, median {statistics.median(p99):.0f} ms, max {max(p99):.0f} ms")
    print(f"  wrong answers: {sum(int(r['wrong']) for r in rows)}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="soak-"))
    uploads = adapter_dirs(args, root, 2 * args.adapters)
    process, target, metrics = start_hub(args, root)
    try:
        rows = run(args, target, process.pid, metrics, uploads)
        summary(rows)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
    print(f"hub log: {root / 'hub.log'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
