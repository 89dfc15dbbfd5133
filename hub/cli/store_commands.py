"""`adapter-hub gc` and `adapter-hub verify`: the operator's store upkeep, run by the server
(it holds the store's credentials; the CLI only needs the admin key)."""

from __future__ import annotations

import argparse
import dataclasses

from hub.cli.connection import connect
from hub.cli.render import show
from hub.residency.tier import human_bytes


def cmd_gc(args: argparse.Namespace) -> int:
    with connect(args) as client:
        done = client.collect_garbage(dry_run=args.dry_run)
    verb = "would reclaim" if done.dry_run else "reclaimed"
    lines = [
        f"{verb} {done.blobs} blobs ({human_bytes(done.blob_bytes)}) and {done.temp_files} temp/lock files "
        f"({human_bytes(done.temp_bytes)}) in {done.seconds:.1f} s",
        f"kept {done.kept_blobs} unreferenced blobs younger than the grace period",
    ]
    if done.skipped:
        lines.append(f"skipped (damaged version records; run `adapter-hub verify`): {', '.join(done.skipped)}")
    return show(args.json, dataclasses.asdict(done), lines)


def cmd_verify(args: argparse.Namespace) -> int:
    with connect(args) as client:
        report = client.verify_store(quarantine=args.quarantine)
    lines = [f"checked {report.blobs} blobs and {report.records} version records: {len(report.damaged)} damaged"]
    for d in report.damaged:
        lines.append(f"  {d.namespace}: {d.kind} {d.what}{'  (quarantined)' if d.quarantined else ''}")
    show(args.json, dataclasses.asdict(report), lines)
    return 1 if report.damaged else 0


def add_store_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    gc = sub.add_parser(
        "gc",
        parents=[common],
        help="operator: reclaim stored data no live version needs (after the grace period)",
        description="Reclaim blobs no live version references, temp files and idle lock files older "
        "than the server's grace period (ADAPTER_HUB_GC_GRACE_S). Needs the admin key.",
    )
    gc.add_argument("--dry-run", action="store_true", help="count what would be reclaimed; change nothing")
    gc.set_defaults(handler=cmd_gc)
    verify = sub.add_parser(
        "verify",
        parents=[common],
        help="operator: check every stored blob and version record (exit 1 if any is damaged)",
        description="Check every stored blob against its sha256 and every version record; report "
        "the damaged ones. Needs the admin key.",
    )
    verify.add_argument(
        "--quarantine",
        action="store_true",
        help="move damaged objects to quarantine/ (a damaged blob is then written whole by the next upload of it)",
    )
    verify.set_defaults(handler=cmd_verify)
