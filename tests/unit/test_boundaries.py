"""The architecture's import boundaries (DESIGN.md), checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for pkg in ("hub", "adapters_registry") for p in (ROOT / pkg).rglob("*.py")]

# top-level module -> where it may be imported (paths relative to the repo root)
ALLOWED = {
    "torch": ("hub/engine/",),
    "peft": ("hub/engine/",),
    "transformers": ("hub/engine/",),
    "safetensors": ("hub/engine/", "adapters_registry/safetensors_io.py"),
    "grpc": ("hub/transport/", "hub/api/"),
    "grpc_health": ("hub/transport/",),
    "grpc_reflection": ("hub/transport/",),
    "boto3": ("adapters_registry/storage/s3.py",),
    "botocore": ("adapters_registry/storage/s3.py",),
}


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_heavy_dependencies_stay_in_their_layer(module: str) -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in SOURCES
        if any(i == module or i.startswith(module + ".") for i in imports(p))
        and not str(p.relative_to(ROOT)).startswith(ALLOWED[module])
    ]
    assert offenders == [], f"{module} imported outside {ALLOWED[module]}"


def test_registry_never_imports_the_hub() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "adapters_registry").rglob("*.py")
        if any(i == "hub" or i.startswith("hub.") for i in imports(p))
    ]
    assert offenders == []


def test_generated_code_is_used_only_by_transport_and_cli() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in SOURCES
        if any(i.startswith("hub.api") for i in imports(p))
        and not str(p.relative_to(ROOT)).startswith(("hub/transport/", "hub/api/", "hub/cli/"))
    ]
    assert offenders == []


def test_nothing_unpickles_or_trusts_remote_code() -> None:
    for path in SOURCES:
        text = path.read_text()
        assert "torch.load(" not in text, path
        assert "pickle" not in imports(path), path
        assert "trust_remote_code=True" not in text, path
