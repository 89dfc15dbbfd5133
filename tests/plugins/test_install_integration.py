"""A third-party plugin, packaged and pip-installed into an isolated directory, offered by a
running server; and a segmenting domain task answered over the wire."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

from hub.cli.main import main
from hub.plugin_api import HeadKind
from hub.plugins.hookspecs import ENTRY_POINT_GROUP
from hub.testing.artifacts import random_adapter_files

pytestmark = pytest.mark.integration

PYPROJECT = """
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "hub-shout"
version = "0.3.0"
dependencies = ["adapter-hub"]

[project.entry-points."adapter_hub.plugins"]
shout = "hub_shout"

[tool.setuptools]
packages = ["hub_shout"]
"""

PLUGIN = '''
"""A third-party plugin: is a text calm or loud? (reads it upper-cased)"""
import re

from hub.plugin_api import HeadKind, Preprocessor, TaskSpec, hookimpl, replace_patterns

LOWER = re.compile(r"[a-z]+")


def upper(text):
    return replace_patterns(text, [(LOWER, lambda m: m.group().upper())])


@hookimpl
def register_preprocessors(register):
    register(Preprocessor("shout.upper", upper, "upper-cases the text"))


@hookimpl
def register_tasks(register):
    register(TaskSpec("shout.tone", HeadKind.SEQUENCE, "calm or loud", labels=("calm", "loud"),
                      preprocessors=("shout.upper",)))
'''


def cli(*args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(args)) == 0
    return out.getvalue()


def write_adapter(directory: Path, files: dict[str, bytes]) -> Path:
    directory.mkdir()
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return directory


@pytest.fixture
def installed_shout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """hub-shout built from source and installed with pip into its own target directory."""
    pytest.importorskip("setuptools", reason="building the plugin offline needs setuptools in this environment")
    source = tmp_path / "hub-shout"
    (source / "hub_shout").mkdir(parents=True)
    (source / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    (source / "hub_shout" / "__init__.py").write_text(textwrap.dedent(PLUGIN))
    target = tmp_path / "target"
    command = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index"]
    subprocess.run([*command, "--target", str(target), str(source)], check=True, capture_output=True)
    monkeypatch.syspath_prepend(str(target))
    try:
        yield target
    finally:
        sys.modules.pop("hub_shout", None)


def test_an_installed_plugin_is_offered_by_the_running_server(
    installed_shout, start_hub, tiny_runtime, tmp_path
) -> None:
    assert [ep.value for ep in metadata.entry_points(group=ENTRY_POINT_GROUP, name="shout")] == ["hub_shout"]
    server, client = start_hub(tiny_runtime)
    tasks = {t.name: t for t in client.list_tasks()}
    assert tasks["shout.tone"].plugin == "shout" and list(tasks["shout.tone"].labels) == ["calm", "loud"]
    assert list(tasks["shout.tone"].preprocessors) == ["shout.upper"]
    plugins = {p.name: p for p in client.list_plugins().plugins}
    assert (plugins["shout"].distribution, plugins["shout"].version) == ("hub-shout", "0.3.0")
    assert plugins["generic"].builtin and list(plugins["shout"].tasks) == ["shout.tone"]

    files = random_adapter_files(tiny_runtime.spec, [("shout.tone", HeadKind.SEQUENCE, ["calm", "loud"])])
    client.push(write_adapter(tmp_path / "tone", files), "tone")
    response = client.predict("tone", ["please be quiet", "WHY"])
    assert response[0].task == "shout.tone" and len(response) == 2
    assert {x.label for x in response[0].labels} == {"calm", "loud"}

    listed = json.loads(cli("plugins", "--json", "--target", f"127.0.0.1:{server.port}"))
    shout = next(p for p in listed if p["name"] == "shout")
    assert shout["version"] == "0.3.0" and shout["tasks"][0]["head_kind"] == "sequence"
    assert shout["tasks"][0]["labels"] == ["calm", "loud"]
    assert "shout  (hub-shout 0.3.0)" in cli("plugins", "--target", f"127.0.0.1:{server.port}")


def test_a_document_comes_back_sentence_by_sentence(start_hub, tiny_runtime, tmp_path) -> None:
    server, client = start_hub(tiny_runtime)
    if "legal.unfair_clause" not in {t.name for t in client.list_tasks()}:
        pytest.skip("the legal plugin is not installed (scripts/bootstrap.sh installs plugins/*)")
    labels = list(next(t for t in client.list_tasks() if t.name == "legal.unfair_clause").labels)
    files = random_adapter_files(tiny_runtime.spec, [("legal.unfair_clause", HeadKind.MULTI_LABEL, labels)])
    client.push(write_adapter(tmp_path / "tos", files), "tos")
    document = "Terms of Service\nWe may change these terms at any time. You agree by using the app.\nGoverning law"
    prediction = client.predict("tos", [document])[0]
    assert [(s.start, s.end) for s in prediction.segments] == [(0, 16), (17, 55), (56, 83), (84, 97)]
    assert all(document[s.start : s.end] == s.text for s in prediction.segments)
    assert set(prediction.predicted) == {x for s in prediction.segments for x in s.predicted}
    shown = json.loads(cli("predict", "--json", "--target", f"127.0.0.1:{server.port}", "--adapter", "tos", document))
    assert [s["text"] for s in shown["segments"]][1] == "We may change these terms at any time."
    assert "segments (4):" in cli("predict", "--target", f"127.0.0.1:{server.port}", "--adapter", "tos", document)
