"""docs/plugins.md against the API: every code block runs (Python executes, TOML parses, each
command parses with the real CLI), and the complete minimal plugin, installed as written,
passes the conformance kit and is offered by the hub. (The install block is run by
test_template.py; the public names and hooks are checked by test_meta.py.)"""

from __future__ import annotations

import re
import shlex
import textwrap
import tomllib
from pathlib import Path

import pytest

from hub.cli.main import build_parser
from hub.config.settings import Settings
from hub.plugins.hookspecs import ENTRY_POINT_GROUP
from hub.plugins.manager import build_plugins
from hub.testing.conformance import load_plugin
from tests.plugins.conftest import service_with
from tests.plugins.distributions import SitePackages

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "plugins.md"
BLOCKS = [
    (lang, textwrap.dedent(body)) for lang, body in re.findall(r"```(\w*)\n(.*?)```", DOCS.read_text(), re.DOTALL)
]
FILE = re.compile(r"^# [\w/]+\.(py|toml)\n")  # a block that is a file of the minimal plugin
INSTALL_BLOCK = "# install and test a plugin outside the hub's environment\n"


def block(first_line: str) -> str:
    for _, body in BLOCKS:
        if body.startswith(first_line + "\n"):
            return body
    raise AssertionError(f"docs/plugins.md has no code block starting {first_line!r}")


def snippets(lang: str) -> list[str]:
    return [body for kind, body in BLOCKS if kind == lang and not FILE.match(body)]


def test_every_block_is_known() -> None:
    assert {lang for lang, _ in BLOCKS} <= {"", "toml", "python", "bash", "text"}
    assert len(snippets("python")) >= 4 and len(snippets("bash")) >= 3


@pytest.mark.parametrize("number", range(len(snippets("python"))))
def test_every_python_block_runs(number: int) -> None:
    exec(compile(snippets("python")[number], f"{DOCS}:python block {number}", "exec"), {})


def test_every_toml_block_parses() -> None:
    for lang, body in BLOCKS:
        if lang == "toml":
            entry_points = tomllib.loads(body)["project"]["entry-points"]
            assert list(entry_points) == [ENTRY_POINT_GROUP]


def test_every_command_in_the_docs_parses() -> None:
    parser = build_parser()
    seen = set()
    for body in snippets("bash"):
        for line in body.splitlines():
            argv = shlex.split(line, comments=True)
            if not argv:
                continue
            seen.add(argv[0])
            if argv[0] == "adapter-hub":
                parser.parse_args(argv[1:])  # SystemExit (a failed test) on an unknown command or flag
            elif argv[0] == "python" and argv[1].endswith(".py"):
                assert (ROOT / argv[1]).is_file(), f"docs name a script that does not exist: {argv[1]}"
            elif argv[0] == "cookiecutter":
                assert (ROOT / argv[1] / "cookiecutter.json").is_file()
            elif argv[0] == "pip":
                assert "--no-deps" in argv, f"{line}: a plugin is installed without dependencies"
    assert {"adapter-hub", "python", "pip"} <= seen
    assert INSTALL_BLOCK in [body[: len(INSTALL_BLOCK)] for body in snippets("bash")]


def test_the_documented_plugin_works(site_packages: SitePackages, tiny_runtime) -> None:
    pyproject = block("# pyproject.toml")
    assert '[project.entry-points."adapter_hub.plugins"]\nsupport = "hub_support"' in pyproject
    site_packages.install("hub-support", "support", "hub_support", block("# hub_support/__init__.py"), "0.1.0")
    plugins = build_plugins(Settings.from_env(environ={}))
    spec = plugins.tasks.get("support.urgency")
    assert spec.plugin == "support" and spec.labels == ("low", "high")
    assert plugins.tasks.pipeline("support.urgency").prepare("Order #1234 lost").pieces[0].text == "Order #TICKET lost"

    namespace: dict[str, object] = {}
    exec(compile(block("# tests/test_support.py"), "tests/test_support.py", "exec"), namespace)
    kit = namespace["TestSupportConformance"]()  # type: ignore[operator]
    loaded = load_plugin("support", installed=True)  # what its `plugins` fixture gives
    kit.test_loads_beside_the_installed_plugins()
    kit.test_entry_point_is_declared()
    kit.test_registers_something(loaded)
    kit.test_preprocessors_round_trip(loaded)
    kit.test_pipelines_map_back_to_the_original(loaded)
    kit.test_heads_build_on_a_tiny_backbone(loaded, service_with(loaded, tiny_runtime, "docs-support"))
