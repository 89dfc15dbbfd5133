"""`adapter-hub load|unload|pin|unpin NAME[@VERSION]` and `adapter-hub status`: residency."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from google.protobuf.json_format import MessageToDict

from hub.api.v1 import residency_pb2
from hub.cli.render import human_size
from hub.transport.client import HubClient
from hub.transport.residency_client import ResidencyClient

ACTIONS = {
    "load": "bring an adapter version into every tier now (as a first request would)",
    "unload": "free an adapter's memory (device and host tiers) and unpin it",
    "pin": "load an adapter and keep it resident until unpinned",
    "unpin": "let a pinned adapter be evicted again",
}


def add_residency_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    for action, help_ in ACTIONS.items():
        p = sub.add_parser(action, parents=[common], help=help_, description=help_)
        p.add_argument("adapter", metavar="NAME[@VERSION]", help="an alias resolves once, to the version it names now")
        p.set_defaults(handler=_action(action))
    p = sub.add_parser(
        "status",
        parents=[common],
        help="residency per tier: count, bytes, budget, hits, misses, evictions, load latency",
    )
    p.set_defaults(handler=cmd_status)


def _emit(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


def resident_json(a: residency_pb2.ResidentAdapter) -> dict[str, Any]:
    return {
        "name": a.name,
        "version": a.version,
        "tiers": list(a.tiers),
        "pinned": a.pinned,
        "device_bytes": a.device_bytes,
        "file_bytes": a.file_bytes,
    }


def _action(action: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        with HubClient(args.target, api_key=args.api_key, timeout=args.timeout) as client:
            response = getattr(ResidencyClient(client), action)(args.adapter)
        a = response.adapter
        if args.json:
            _emit({**resident_json(a), "elapsed_ms": round(response.elapsed_ms, 3)})
            return 0
        where = ",".join(a.tiers) or "store only"
        packed = f", {human_size(a.device_bytes)} packed" if a.device_bytes else ""
        pinned = " (pinned)" if a.pinned else ""
        print(f"{a.name}@{a.version} {action}ed: {where}{pinned}{packed} in {response.elapsed_ms:.1f} ms")
        return 0

    return run


def status_json(response: residency_pb2.ResidencyStatusResponse) -> dict[str, Any]:
    tiers = [
        MessageToDict(t, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
        for t in response.tiers
    ]
    for t in tiers:  # int64 fields come back as strings from MessageToDict
        for k, v in t.items():
            if k != "name" and isinstance(v, str):
                t[k] = int(v)
    s = response.store
    return {
        "tiers": tiers,
        "store": {
            "breaker": s.breaker,
            "consecutive_failures": s.consecutive_failures,
            "retry_in_s": round(s.retry_in_s, 3),
            "failures": s.failures,
            "rejected": s.rejected,
            "last_error": s.last_error,
        },
        "adapters": [resident_json(a) for a in response.adapters],
        "draining": response.draining,
        "alias_ttl_s": response.alias_ttl_s,
        "stale_served": response.stale_served,
    }


def cmd_status(args: argparse.Namespace) -> int:
    with HubClient(args.target, api_key=args.api_key, timeout=args.timeout) as client:
        response = ResidencyClient(client).status()
    if args.json:
        _emit(status_json(response))
        return 0
    head = ("tier", "count", "bytes", "budget", "pinned", "hits", "misses", "evictions", "loads", "p50 ms", "p99 ms")
    print("{:<7}{:>7}{:>11}{:>11}{:>8}{:>9}{:>8}{:>11}{:>7}{:>9}{:>9}".format(*head))
    for t in response.tiers:
        store = t.name == "store"
        print(
            "{:<7}{:>7}{:>11}{:>11}{:>8}{:>9}{:>8}{:>11}{:>7}{:>9.2f}{:>9.2f}".format(
                t.name,
                "-" if store else t.count,
                "-" if store else human_size(t.bytes),
                "-" if store else human_size(t.budget_bytes),
                "-" if store else t.pinned,
                t.hits,
                t.misses,
                "-" if store else t.evictions,
                t.loads,
                t.load_p50_ms,
                t.load_p99_ms,
            )
        )
    s = response.store
    retry = f", next probe in {s.retry_in_s:.1f} s" if s.breaker == "open" else ""
    print(
        f"store breaker {s.breaker or 'n/a'} ({s.consecutive_failures} consecutive failures{retry}); "
        f"alias ttl {response.alias_ttl_s:g} s; stale answers {response.stale_served}; draining {response.draining}"
    )
    for a in response.adapters:
        pinned = "  pinned" if a.pinned else ""
        packed = f"{human_size(a.device_bytes)} packed / " if a.device_bytes else ""
        where = ",".join(a.tiers) or "-"
        print(f"  {a.name}@{a.version:<6} {where:<17} {packed}{human_size(a.file_bytes)} stored{pinned}")
    return 0
