"""The plugin boundary (docs/architecture.md, "Boundaries"): plugins import only hub.plugin_api; the hub never names a
plugin; managers and registries are built in factories, never at module level."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from hub import plugin_api
from tests.helpers import imported_modules as imported

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_SOURCES = sorted(ROOT.glob("plugins/*/hub_*/**/*.py"))
HUB_SOURCES = sorted([*ROOT.glob("hub/**/*.py"), *ROOT.glob("adapters_registry/**/*.py")])


def test_the_domain_plugins_exist() -> None:
    packages = {p.parent.name for p in ROOT.glob("plugins/*/pyproject.toml")}
    assert packages >= {"medical", "finance", "legal"}
    assert PLUGIN_SOURCES


@pytest.mark.parametrize("path", PLUGIN_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_plugins_import_only_the_public_surface(path: Path) -> None:
    own = path.relative_to(ROOT).parts[2]  # plugins/<domain>/hub_<domain>/...
    for module in imported(path):
        top = module.split(".")[0]
        if top in ("hub", "adapters_registry"):
            assert module == "hub.plugin_api", f"{path.name} imports {module}: use hub.plugin_api"
        assert top not in ("torch", "grpc", "transformers", "peft"), f"{path.name} imports {module}"
        if top.startswith("hub_"):
            assert top == own, f"{path.name} imports another plugin, {module}"


def test_the_hub_never_imports_a_plugin() -> None:
    offenders = [
        f"{p.relative_to(ROOT)}: {m}" for p in HUB_SOURCES for m in imported(p) if m.split(".")[0].startswith("hub_")
    ]
    assert offenders == []


def test_no_module_level_plugin_manager_or_registry() -> None:
    for path in HUB_SOURCES:
        tree = ast.parse(path.read_text())
        for node in tree.body:  # module-level statements only
            for call in ast.walk(node) if isinstance(node, ast.Assign | ast.AnnAssign | ast.Expr) else ():
                if isinstance(call, ast.Call):
                    name = getattr(call.func, "attr", getattr(call.func, "id", ""))
                    assert name not in ("PluginManager", "build_plugins", "build_catalog", "TaskRegistry"), (
                        f"{path.relative_to(ROOT)} builds {name} at import time"
                    )


def test_the_public_surface_exports_what_it_lists() -> None:
    for name in plugin_api.__all__:
        assert getattr(plugin_api, name) is not None
    assert plugin_api.ENTRY_POINT_GROUP == "adapter_hub.plugins"
