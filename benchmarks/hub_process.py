"""A real `adapter-hub serve` process for the client-side benchmarks (issue 21).

The benchmarks that use this talk to the hub only over gRPC on 127.0.0.1, as outside clients
would, so they measure whatever front end the checkout has (today's thread pool, or the asyncio
one) with the same script. The server gets its settings through ``ADAPTER_HUB_*`` variables and
``--port``; it is stopped with SIGTERM (then SIGKILL) when the block ends.

Also here: the server's own numbers read from /proc (threads, RSS, CPU seconds), the load average,
and tenants with their own keys and adapters made through the admin API.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "clients/python"))

from adapter_hub_client import HubClient  # noqa: E402

ADMIN_KEY = "bench-isolation-operator-key"
SHIPPED = ROOT / "examples" / "adapters"
# Words of the financial-news kind the shipped sentiment adapter reads: the benchmarks' texts
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
PACKAGED = "packaged:all-minilm-l6-v2"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def loadavg() -> str:
    """The 1, 5 and 15-minute load averages (the machine is shared: read results beside them)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def proc_status(pid: int) -> dict[str, float]:
    """Threads, RSS (MiB) and CPU seconds (user + system) of a process, from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return {
        "threads": int(fields["Threads"]),
        "rss_mib": int(fields["VmRSS"].split()[0]) / 1024,
        "cpu_s": (int(stat[11]) + int(stat[12])) / ticks,
    }


@dataclass
class Served:
    process: subprocess.Popen
    target: str
    store: Path
    keys: dict[str, str] = field(default_factory=dict)  # tenant -> API key
    adapters: dict[str, str] = field(default_factory=dict)  # tenant -> adapter name

    @property
    def pid(self) -> int:
        return self.process.pid

    def status(self) -> dict[str, float]:
        return proc_status(self.pid)

    def client(self, tenant: str | None = None, timeout: float = 120.0) -> HubClient:
        """A client with retries off (the benchmarks count refusals themselves)."""
        key = ADMIN_KEY if tenant is None else self.keys[tenant]
        return HubClient(self.target, api_key=key, timeout=timeout, retries=0)

    def add_tenant(self, tenant: str, adapter_dir: Path, name: str, weight: float = 1.0, **push: Any) -> None:
        with self.client() as admin:
            self.keys[tenant] = admin.create_tenant(tenant, weight=weight).api_key
        with self.client(tenant) as client:
            client.push(adapter_dir, name, **push)
            self.adapters[tenant] = name


def _wait_serving(target: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with HubClient(target, timeout=2, retries=0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"adapter-hub serve exited with {process.returncode}")
            try:
                if client.serving():
                    return
            except Exception:  # noqa: BLE001 - not listening yet
                pass
            time.sleep(0.3)
    raise TimeoutError("adapter-hub serve did not become SERVING")


@contextmanager
def serve(backbone: str = PACKAGED, auth: bool = True, env: dict[str, str] | None = None,
          log: Path | None = None) -> Iterator[Served]:  # fmt: skip
    """`adapter-hub serve` on 127.0.0.1 (free port), hub defaults unless ``env`` says otherwise."""
    with tempfile.TemporaryDirectory(prefix="bench-hub-") as tmp:
        store = Path(tmp) / "store"
        port = free_port()
        environ = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "ADAPTER_HUB_STORE": str(store),
            "ADAPTER_HUB_DISK_CACHE_DIR": "off",
            "ADAPTER_HUB_DEVICE": "cpu",
            "ADAPTER_HUB_HOST": "127.0.0.1",
            **({"ADAPTER_HUB_AUTH": "on", "ADAPTER_HUB_ADMIN_KEY": ADMIN_KEY} if auth else {}),
            **(env or {}),
        }
        argv = [sys.executable, "-m", "hub.cli.main", "serve", "--port", str(port), "--backbone", backbone]
        err = open(log or os.devnull, "w")  # noqa: SIM115 - closed below
        process = subprocess.Popen(argv, env=environ, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT)
        try:
            target = f"127.0.0.1:{port}"
            _wait_serving(target, process, timeout=180)
            yield Served(process, target, store)
        finally:
            stop(process)
            err.close()


def stop(process: subprocess.Popen, grace: float = 15.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


LOAD_SCRIPT = Path(__file__).with_name("aio_load.py")


def run_groups(groups: dict[str, dict[str, Any]], warmup: float, duration: float,
               processes: dict[str, int] | None = None) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Run each group (name -> aio_load spec) in ``processes[name]`` processes (default 1), its
    clients split among them, all starting together; the groups' merged summaries."""
    start_at = time.time() + 3.0  # the processes import grpc first
    running: dict[str, list[subprocess.Popen]] = {}
    for name, spec in groups.items():
        count = (processes or {}).get(name, 1)
        running[name] = []
        for p in range(count):
            part = {
                **spec,
                "start_at": start_at,
                "warmup_s": warmup,
                "duration_s": duration,
                "seed": 17 * p + len(running),
            }
            if "clients" in spec:
                part["clients"] = spec["clients"] // count + (1 if p < spec["clients"] % count else 0)
            if "rate" in spec:
                part["rate"] = spec["rate"] / count
            with tempfile.TemporaryFile("w+") as spec_file:  # stdin: the spec, read at the process's start
                json.dump(part, spec_file)
                spec_file.seek(0)
                proc = subprocess.Popen(
                    [sys.executable, str(LOAD_SCRIPT)], stdin=spec_file, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, text=True, cwd=ROOT,
                )  # fmt: skip
            running[name].append(proc)
    out = {}
    limit = warmup + duration + max(g.get("linger_s", 30.0) for g in groups.values()) + 60
    for name, procs in running.items():
        parts = []
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=limit)
            if proc.returncode != 0:
                raise RuntimeError(f"load group {name} failed: {stderr[-2000:]}")
            parts.append(json.loads(stdout.strip().splitlines()[-1]))
        out[name] = merge(parts, duration)
    return out


def merge(parts: list[dict[str, Any]], duration: float) -> dict[str, Any]:
    lat = sorted(x for p in parts for x in p.pop("latencies_ms"))
    codes: Counter[str] = Counter()
    for p in parts:
        codes.update(p["codes"])
    total = {k: sum(p[k] for p in parts) for k in ("answered", "calls", "unfinished", "refusals", "held_open",
                                                     "generator_cpu_s")}  # fmt: skip
    wall = max(p["generator_wall_s"] for p in parts)
    return {
        **total,
        "answers_per_s": total["answered"] / duration,
        "p50_ms": quantile(lat, 0.50),
        "p99_ms": quantile(lat, 0.99),
        "codes": dict(codes),
        "processes": len(parts),
        # cores the generator used (all its processes), over the whole run
        "generator_cores": total["generator_cpu_s"] / wall if wall else 0.0,
    }


def quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0
