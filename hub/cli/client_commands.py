"""Client subcommands: talk to a running hub through gRPC."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from adapter_hub_client import Adapter, ServerInfo

from hub.cli.bulk import cmd_predict_file
from hub.cli.connection import connect
from hub.cli.fairness_commands import limit_args, policy_text
from hub.cli.render import emit_json, fields_json, prediction_json, prediction_lines, show, version_json
from hub.residency.tier import human_bytes

NO_LABELS = "(labels from each adapter)"


def cmd_push(args: argparse.Namespace) -> int:
    directory = Path(args.directory)
    if not directory.is_dir():
        print(f"error: {directory} is not a directory", file=sys.stderr)
        return 2
    labels = [x.strip() for x in args.labels.split(",")] if args.labels else []
    with connect(args) as client:
        name = f"{args.domain}:{args.name}" if args.domain else args.name
        info = client.push(
            directory,
            name,
            task=args.task,
            labels=labels,
            description=args.description,
            idempotency_key=getattr(args, "idempotency_key", None),
        )
    tasks = ", ".join(t.task for t in info.tasks)
    line = f"{info.name}@{info.version}  ({human_bytes(info.size_bytes)}, tasks: {tasks})"
    return show(args.json, {"name": info.name, **version_json(info)}, [line])


def cmd_predict(args: argparse.Namespace) -> int:
    if bool(args.file) == bool(args.texts):
        raise ValueError("give the texts as arguments or --file, not both or neither")
    if args.file and args.json_array:
        raise ValueError("--json-array is for texts given as arguments; --file --json prints JSON Lines")
    if args.file:
        with connect(args) as client:
            return cmd_predict_file(args, client)
    with connect(args) as client:
        predictions = client.predict(args.adapter, list(args.texts), task=args.task)
    data = [prediction_json(p) for p in predictions]
    if args.json_array:
        return show(True, data, [])
    if args.json:  # JSON Lines: one object per text, one line each, as with --file
        for item in data:
            print(json.dumps(item))
        return 0
    first = predictions[0]
    lines = [f"# {first.served_by}  task {first.task} ({first.head_kind})"]
    for text, p in zip(args.texts, predictions, strict=True):
        lines += prediction_lines(text, p)
    return show(False, data, lines)


def cmd_fanout(args: argparse.Namespace) -> int:
    with connect(args) as client:
        predictions = client.fan_out(args.text, list(args.targets))  # ADAPTER[@VERSION][:TASK] strings
    data, lines = [], []
    for p in predictions:
        data.append({"adapter": p.adapter, "task": p.task, **prediction_json(p)})
        lines.append(f"# {p.served_by}  task {p.task}")
        lines.append("\n".join(prediction_lines(args.text, p)[1:]))
    return show(args.json, data, lines)


def _adapter_lines(adapters: list[Adapter]) -> Iterator[str]:
    if not adapters:
        yield "no adapters yet: push one with `adapter-hub push DIR --name NAME`"
    for a in adapters:
        aliases = ", ".join(f"{k}->{v}" for k, v in sorted(a.aliases.items()))
        yield f"{a.name}  [{aliases}]"
        for v in a.versions:
            tasks = ", ".join(f"{t.task}({len(t.labels)})" for t in v.tasks)
            yield f"  @{v.version:<4} {human_bytes(v.size_bytes):>10}  r={v.rank:<3} {v.created_at}  {tasks}"


def cmd_adapters(args: argparse.Namespace) -> int:
    with connect(args) as client:
        adapters = client.list_adapters(args.domain)
    data = [
        {"name": a.name, "aliases": dict(a.aliases), "versions": [version_json(v) for v in a.versions]}
        for a in adapters
    ]
    return show(args.json, data, _adapter_lines(adapters))


def cmd_show(args: argparse.Namespace) -> int:
    with connect(args) as client:
        info = client.get_adapter(args.adapter)
    data = {"name": info.name, **version_json(info), "fingerprint": info.backbone_fingerprint}
    data["files"] = [{"path": f.path, "size_bytes": f.size_bytes, "sha256": f.sha256} for f in info.files]
    data["target_modules"] = list(info.target_modules)
    data["metrics"] = json.loads(info.metrics_json) if info.metrics_json else {}
    emit_json(data)
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    with connect(args) as client:
        deleted = client.delete_adapter(args.adapter)
    line = f"deleted {args.adapter.partition('@')[0]} versions: {', '.join(deleted)}"
    return show(args.json, {"deleted_versions": deleted}, [line])


def cmd_alias(args: argparse.Namespace) -> int:
    with connect(args) as client:
        r = client.set_alias(args.name, args.version, args.alias)
    before = f" (was {r.previous_version})" if r.previous_version else ""
    data = {"name": r.name, "alias": r.alias, "version": r.version, "previous": r.previous_version}
    return show(args.json, data, [f"{r.name}@{r.alias} -> {r.version}{before}"])


def info_json(info: ServerInfo) -> dict[str, Any]:
    return {
        "backbone": info.backbone_name,
        "fingerprint": info.backbone_fingerprint,
        "device": info.device,
        "dtype": info.dtype,
        "parameters": info.backbone_parameters,
        "hidden_size": info.hidden_size,
        "store": info.store,
        "auth_enabled": info.auth_enabled,
        "versions": dict(info.versions),
        "limits": fields_json(info.limits),
    }


def cmd_info(args: argparse.Namespace) -> int:
    with connect(args) as client:
        data = info_json(client.server_info())
    return show(args.json, data, (f"{key:<14} {value}" for key, value in data.items()))


def cmd_tasks(args: argparse.Namespace) -> int:
    with connect(args) as client:
        tasks = client.list_tasks()
    rows = [{"name": t.name, "head_kind": t.head_kind, "labels": list(t.labels), "plugin": t.plugin} for t in tasks]
    lines = (
        f"{r['name']:<40} {r['head_kind']:<12} {r['plugin']:<10} {','.join(r['labels']) or NO_LABELS}" for r in rows
    )
    return show(args.json, rows, lines)


def cmd_tenant_add(args: argparse.Namespace) -> int:
    with connect(args) as client:
        r = client.create_tenant(args.tenant, args.max_bytes, args.max_adapters, **limit_args(args))
    data = {"tenant": r.tenant, "api_key": r.api_key, "key_id": r.key_id}
    return show(args.json, data, [f"tenant {r.tenant}: new API key (shown once, store it now):\n{r.api_key}"])


def cmd_tenant_list(args: argparse.Namespace) -> int:
    with connect(args) as client:
        tenants = client.list_tenants()
    rows: list[dict[str, Any]] = [
        {
            "tenant": t.tenant,
            "active_keys": t.active_keys,
            "revoked_keys": t.revoked_keys,
            "adapters": t.adapters,
            "max_adapters": t.quota.max_adapters,
            "used_bytes": t.used_bytes,
            "max_bytes": t.quota.max_bytes,
            "created_at": t.created_at,
            "weight": t.weight or 1.0,
            "rps": t.rps or None,
            "tps": t.tps or None,
        }
        for t in tenants
    ]
    lines = (
        f"{r['tenant']:<24} keys {r['active_keys']} active / {r['revoked_keys']} revoked  "
        f"adapters {r['adapters']}/{r['max_adapters']}  "
        f"{human_bytes(r['used_bytes'])} of {human_bytes(r['max_bytes'])}  "
        f"{policy_text(r['weight'], r['rps'] or 0, r['tps'] or 0)}"
        for r in rows
    )
    return show(args.json, rows, lines)


def cmd_tenant_revoke(args: argparse.Namespace) -> int:
    with connect(args) as client:
        r = client.revoke_tenant(args.tenant)
    data = {"tenant": r.tenant, "revoked_keys": r.revoked_keys}
    return show(args.json, data, [f"tenant {r.tenant}: revoked {r.revoked_keys} key(s)"])
