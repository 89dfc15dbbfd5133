"""`adapter-hub plugins`: the plugins a running hub loaded (or, with --local, this environment would)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from hub.api.v1 import admin_pb2
from hub.cli.client_commands import connect
from hub.cli.render import head_kind_name, show
from hub.plugins.catalog import KINDS, PluginError

# what a plugin registers besides tasks, which are listed with their details instead
COMPONENTS = tuple(kind for kind in KINDS if kind != "tasks")


def cmd_plugins(args: argparse.Namespace) -> int:
    try:
        response = _local() if args.local else _remote(args)
    except PluginError as exc:  # --local: the start-up `serve` would refuse, explained
        print(f"error: {exc}", file=sys.stderr)
        return 2
    data = plugins_json(response)
    return show(args.json, data, ["\n".join(plugin_lines(data))])


def _remote(args: argparse.Namespace) -> admin_pb2.ListPluginsResponse:
    with connect(args) as client:
        return client.list_plugins()


def _local() -> admin_pb2.ListPluginsResponse:
    """What `serve` would load here, with the same settings (ADAPTER_HUB_PLUGINS_ALLOW / _DENY)."""
    from hub.plugins.manager import build_plugins
    from hub.serving.settings import Settings
    from hub.transport import convert

    plugins = build_plugins(Settings.from_env())
    return convert.list_plugins_response(plugins.plugins(), plugins.tasks.all())


def task_json(t: admin_pb2.TaskInfo) -> dict[str, Any]:
    return {
        "name": t.name,
        "head_kind": head_kind_name(t.head_kind),
        "labels": list(t.labels),
        "preprocessors": list(t.preprocessors),
        "segmenter": t.segmenter,
        "postprocessor": t.postprocessor,
        "metric": t.metric,
        "reader": t.reader,
        "description": t.description,
    }


def plugins_json(response: admin_pb2.ListPluginsResponse) -> list[dict[str, Any]]:
    tasks = {t.name: t for t in response.tasks}
    out = []
    for p in response.plugins:
        entry: dict[str, Any] = {
            "name": p.name,
            "distribution": p.distribution,
            "version": p.version,
            "builtin": p.builtin,
            "enabled": p.enabled,
            "note": p.note,
            "hooks": list(p.hooks),
            "tasks": [task_json(tasks[name]) for name in p.tasks if name in tasks],
        }
        entry |= {kind: list(getattr(p, kind)) for kind in COMPONENTS}
        out.append(entry)
    return out


def plugin_lines(data: list[dict[str, Any]]) -> list[str]:
    lines = []
    for p in data:
        origin = "built-in" if p["builtin"] else f"{p['distribution']} {p['version']}".strip()
        state = "" if p["enabled"] else f"  [not loaded: {p['note']}]"
        lines.append(f"{p['name']}  ({origin}){state}")
        for kind in COMPONENTS:
            if p[kind]:
                lines.append(f"    {kind + ':':<15} {', '.join(p[kind])}")
        for t in p["tasks"]:
            labels = ",".join(t["labels"]) or "(labels from each adapter)"
            lines.append(f"    task {t['name']:<36} {t['head_kind']:<12} {labels}")
    return lines
