"""``adapter-hub serve --config FILE``: the settings table as a TOML file.

Keys are the settings' names as in the table (hub/config/settings.py): ``port = 50051``,
``metrics_port = 9090``, ``log_format = "json"``; top-level keys, or the same keys under a
table named for their group (``[observe]``, the README's sections) for readability. Values
are TOML's own types (a string is parsed as the environment would be). The file is the lowest
source above the defaults: the environment (ADAPTER_HUB_*) overrides it, and flags override
both. An unknown key is refused, naming it (and the nearest setting), as is a file over 1 MiB.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

from hub.config.settings import GROUPS, Settings, SettingsError

MAX_CONFIG_BYTES = 1 << 20


def read_settings_file(path: str | Path) -> dict[str, Any]:
    """The settings in ``path`` by name; SettingsError naming every problem."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise SettingsError([f"config file {path}: cannot be read ({exc.strerror or exc})"]) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise SettingsError([f"config file {path}: larger than {MAX_CONFIG_BYTES} bytes"])
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError([f"config file {path}: not valid TOML ({exc})"]) from None
    values, problems = _flatten(document, str(path))
    if problems:
        raise SettingsError(problems)
    return values


def _flatten(document: dict[str, Any], where: str) -> tuple[dict[str, Any], list[str]]:
    names = {f.name for f in fields(Settings)}
    groups = {g.key for g in GROUPS}
    values: dict[str, Any] = {}
    problems: list[str] = []
    items = [(key, value, "") for key, value in document.items()]
    while items:
        key, value, table = items.pop(0)
        shown = f"{table}.{key}" if table else key
        if isinstance(value, dict) and not table and key in groups:
            items += [(k, v, key) for k, v in value.items()]
        elif key not in names:
            near = difflib.get_close_matches(key, sorted(names), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            problems.append(f"config file {where}: unknown setting {shown!r}{hint}")
        elif key in values:
            problems.append(f"config file {where}: {key!r} is set twice")
        elif isinstance(value, dict | list):
            problems.append(f"config file {where}: {shown!r} must be a single value, not a table or array")
        else:
            values[key] = value
    return values, problems
