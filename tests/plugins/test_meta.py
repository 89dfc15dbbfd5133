"""Every hookspec has a test named for it and a section in docs/plugins.md (datasette style)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from hub import plugin_api
from hub.plugins import hookspecs
from hub.plugins.manager import HOOKS

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "plugins.md"


def _test_names() -> set[str]:
    names = set()
    for path in Path(__file__).parent.glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                names.add(node.name)
    return names


def test_hooks_are_the_hookspecs() -> None:
    specs = {name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "adapter_hub_spec")}
    assert set(HOOKS) == specs and len(specs) >= 8


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test(hook: str) -> None:
    assert f"test_hook_{hook}" in _test_names(), f"write test_hook_{hook} in tests/plugins/"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented(hook: str) -> None:
    headings = re.findall(r"^#{2,4} `([a-z_]+)`", DOCS.read_text(), flags=re.MULTILINE)
    assert hook in headings, f"docs/plugins.md needs a section headed ### `{hook}`"


def test_every_hookspec_is_typed() -> None:
    for hook in HOOKS:
        annotations = getattr(hookspecs, hook).__annotations__
        assert "return" in annotations and len(annotations) >= 2, f"{hook} needs typed arguments and return"


def test_the_public_surface_is_documented() -> None:
    text = DOCS.read_text()
    missing = [name for name in plugin_api.__all__ if f"`{name}`" not in text]
    assert missing == [], f"docs/plugins.md does not mention {missing}"
