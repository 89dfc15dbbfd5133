"""`adapter-hub load|unload|pin|unpin NAME[@VERSION]` and `adapter-hub status`: residency (and
the inference queue per tenant, hub/cli/fairness_commands.py)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from adapter_hub_client import ResidencyStatus, ResidentAdapter

from hub.cli.client_commands import connect
from hub.cli.domain_commands import domain_json, domain_lines
from hub.cli.fairness_commands import queue_json, queue_lines
from hub.cli.render import emit_json, fields_json
from hub.residency.tier import human_bytes

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
        help="residency per tier (count, bytes, budget, hits, misses, evictions, load latency) and the "
        "inference queue per tenant (queued and served work, refusals by reason)",
    )
    p.set_defaults(handler=cmd_status)


def resident_json(a: ResidentAdapter) -> dict[str, Any]:
    return fields_json(a)


def _action(action: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        with connect(args) as client:
            response = getattr(client, action)(args.adapter)  # HubClient.load, .unload, .pin, .unpin
        a = response.adapter
        if args.json:
            emit_json({**resident_json(a), "elapsed_ms": round(response.elapsed_ms, 3)})
            return 0
        where = ",".join(a.tiers) or "store only"
        packed = f", {human_bytes(a.device_bytes)} packed" if a.device_bytes else ""
        pinned = " (pinned)" if a.pinned else ""
        print(f"{a.name}@{a.version} {action}ed: {where}{pinned}{packed} in {response.elapsed_ms:.1f} ms")
        return 0

    return run


def status_json(response: ResidencyStatus) -> dict[str, Any]:
    store = fields_json(response.store)
    store["retry_in_s"] = round(store["retry_in_s"], 3)
    return {
        "tiers": [fields_json(t) for t in response.tiers],
        "store": store,
        "adapters": [resident_json(a) for a in response.adapters],
        "draining": response.draining,
        "alias_ttl_s": response.alias_ttl_s,
        "stale_served": response.stale_served,
        "label_drift": list(response.label_drift),
    }


def cmd_status(args: argparse.Namespace) -> int:
    with connect(args) as client:
        response = client.residency_status()
        queue = client.queue_status()
        domains = client.list_domains()
    if args.json:
        emit_json({**status_json(response), "queue": queue_json(queue), "domains": [domain_json(d) for d in domains]})
        return 0
    head = ("tier", "count", "bytes", "budget", "pinned", "hits", "misses", "evictions", "loads", "p50 ms", "p99 ms")
    print("{:<7}{:>7}{:>11}{:>11}{:>8}{:>9}{:>8}{:>11}{:>7}{:>9}{:>9}".format(*head))
    for t in response.tiers:
        store = t.name == "store"
        print(
            "{:<7}{:>7}{:>11}{:>11}{:>8}{:>9}{:>8}{:>11}{:>7}{:>9.2f}{:>9.2f}".format(
                t.name,
                "-" if store else t.count,
                "-" if store else human_bytes(t.bytes),
                "-" if store else human_bytes(t.budget_bytes),
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
        packed = f"{human_bytes(a.device_bytes)} packed / " if a.device_bytes else ""
        where = ",".join(a.tiers) or "-"
        print(f"  {a.name}@{a.version:<6} {where:<17} {packed}{human_bytes(a.file_bytes)} stored{pinned}")
    for line in queue_lines(queue):
        print(line)
    if response.label_drift:
        print(f"stored adapters whose labels differ from their task's ({len(response.label_drift)}):")
        for line in response.label_drift:
            print(f"  {line}")
    for line in domain_lines(domains):  # each domain adapter's users: counts only
        print(line)
    return 0
