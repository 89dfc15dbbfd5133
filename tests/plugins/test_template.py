"""The plugin template, made as docs/plugins.md says: the documented install block runs as
written (a new plugin rendered, installed outside the hub's environment with pip --target,
its conformance kit run under pytest with pytest 10's removals as errors), and the hub then
serves the plugin's task."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.plugin_api import HeadKind
from hub.testing.artifacts import random_adapter_files
from tests.plugins.test_docs_example import INSTALL_BLOCK, ROOT, snippets

pytestmark = pytest.mark.integration

OFFLINE = "python -m pip install -q --no-build-isolation --no-index "  # what the docs say to add offline


def install_script() -> str:
    """The documented block, offline, without the last line (`adapter-hub serve` runs until
    stopped: the test starts the same server in-process instead)."""
    (body,) = [b for b in snippets("bash") if b.startswith(INSTALL_BLOCK)]
    lines = [line for line in body.splitlines() if line and not line.startswith("#")]
    assert lines[-1] == "adapter-hub serve" and lines[1].startswith("pip install --no-deps --upgrade --target ")
    lines = [re.sub(r"^pip install ", OFFLINE, line) for line in lines[:-1]]
    return "set -euo pipefail\n" + "\n".join(lines) + "\n"


@pytest.fixture
def made_from_the_docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    """Run the documented block in a fresh directory; yield it and what it printed."""
    pytest.importorskip("setuptools", reason="building the plugin offline needs setuptools in this environment")
    (tmp_path / "docs").symlink_to(ROOT / "docs")  # the block runs "from a checkout of the hub"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # this environment's python
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "clients/python")]),  # this checkout first
        "HF_HUB_OFFLINE": "1",
        "PYTEST_ADDOPTS": "-p no:cacheprovider -W error::pytest.PytestRemovedIn10Warning",
        "ADAPTER_HUB_PLUGINS_ALLOW": "",
        "ADAPTER_HUB_PLUGINS_DENY": "",
    }
    done = subprocess.run(
        ["bash", "-c", install_script()], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=540
    )
    assert done.returncode == 0, f"the documented block failed:\n{done.stdout}\n{done.stderr}"
    monkeypatch.syspath_prepend(str(tmp_path / "work" / "site"))
    try:
        yield tmp_path, done.stdout
    finally:
        sys.modules.pop("hub_helpdesk", None)


def reinstall_line(plugin: Path) -> str:
    """The template README's install line (run from the plugin's directory), offline."""
    readme = (plugin / "README.md").read_text()
    block = re.findall(r"```bash\n(.*?)```", readme, re.DOTALL)[0]
    (line,) = [x.split("#")[0].strip() for x in block.splitlines() if x.startswith("pip install ")]
    assert line == "pip install --no-deps --upgrade --target ../site ."
    return re.sub(r"^pip install ", OFFLINE, line)


def test_the_template_plugin_passes_the_kit_and_serves(made_from_the_docs, start_hub, tiny_runtime) -> None:
    directory, printed = made_from_the_docs
    installed = directory / "work" / "site" / "hub_helpdesk" / "__init__.py"
    assert installed.is_file()
    assert re.search(r"=+ 1\d passed in ", printed), printed  # the kit and the mask's test: every check, no warning
    assert re.search(r"tests/test_mask\.py \.\.\.\s", printed), printed  # the template's test of its mask
    assert "failed" not in printed and "warning" not in printed.lower()
    assert "helpdesk  (hub-helpdesk 0.1.0)" in printed  # adapter-hub plugins --local

    # a change, installed again with the template README's own line, is what loads (pip --target
    # without --upgrade would keep the old copy and say so only after "Successfully installed")
    plugin = directory / "work" / "hub-helpdesk"
    source = plugin / "hub_helpdesk" / "__init__.py"
    source.write_text(
        source.read_text().replace('"question", "complaint", "thanks"', '"question", "complaint", "thanks", "refund"')
    )
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # this environment's python
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "clients/python")]),
    }
    again = subprocess.run(
        ["bash", "-c", reinstall_line(plugin)], cwd=plugin, env=env, capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0 and "already exists" not in again.stdout + again.stderr, again.stdout + again.stderr
    assert '"refund"' in installed.read_text()
    sys.modules.pop("hub_helpdesk", None)

    server, client = start_hub(tiny_runtime)
    plugins = {p.name: p for p in client.list_plugins().plugins}
    assert (plugins["helpdesk"].distribution, plugins["helpdesk"].version) == ("hub-helpdesk", "0.1.0")
    task = next(t for t in client.list_tasks() if t.name == "helpdesk.intent")
    assert list(task.labels) == ["question", "complaint", "thanks", "refund"]  # the reinstalled code
    assert list(task.preprocessors) == ["helpdesk.mask"]
    adapter = directory / "intent"
    adapter.mkdir()
    files = random_adapter_files(tiny_runtime.spec, [("helpdesk.intent", HeadKind.SEQUENCE, list(task.labels))])
    for name, data in files.items():
        (adapter / name).write_bytes(data)
    client.push(adapter, "intent")
    response = client.predict("intent", ["Order #1234 is late, write to jane@example.com"])
    assert response[0].task == "helpdesk.intent"
    assert {x.label for x in response[0].labels} == {"question", "complaint", "thanks", "refund"}
