"""`adapter-hub status` and the tenant serving-policy flags (`tenant add|set --weight --rps --tps`)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

from adapter_hub_client import QueueStatus

from hub.cli.connection import connect
from hub.cli.render import fields_json, show

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


def add_tenant_set_parser(tenant_actions: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = tenant_actions.add_parser(
        "set", parents=[common], help="change a tenant's serving weight and rate limits (unset flags stay)"
    )
    p.add_argument("tenant")
    add_limit_flags(p)
    p.set_defaults(handler=cmd_tenant_set)


def cmd_tenant_set(args: argparse.Namespace) -> int:
    limits = limit_args(args)
    if not limits:
        raise ValueError("nothing to change: give --weight, --rps and/or --tps")
    with connect(args) as client:
        t = client.set_tenant_limits(args.tenant, **limits)
    row = {"tenant": t.tenant, "weight": t.weight, "rps": t.rps or None, "tps": t.tps or None}
    return show(args.json, row, [f"tenant {t.tenant}: {policy_text(t.weight, t.rps, t.tps)}"])


def policy_text(weight: float, rps: float, tps: float) -> str:
    rates = [f"{rps:g} requests/s" if rps else "", f"{tps:g} tokens/s" if tps else ""]
    limits = ", ".join(r for r in rates if r) or "no rate limit"
    return f"weight {weight:g}, {limits}"


def queue_json(s: QueueStatus) -> dict[str, Any]:
    """`adapter-hub status --json`'s "queue": the scheduler's numbers."""
    data = fields_json(s)
    data["tenants"] = [{**fields_json(t), "refusals": dict(sorted(t.refusals.items()))} for t in s.tenants]
    return data


def queue_lines(s: QueueStatus) -> Iterator[str]:
    """`adapter-hub status`'s inference queue: per tenant queued and served work, refusals."""
    if s.max_requests:  # the operator's view
        yield (
            f"scheduler {s.scheduler}: queued {s.queued_requests} requests / {s.queued_tokens} tokens "
            f"(bounds {s.max_requests} / {s.max_tokens}; per tenant {s.tenant_max_requests} / "
            f"{s.tenant_max_tokens}); engine {s.tokens_per_s:,.0f} tokens/s, full batch {s.batch_ms:.0f} ms"
        )
    else:
        yield f"scheduler {s.scheduler}"
    yield f"{'tenant':<24} {'weight':>6} {'queued':>7} {'q.tokens':>9} {'served':>8} {'s.tokens':>10}  refusals"
    for t in s.tenants:
        refusals = ", ".join(f"{k} {v}" for k, v in sorted(t.refusals.items())) or "-"
        yield (
            f"{t.tenant:<24} {t.weight:>6g} {t.queued_requests:>7} {t.queued_tokens:>9} "
            f"{t.served_requests:>8} {t.served_tokens:>10}  {refusals}"
        )
