"""`adapter-hub plugins`: the plugins a running hub loaded (or, with --local, this environment would)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from adapter_hub_client import Plugins, TaskInfo

from hub.cli.client_commands import connect
from hub.cli.render import show
from hub.plugins.catalog import KINDS, PluginError

if TYPE_CHECKING:
    from hub.config.settings import Settings
    from hub.plugins.manager import HubPlugins

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


def _remote(args: argparse.Namespace) -> Plugins:
    with connect(args) as client:
        return client.list_plugins()


def _local() -> Plugins:
    """What `serve` would load here, with the same settings (ADAPTER_HUB_PLUGINS_ALLOW / _DENY)."""
    from adapter_hub_client.convert import mirror

    from hub.config.settings import Settings
    from hub.plugins.manager import build_plugins
    from hub.transport import convert

    plugins = build_plugins(Settings.from_env())
    return mirror(Plugins, convert.list_plugins_response(plugins.plugins(), plugins.tasks.all()))


def task_json(t: TaskInfo) -> dict[str, Any]:
    return {
        "name": t.name,
        "head_kind": t.head_kind,
        "labels": list(t.labels),
        "preprocessors": list(t.preprocessors),
        "segmenter": t.segmenter,
        "postprocessor": t.postprocessor,
        "metric": t.metric,
        "reader": t.reader,
        "description": t.description,
    }


def plugins_json(response: Plugins) -> list[dict[str, Any]]:
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


def local_plugins(settings: Settings) -> HubPlugins:
    """The plugins `train` and `eval` read, rewrite and score data with: this environment's, as
    `serve` would load them here. A refusal is a local problem (ValueError: "error: ..." and exit 2)."""
    from hub.plugins.manager import build_plugins

    try:
        return build_plugins(settings)
    except PluginError as exc:
        raise ValueError(
            f"the plugins installed here cannot be loaded (train and eval load them locally):\n{exc}"
        ) from None


def require_local_tasks(plugins: HubPlugins, tasks: Iterable[str]) -> None:
    """Refuse, naming what to install here, when a task's plugin is not loaded in this
    environment; the server is not asked (it may well offer the task)."""
    offered = {spec.name for spec in plugins.tasks.all()}
    for task in tasks:
        if task in offered:
            continue
        namespace = task.partition(".")[0]
        loaded = ", ".join(p.name for p in plugins.plugins() if p.enabled)
        owner = next((p for p in plugins.plugins() if p.name == namespace), None)
        if owner is not None and not owner.enabled:
            fix = f"plugin {namespace!r} is installed here but not loaded ({owner.note}): allow it"
        elif owner is not None:
            fix = f"plugin {namespace!r} is loaded here but registers no such task: check the name"
        else:
            fix = f"install the plugin that provides {namespace!r} in this environment (pip install ...)"
        raise ValueError(
            f"task {task!r} is not offered by the plugins installed here (loaded: {loaded}). "
            "`adapter-hub train` and `eval` read and score data on this machine with the task's plugin, "
            f"even when the adapter is on a server: {fix}. `adapter-hub plugins --local` lists what loads here."
        )
