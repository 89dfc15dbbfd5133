"""`adapter-hub status` and the tenant serving-policy flags (`tenant add|set --weight --rps --tps`)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from hub.transport.client import HubClient

UNLIMITED = ("unlimited", "none", "off")


def rate(text: str) -> float | str:
    """A rate limit flag: a number, or `unlimited` to remove the limit."""
    if text.strip().lower() in UNLIMITED:
        return "unlimited"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'unlimited', got {text!r}") from None


def add_limit_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--weight", type=float, help="share of the hub while tenants compete, in proportion (default 1)"
    )
    parser.add_argument("--rps", type=rate, help="requests per second ('unlimited' removes the limit)")
    parser.add_argument("--tps", type=rate, help="input tokens per second ('unlimited' removes the limit)")


def limit_args(args: argparse.Namespace) -> dict[str, Any]:
    """The flags as HubClient.set_tenant_limits / create_tenant keywords."""
    out: dict[str, Any] = {}
    if args.weight is not None:
        out["weight"] = args.weight
    for name in ("rps", "tps"):
        value = getattr(args, name)
        if value == "unlimited":
            out[f"unlimited_{name}"] = True
        elif value is not None:
            out[name] = value
    return out


def add_fairness_parsers(
    sub: argparse._SubParsersAction, tenant_actions: argparse._SubParsersAction, common: argparse.ArgumentParser
) -> None:
    help_ = "the inference queue per tenant: queued and served work, refusals by reason"
    p = sub.add_parser("status", parents=[common], help=help_, description=help_)
    p.set_defaults(handler=cmd_status)
    p = tenant_actions.add_parser(
        "set", parents=[common], help="change a tenant's serving weight and rate limits (unset flags stay)"
    )
    p.add_argument("tenant")
    add_limit_flags(p)
    p.set_defaults(handler=cmd_tenant_set)


def _client(args: argparse.Namespace) -> HubClient:
    return HubClient(args.target, api_key=args.api_key, timeout=args.timeout)


def cmd_tenant_set(args: argparse.Namespace) -> int:
    limits = limit_args(args)
    if not limits:
        raise ValueError("nothing to change: give --weight, --rps and/or --tps")
    with _client(args) as client:
        t = client.set_tenant_limits(args.tenant, **limits)
    row = {"tenant": t.tenant, "weight": t.weight, "rps": t.rps or None, "tps": t.tps or None}
    if args.json:
        json.dump(row, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(f"tenant {t.tenant}: {policy_text(t.weight, t.rps, t.tps)}")
    return 0


def policy_text(weight: float, rps: float, tps: float) -> str:
    rates = [f"{rps:g} requests/s" if rps else "", f"{tps:g} tokens/s" if tps else ""]
    limits = ", ".join(r for r in rates if r) or "no rate limit"
    return f"weight {weight:g}, {limits}"


def cmd_status(args: argparse.Namespace) -> int:
    with _client(args) as client:
        s = client.queue_status()
    rows = [
        {
            "tenant": t.tenant,
            "weight": t.weight,
            "queued_requests": t.queued_requests,
            "queued_tokens": t.queued_tokens,
            "served_requests": t.served_requests,
            "served_tokens": t.served_tokens,
            "refusals": dict(sorted(t.refusals.items())),
        }
        for t in s.tenants
    ]
    if args.json:
        totals = {
            k: getattr(s, k)
            for k in ("queued_requests", "queued_tokens", "max_requests", "max_tokens", "tenant_max_requests",
                      "tenant_max_tokens", "tokens_per_s", "batch_ms")
        }  # fmt: skip
        json.dump({"scheduler": s.scheduler, **totals, "tenants": rows}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if s.max_requests:  # the operator's view
        print(
            f"scheduler {s.scheduler}: queued {s.queued_requests} requests / {s.queued_tokens} tokens "
            f"(bounds {s.max_requests} / {s.max_tokens}; per tenant {s.tenant_max_requests} / "
            f"{s.tenant_max_tokens}); engine {s.tokens_per_s:,.0f} tokens/s, full batch {s.batch_ms:.0f} ms"
        )
    else:
        print(f"scheduler {s.scheduler}")
    print(f"{'tenant':<24} {'weight':>6} {'queued':>7} {'q.tokens':>9} {'served':>8} {'s.tokens':>10}  refusals")
    for r in rows:
        refusals = ", ".join(f"{k} {v}" for k, v in r["refusals"].items()) or "-"
        print(
            f"{r['tenant']:<24} {r['weight']:>6g} {r['queued_requests']:>7} {r['queued_tokens']:>9} "
            f"{r['served_requests']:>8} {r['served_tokens']:>10}  {refusals}"
        )
    return 0
