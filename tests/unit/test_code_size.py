"""Size rules a newcomer relies on (docs/architecture.md): modules under 400 lines, functions at
most 60. A module or function that outgrows them is split, not waved through."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hub", "adapters_registry", "plugins", "clients")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def sources() -> list[Path]:
    found = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).parts
            if "tests" in parts or "api" in parts or path.name.endswith(("_pb2.py", "_pb2_grpc.py")):
                continue  # tests and generated code
            found.append(path)
    return found


def test_modules_stay_under_the_line_limit() -> None:
    long = [f"{p.relative_to(ROOT)}: {n}" for p in sources() if (n := p.read_text().count("\n")) > MAX_MODULE_LINES]
    assert long == [], f"modules over {MAX_MODULE_LINES} lines: split them"


def test_functions_stay_short() -> None:
    long = []
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({size} lines)")
    assert long == [], f"functions over {MAX_FUNCTION_LINES} lines: split them"


def test_the_rules_see_the_source() -> None:
    assert len(sources()) > 50
