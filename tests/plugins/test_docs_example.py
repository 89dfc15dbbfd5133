"""The complete minimal plugin in docs/plugins.md, installed as written, offered by the hub."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from hub.plugins.manager import build_plugins
from hub.serving.settings import Settings
from tests.plugins.distributions import SitePackages

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def block(first_line: str) -> str:
    for body in re.findall(r"```\w*\n(.*?)```", DOCS.read_text(), flags=re.DOTALL):
        if body.startswith(first_line + "\n"):
            return textwrap.dedent(body)
    raise AssertionError(f"docs/plugins.md has no code block starting {first_line!r}")


def test_the_documented_plugin_works(site_packages: SitePackages) -> None:
    pyproject = block("# pyproject.toml")
    assert '[project.entry-points."adapter_hub.plugins"]\nsupport = "hub_support"' in pyproject
    site_packages.install("hub-support", "support", "hub_support", block("# hub_support/__init__.py"), "0.1.0")
    plugins = build_plugins(Settings.from_env(environ={}))
    spec = plugins.tasks.get("support.urgency")
    assert spec.plugin == "support" and spec.labels == ("low", "high")
    assert plugins.tasks.pipeline("support.urgency").prepare("Order #1234 lost").pieces[0].text == "Order #TICKET lost"
    assert "class TestSupportConformance(PluginConformance):" in block("# tests/test_support.py")
