"""The hostile flood of the isolation issue (benchmarks/fairness_hostile.py) through a 2-replica
cluster (`adapter-hub cluster up`, packaged MiniLM, auth on, a local store shared by the
replicas, every other setting at the hub's default): 256 hostile clients of tenant ``flood``
that resend the moment a call ends, and tenant ``quiet`` at 2 requests/s with one text; B is one
request of 32 texts on the idle cluster (median of 3). Clients send the metadata the client
library sends (``application``, and the adapter as ``multiplexed_model_id``, scoped by the
API key's public id as the client library scopes it).

Both tenants call an adapter named ``sentiment``: the routing key is the adapter name (it names
no tenant), so Serve routes both to the replica that holds it, and the arms differ only in
where calls wait:

- ``ongoing 1024`` (ClusterConfig's default): a replica takes up to 1,024 calls at once, so they
  wait in its fair queue (per tenant, weighted) and its own bounds refuse the excess.
- ``ongoing 64`` (the default before): beyond 64 calls a replica, calls wait in Serve's router,
  first in, first out, up to ``max_queued_requests`` (256), where the quiet tenant's call waits
  behind the flood's.

- ``single``: the same flood against one `adapter-hub serve` (hub_process.serve), for scale:
  what the cluster adds on this machine.

Aim: quiet p50 <= 3 B with the default. Also reported: quiet's calls as the replicas timed them
(adapter_hub_tenant_request_seconds from every replica's /metrics), which separates time inside
the hub from time in Serve's proxy and router.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from adapter_hub_client.config import ClientConfig
from fairness_hostile import flood, quiet, setup
from hub_process import ADMIN_KEY, PACKAGED, Served, free_port, loadavg, run_groups, serve
from prometheus_client.parser import text_string_to_metric_families

CLI = [sys.executable, "-m", "hub.cli.main"]
ARMS: tuple[int | str, ...] = (1024, 64, "single")  # max ongoing calls per replica (default, before), one hub
CLIENTS = 256


@contextmanager
def cluster(max_ongoing: int) -> Iterator[tuple[Served, Path]]:
    """A 2-replica cluster on 127.0.0.1 (free port), stopped when the block ends."""
    with tempfile.TemporaryDirectory(prefix="bench-cluster-flood-") as tmp:
        root, port = Path(tmp), free_port()
        state = root / "state"
        command = [
            *CLI, "cluster", "up", "--replicas", "2", "--port", str(port), "--state-dir", str(state),
            "--store", str(root / "store"), "--backbone", PACKAGED, "--disk-cache-dir", "off", "--auth", "on",
            "--torch-threads", "1", "--max-ongoing", str(max_ongoing), "--wait", "600",
        ]  # fmt: skip
        env = {**os.environ, "ADAPTER_HUB_ADMIN_KEY": ADMIN_KEY, "HF_HUB_OFFLINE": "1"}
        subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
        try:
            yield Served(None, f"127.0.0.1:{port}", root / "store"), state  # type: ignore[arg-type]  # no process
        finally:
            subprocess.run([*CLI, "cluster", "down", "--state-dir", str(state)], check=True, stdout=subprocess.DEVNULL)


def hub_latency(state: Path, tenant: str, since: dict[str, float] | None = None) -> dict[str, float]:
    """The tenant's calls as the replicas timed them (adapter_hub_tenant_request_seconds, summed
    over every replica's /metrics, from `cluster status`): cumulative bucket counts by ``le``,
    ``sum`` and ``count``; with ``since``, the difference (the window's calls)."""
    status = subprocess.run(
        [*CLI, "cluster", "status", "--json", "--state-dir", str(state)], check=True, capture_output=True
    )
    totals: dict[str, float] = {}
    for replica in json.loads(status.stdout)["replicas"]:
        with urllib.request.urlopen(f"http://{replica['metrics']}/metrics", timeout=10) as answer:
            text = answer.read().decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name.startswith("adapter_hub_tenant_request_seconds") and sample.labels["tenant"] == tenant:
                    key = sample.labels.get("le", sample.name.rpartition("_")[2])
                    totals[key] = totals.get(key, 0.0) + sample.value
    return {k: v - (since or {}).get(k, 0.0) for k, v in totals.items()}


def in_hub_p50(latency: dict[str, float]) -> str:
    """The bucket that holds the median, and the mean, of the calls the replicas timed."""
    count = latency.get("count", 0.0)
    if not count:
        return "-"
    bound = next(le for le, n in sorted(((float(k), v) for k, v in latency.items() if k[0].isdigit() or k == "+Inf"),
                                        key=lambda kv: kv[0]) if n >= count / 2)  # fmt: skip
    return f"<= {bound * 1000:.0f} (mean {latency['sum'] / count * 1000:.0f})"


def routed(spec: dict[str, Any]) -> dict[str, Any]:
    """The routing metadata the client library sends with this spec's key (its call_metadata)."""
    config = ClientConfig(api_key=spec["key"])
    return spec | {"metadata": [[k, v] for k, v in config.call_metadata(spec["adapter"]) if k != "authorization"]}


def run_flood(quick: bool) -> dict[str, Any]:
    w, d = (3.0, 10.0) if quick else (5.0, 20.0)
    out: dict[str, Any] = {"load_start": loadavg(), "warmup_s": w, "duration_s": d}
    for max_ongoing in ARMS:
        begun = time.perf_counter()
        if max_ongoing == "single":
            with serve() as served:
                b = setup(served)
                both = run_groups({"quiet": quiet(served), "flood": flood(served, CLIENTS)}, w, d, {"flood": 2})
            out["single"] = {"b_s": b, **both, "quiet_in_hub": {}, "load": loadavg()}
            continue
        with cluster(int(max_ongoing)) as (served, state):
            b = setup(served)
            before = hub_latency(state, "quiet")
            groups = {"quiet": routed(quiet(served)), "flood": routed(flood(served, CLIENTS))}
            both = run_groups(groups, w, d, {"flood": 2})
            in_hub = hub_latency(state, "quiet", before)
        out[f"ongoing{max_ongoing}"] = {"b_s": b, **both, "quiet_in_hub": in_hub, "load": loadavg()}
        print(f"(ongoing {max_ongoing}: {time.perf_counter() - begun:.0f} s, load {loadavg()})", file=sys.stderr)
    return out


def _codes(group: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(group["codes"].items()))


def report_flood(out: dict[str, Any]) -> list[str]:
    names = {k: f"ongoing{k}" if k != "single" else "single" for k in ARMS}
    head = " | ".join(f"ongoing {m}" if m != "single" else "one hub (serve)" for m in ARMS)
    lines = [
        f"| {CLIENTS} hostile clients beside quiet, 2 replicas | {head} | aim |",
        "|---|" + "---:|" * len(ARMS) + "---|",
    ]
    arms = [out[names[m]] for m in ARMS]

    def row(name: str, values: list[str], aim: str = "") -> None:
        lines.append(f"| {name} | " + " | ".join(values) + f" | {aim} |")

    row("B: one request of 32 texts, idle cluster (s)", [f"{a['b_s']:.3f}" for a in arms])
    row(
        "quiet calls sent / answered in the window", [f"{a['quiet']['calls']} / {a['quiet']['answered']}" for a in arms]
    )
    row("quiet p50 / p99 (ms)", [f"{a['quiet']['p50_ms']:.0f} / {a['quiet']['p99_ms']:.0f}" for a in arms])
    row("quiet p50 inside the replica (ms; bucket bound)", [in_hub_p50(a["quiet_in_hub"]) for a in arms])
    row("**quiet p50 in units of B**", [f"**{a['quiet']['p50_ms'] / 1000 / a['b_s']:.2f}**" for a in arms], "<= 3 B")
    row("quiet codes", [_codes(a["quiet"]) for a in arms], "never refused")
    row("flood answers/s", [f"{a['flood']['answers_per_s']:.1f}" for a in arms])
    row("flood p50 / p99 (ms)", [f"{a['flood']['p50_ms']:.0f} / {a['flood']['p99_ms']:.0f}" for a in arms])
    row("flood codes", [_codes(a["flood"]) for a in arms])
    row("generator cores (flood)", [f"{a['flood']['generator_cores']:.2f}" for a in arms])
    row("load average after the arm", [a["load"] for a in arms])
    base = arms[1]["quiet"]["p50_ms"]
    ratio = f"{arms[0]['quiet']['p50_ms'] / base:.2f}" if base else "n/a (no quiet call answered at 64)"
    lines.append(f"\nquiet p50 ratio, ongoing {ARMS[0]} / ongoing {ARMS[1]}: {ratio}")
    lines.append(f"load average at the start: {out['load_start']}")
    return lines


def main(quick: bool, json_path: str | None) -> int:
    out = run_flood(quick)
    if json_path:
        Path(json_path).write_text(json.dumps(out, indent=1))
    print("\n".join(report_flood(out)))
    return 0
