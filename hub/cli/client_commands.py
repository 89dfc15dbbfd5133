"""Client subcommands: talk to a running hub through gRPC."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hub.cli.bulk import cmd_predict_file
from hub.cli.fairness_commands import limit_args, policy_text
from hub.cli.render import (
    head_kind_name,
    human_size,
    prediction_json,
    prediction_lines,
    version_json,
)
from hub.transport.client import HubClient


def _client(args: argparse.Namespace) -> HubClient:
    return HubClient(args.target, api_key=args.api_key, timeout=args.timeout, retries=max(0, args.retries))


def _emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


def cmd_push(args: argparse.Namespace) -> int:
    directory = Path(args.directory)
    if not directory.is_dir():
        print(f"error: {directory} is not a directory", file=sys.stderr)
        return 2
    labels = [x.strip() for x in args.labels.split(",")] if args.labels else []
    with _client(args) as client:
        info = client.push(directory, args.name, task=args.task or "", labels=labels, description=args.description)
    if args.json:
        _emit_json({"name": info.name, **version_json(info)})
    else:
        tasks = ", ".join(t.task for t in info.tasks)
        print(f"{info.name}@{info.version}  ({human_size(info.size_bytes)}, tasks: {tasks})")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    if bool(args.file) == bool(args.texts):
        raise ValueError("give the texts as arguments or --file, not both or neither")
    if args.file:
        with _client(args) as client:
            return cmd_predict_file(args, client)
    with _client(args) as client:
        response = client.predict(args.adapter, list(args.texts), task=args.task or "")
    if args.json:
        _emit_json([prediction_json(p, response.head_kind, response.version) for p in response.predictions])
        return 0
    print(f"# {response.adapter}@{response.version}  task {response.task} ({head_kind_name(response.head_kind)})")
    for text, p in zip(args.texts, response.predictions, strict=True):
        print("\n".join(prediction_lines(text, p, response.head_kind)))
    return 0


def cmd_fanout(args: argparse.Namespace) -> int:
    targets = [(t.partition(":")[0], t.partition(":")[2]) for t in args.targets]
    with _client(args) as client:
        response = client.fan_out(args.text, targets)
    if args.json:
        _emit_json(
            [
                {
                    "adapter": r.adapter,
                    "task": r.task,
                    **prediction_json(r.prediction, r.head_kind, r.version),
                }
                for r in response.results
            ]
        )
        return 0
    for r in response.results:
        print(f"# {r.adapter}@{r.version}  task {r.task}")
        print("\n".join(prediction_lines(args.text, r.prediction, r.head_kind)[1:]))
    return 0


def cmd_adapters(args: argparse.Namespace) -> int:
    with _client(args) as client:
        response = client.list_adapters()
    if args.json:
        _emit_json(
            [
                {
                    "name": a.name,
                    "aliases": dict(a.aliases),
                    "versions": [version_json(v) for v in a.versions],
                }
                for a in response.adapters
            ]
        )
        return 0
    if not response.adapters:
        print("no adapters yet: push one with `adapter-hub push DIR --name NAME`")
    for a in response.adapters:
        aliases = ", ".join(f"{k}->{v}" for k, v in sorted(a.aliases.items()))
        print(f"{a.name}  [{aliases}]")
        for v in a.versions:
            tasks = ", ".join(f"{t.task}({len(t.labels)})" for t in v.tasks)
            print(f"  @{v.version:<4} {human_size(v.size_bytes):>10}  r={v.rank:<3} {v.created_at}  {tasks}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with _client(args) as client:
        info = client.get_adapter(args.adapter)
    data = {"name": info.name, **version_json(info), "fingerprint": info.backbone_fingerprint}
    data["files"] = [{"path": f.path, "size_bytes": f.size_bytes, "sha256": f.sha256} for f in info.files]
    data["target_modules"] = list(info.target_modules)
    data["metrics"] = json.loads(info.metrics_json) if info.metrics_json else {}
    _emit_json(data)
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    with _client(args) as client:
        response = client.delete_adapter(args.adapter)
    if args.json:
        _emit_json({"deleted_versions": list(response.deleted_versions)})
    else:
        print(f"deleted {args.adapter.partition('@')[0]} versions: {', '.join(response.deleted_versions)}")
    return 0


def cmd_alias(args: argparse.Namespace) -> int:
    with _client(args) as client:
        r = client.set_alias(args.name, args.version, args.alias)
    if args.json:
        _emit_json({"name": r.name, "alias": r.alias, "version": r.version, "previous": r.previous_version})
    else:
        before = f" (was {r.previous_version})" if r.previous_version else ""
        print(f"{r.name}@{r.alias} -> {r.version}{before}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    with _client(args) as client:
        info = client.server_info()
    data = {
        "backbone": info.backbone_name,
        "fingerprint": info.backbone_fingerprint,
        "device": info.device,
        "dtype": info.dtype,
        "parameters": info.backbone_parameters,
        "hidden_size": info.hidden_size,
        "store": info.store,
        "auth_enabled": info.auth_enabled,
        "versions": dict(info.versions),
        "limits": {
            "max_texts_per_request": info.limits.max_texts_per_request,
            "max_text_chars": info.limits.max_text_chars,
            "max_tokens_per_text": info.limits.max_tokens_per_text,
            "max_fanout_targets": info.limits.max_fanout_targets,
            "max_upload_bytes": info.limits.max_upload_bytes,
        },
    }
    if args.json:
        _emit_json(data)
    else:
        for key, value in data.items():
            print(f"{key:<14} {value}")
    return 0


def cmd_tasks(args: argparse.Namespace) -> int:
    with _client(args) as client:
        response = client.list_tasks()
    rows = [
        {
            "name": t.name,
            "head_kind": head_kind_name(t.head_kind),
            "labels": list(t.labels),
            "plugin": t.plugin,
        }
        for t in response.tasks
    ]
    if args.json:
        _emit_json(rows)
    else:
        for r in rows:
            labels = ",".join(r["labels"]) or "(labels from each adapter)"
            print(f"{r['name']:<40} {r['head_kind']:<12} {r['plugin']:<10} {labels}")
    return 0


def cmd_tenant_add(args: argparse.Namespace) -> int:
    with _client(args) as client:
        r = client.create_tenant(args.tenant, args.max_bytes, args.max_adapters, **limit_args(args))
    if args.json:
        _emit_json({"tenant": r.tenant, "api_key": r.api_key, "key_id": r.key_id})
    else:
        print(f"tenant {r.tenant}: new API key (shown once, store it now):\n{r.api_key}")
    return 0


def cmd_tenant_list(args: argparse.Namespace) -> int:
    with _client(args) as client:
        response = client.list_tenants()
    rows = [
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
        for t in response.tenants
    ]
    if args.json:
        _emit_json(rows)
    for r in [] if args.json else rows:
        print(
            f"{r['tenant']:<24} keys {r['active_keys']} active / {r['revoked_keys']} revoked  "
            f"adapters {r['adapters']}/{r['max_adapters']}  "
            f"{human_size(r['used_bytes'])} of {human_size(r['max_bytes'])}  "
            f"{policy_text(r['weight'], r['rps'] or 0, r['tps'] or 0)}"
        )
    return 0


def cmd_tenant_revoke(args: argparse.Namespace) -> int:
    with _client(args) as client:
        r = client.revoke_tenant(args.tenant)
    if args.json:
        _emit_json({"tenant": r.tenant, "revoked_keys": r.revoked_keys})
    else:
        print(f"tenant {r.tenant}: revoked {r.revoked_keys} key(s)")
    return 0
