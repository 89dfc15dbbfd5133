"""Make a new Adapter Hub plugin from this template, with no dependencies.

    python docs/plugin-template/render.py acme --output ~/src

writes ~/src/hub-acme: exactly what `cookiecutter docs/plugin-template` writes (the template
only substitutes ``{{cookiecutter.<key>}}``, in paths and in file contents). Keys and defaults
are cookiecutter.json's; later values may refer to earlier ones.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLACEHOLDER = re.compile(r"\{\{\s*cookiecutter\.(\w+)\s*\}\}")
NAMESPACE = re.compile(r"^[a-z][a-z0-9_]*$")  # a plugin's name is its namespace


def fill(text: str, context: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        if match.group(1) not in context:
            raise KeyError(f"the template uses {match.group(0)}, which cookiecutter.json does not define")
        return context[match.group(1)]

    return PLACEHOLDER.sub(value, text)


def context_for(plugin_name: str, **given: str) -> dict[str, str]:
    if not NAMESPACE.match(plugin_name):
        raise ValueError(f"plugin name {plugin_name!r}: lowercase letters, digits and _, starting with a letter")
    context: dict[str, str] = {}
    for key, default in json.loads((HERE / "cookiecutter.json").read_text()).items():
        context[key] = given.get(key) or (plugin_name if key == "plugin_name" else fill(default, context))
    return context


def render(output: Path, plugin_name: str, **given: str) -> Path:
    """Write the plugin under ``output``; returns its directory."""
    context = context_for(plugin_name, **given)
    (source,) = [p for p in HERE.iterdir() if p.is_dir() and PLACEHOLDER.search(p.name)]
    target = output / fill(source.name, context)
    if target.exists():
        raise FileExistsError(f"{target} exists: choose another --output or remove it")
    for path in sorted(source.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            written = target / fill(str(path.relative_to(source)), context)
            written.parent.mkdir(parents=True, exist_ok=True)
            written.write_text(fill(path.read_text(encoding="utf-8"), context), encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("plugin_name", help="the plugin's name and namespace, e.g. acme")
    parser.add_argument("--output", type=Path, default=Path.cwd(), help="where to write it (default: here)")
    parser.add_argument("--description", default="", help="one line for pyproject.toml and the docstring")
    args = parser.parse_args(argv)
    try:
        target = render(args.output, args.plugin_name, description=args.description)
    except (ValueError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
