"""Isolation between tenants (issue 21): idle calls and pathological texts from one tenant,
measured by what every other tenant sees. A client-side benchmark: it starts a real
`adapter-hub serve` (packaged backbone, auth on, hub defaults) on 127.0.0.1 and drives it from
other processes, so it measures today's front end and the asyncio one with the same script.

Tenants: ``other`` (the shipped finance sentiment adapter) probes the hub throughout: Predict of
one short text at 4/s and the gRPC health check at 2/s (Poisson arrivals, 10 s deadlines: an
unanswered probe counts with its 10 s). ``hog`` (the shipped medical NER and legal clause
adapters) misbehaves:

1. idle: ``--streams`` PredictStream calls that never send and ``--uploads`` UploadAdapter calls
   that send a header and one 64 KiB chunk, then nothing, all held open through the window.
   Other's p50 against alone (same server, just before), its refusals and timeouts; the
   server's thread count and RSS (/proc) at most during the window against idle.
2. pathological: ``--texts`` calls in flight at once, half ``"MRN" + " " * (n - 4) + "!"`` to
   the medical NER adapter (its de-identification regex backtracks), half ``"Terms" + "\n" * (n - 11) +
   "apply."`` to the legal clause adapter (its sentence splitter; ``n`` newlines alone are
   refused at once as an empty text); n = ``--chars``. Other's p50 against
   alone, and how long each offending call took (to its answer, whatever the code). Today both
   grow with n squared: 20,000 characters (the issue's size) cost about 27 s per medical text and
   4 s per legal text on a quiet core, so the default is 10,000 (a quarter of that).

A fresh server per arm (a pathological text keeps running on the server after its client has
gone). Prints markdown; ``--json`` writes every number.

    .venv/bin/python benchmarks/bench_isolation.py --quick            # about 2 minutes
    .venv/bin/python benchmarks/bench_isolation.py --streams 1000 --uploads 100 --chars 20000 --texts 8
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub_process import SHIPPED, Served, loadavg, run_groups, serve

SHORT = ["Shares rose 3% after the earnings call.", "The company cut its guidance for the year."]
PROBE_DEADLINE_S = 10.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short windows (8 s)")
    p.add_argument("--streams", type=int, default=100, help="idle PredictStreams (default 100; the issue: 1000)")
    p.add_argument("--uploads", type=int, default=20, help="stalled uploads (default 20; the issue: 100)")
    p.add_argument("--texts", type=int, default=8, help="pathological texts in flight (default 8)")
    p.add_argument(
        "--chars", type=int, default=10000, help="characters per pathological text (default 10000; issue 20000)"
    )
    p.add_argument("--duration", type=float, default=0, help="measured seconds per phase (default 15; quick 8)")
    p.add_argument("--skip", default="", help="comma list of arms to skip: idle,pathological")
    p.add_argument("--json", help="also write every number to this file")
    return p.parse_args(argv)


def probes(served: Served) -> dict[str, dict[str, Any]]:
    base = {"target": served.target, "key": served.keys["bystander"], "deadline_s": PROBE_DEADLINE_S, "linger_s": 12.0}
    return {
        "predict": {**base, "kind": "open", "rate": 4.0, "adapter": served.adapters["bystander"], "texts": SHORT},
        "health": {**base, "kind": "open", "rate": 2.0, "method": "health"},
    }


def start(served: Served) -> None:
    served.add_tenant("bystander", SHIPPED / "finance-tweet-sentiment", "sentiment")
    served.add_tenant("hog", SHIPPED / "ncbi-disease-ner", "ner")
    with served.client("hog") as hog:
        hog.push(SHIPPED / "unfair-tos", "tos")
    with served.client("bystander") as other:  # warm: adapter resident, first batch done
        other.predict("sentiment", SHORT)


class Sampler:
    """The server's threads and RSS, sampled every 0.25 s while running (the most seen)."""

    def __init__(self, served: Served) -> None:
        self.served, self.stop = served, threading.Event()
        self.most: dict[str, float] = {"threads": 0, "rss_mib": 0.0}
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.wait(0.25):
            now = self.served.status()
            for k in self.most:
                self.most[k] = max(self.most[k], now[k])

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()


def arm_idle(args: argparse.Namespace, d: float) -> dict[str, Any]:
    with serve() as served:
        start(served)
        idle = served.status()
        alone = run_groups(probes(served), 1.0, d)
        hog = {"target": served.target, "key": served.keys["hog"], "linger_s": 5.0}
        groups = {
            **probes(served),
            "streams": {**hog, "kind": "idle_streams", "clients": args.streams},
            "uploads": {**hog, "kind": "stalled_uploads", "clients": args.uploads},
        }
        with Sampler(served) as sampler:
            both = run_groups(groups, 3.0, d)  # 3 s to open every call before the window
        after = served.status()
    return {"idle_server": idle, "during_max": sampler.most, "after": after, "alone": alone, "with": both}


def pathological_texts(n: int) -> tuple[list[str], list[str]]:
    # legal: newlines between two words (newlines alone are refused as an empty text at once)
    return ["MRN" + " " * (n - 4) + "!"], ["Terms" + "\n" * (n - 11) + "apply."]


def arm_pathological(args: argparse.Namespace, d: float) -> dict[str, Any]:
    medical, legal = pathological_texts(args.chars)
    with serve() as served:
        start(served)
        alone = run_groups(probes(served), 1.0, d)
        hog = {"target": served.target, "key": served.keys["hog"], "kind": "burst", "all_codes": True,
               "deadline_s": 600.0, "linger_s": 600.0}  # fmt: skip
        groups = {
            **probes(served),
            "medical": {**hog, "adapter": "ner", "texts": medical, "clients": args.texts - args.texts // 2},
            "legal": {**hog, "adapter": "tos", "texts": legal, "clients": args.texts // 2},
        }
        both = run_groups(groups, 1.0, d)
    return {"alone": alone, "with": both}


def _p50(result: dict[str, Any], group: str) -> str:
    g = result[group]
    late = f" ({g['unfinished']} unanswered)" if g["unfinished"] else ""
    return f"{g['p50_ms']:.0f}{late}"


def _codes(g: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(g["codes"].items()))


def report_idle(r: dict[str, Any], args: argparse.Namespace) -> list[str]:
    a, w = r["alone"], r["with"]
    idle, most = r["idle_server"], r["during_max"]
    return [
        f"\n### Idle calls: {args.streams} idle PredictStreams + {args.uploads} stalled uploads (one tenant)\n",
        "| measure | alone | with the idle calls | ratio |",
        "|---|---:|---:|---:|",
        f"| other's Predict p50 (ms) | {_p50(a, 'predict')} | {_p50(w, 'predict')} | "
        f"{w['predict']['p50_ms'] / max(a['predict']['p50_ms'], 1e-9):.2f} |",
        f"| other's Predict p99 (ms) | {a['predict']['p99_ms']:.0f} | {w['predict']['p99_ms']:.0f} | |",
        f"| other's Predict codes | {_codes(a['predict'])} | {_codes(w['predict'])} | |",
        f"| health check p50 (ms) | {_p50(a, 'health')} | {_p50(w, 'health')} | |",
        f"| health check codes | {_codes(a['health'])} | {_codes(w['health'])} | |",
        f"| server threads (idle / most during) | {idle['threads']} | {most['threads']:.0f} | "
        f"{most['threads'] / idle['threads']:.2f} |",
        f"| server RSS MiB (idle / most during) | {idle['rss_mib']:.0f} | {most['rss_mib']:.0f} | "
        f"+{most['rss_mib'] - idle['rss_mib']:.0f} MiB |",
        f"| idle calls still open at the end (streams / uploads) | | {w['streams']['held_open']} / "
        f"{w['uploads']['held_open']} | |",
        f"| idle calls ended by the server: codes | | {_codes(w['streams'])} / {_codes(w['uploads'])} | |",
    ]


def report_pathological(r: dict[str, Any], args: argparse.Namespace) -> list[str]:
    a, w = r["alone"], r["with"]
    return [
        f"\n### Pathological texts: {args.texts} in flight, {args.chars:,} characters each\n",
        "| measure | alone | with the texts in flight | ratio |",
        "|---|---:|---:|---:|",
        f"| other's Predict p50 (ms) | {_p50(a, 'predict')} | {_p50(w, 'predict')} | "
        f"{w['predict']['p50_ms'] / max(a['predict']['p50_ms'], 1e-9):.2f} |",
        f"| other's Predict codes | {_codes(a['predict'])} | {_codes(w['predict'])} | |",
        f"| health check p50 (ms) | {_p50(a, 'health')} | {_p50(w, 'health')} | |",
        f"| health check codes | {_codes(a['health'])} | {_codes(w['health'])} | |",
        f"| medical (`MRN` + spaces) calls: p50 / max s, codes | | {w['medical']['p50_ms'] / 1000:.1f} / "
        f"{w['medical']['p99_ms'] / 1000:.1f}, {_codes(w['medical'])} | |",
        f"| legal (newlines) calls: p50 / max s, codes | | {w['legal']['p50_ms'] / 1000:.1f} / "
        f"{w['legal']['p99_ms'] / 1000:.1f}, {_codes(w['legal'])} | |",
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    d = args.duration or (8.0 if args.quick else 15.0)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    out: dict[str, Any] = {"load_start": loadavg(), "cpus": os.cpu_count(), "args": vars(args)}
    started = time.perf_counter()
    print(f"## bench_isolation\n\nload average at start: {out['load_start']} ({os.cpu_count()} CPUs)", flush=True)
    if "idle" not in skip:
        out["idle"] = arm_idle(args, d)
        print("\n".join(report_idle(out["idle"], args)), f"\n\n(load average {loadavg()})", flush=True)
    if "pathological" not in skip:
        out["pathological"] = arm_pathological(args, d)
        print("\n".join(report_pathological(out["pathological"], args)), f"\n\n(load average {loadavg()})")
    out["seconds"] = time.perf_counter() - started
    out["load_end"] = loadavg()
    print(f"\n(total {out['seconds']:.0f} s; load average {out['load_start']} at start, {out['load_end']} at end)")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
