"""`adapter-hub train` / `eval` read and score data with the task's plugin on the client: when
it is not installed (or not loaded) there, they say so and what to do, without a traceback and
without blaming the server."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from hub.cli.main import main
from tests.plugins.distributions import SitePackages

BROKEN = "import not_a_module_anywhere\n"
SUPPORT = """
from hub.plugin_api import HeadKind, TaskSpec, hookimpl

@hookimpl
def register_tasks(register):
    register(TaskSpec("support.intent", HeadKind.SEQUENCE, labels=("ask", "thank")))
"""


def run(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, err.getvalue()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "support.jsonl"
    path.write_text('{"text": "Where is it?", "label": "ask"}\n')
    return path


def test_train_and_eval_name_the_missing_local_plugin(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ADAPTER_HUB_PLUGINS_ALLOW", raising=False)
    monkeypatch.delenv("ADAPTER_HUB_PLUGINS_DENY", raising=False)
    # a NAME, not a directory: the remote path; nothing listens there, and nothing is asked
    code, err = run("eval", "--adapter", "support-v1", "--task", "support.intent", "--data", str(data),
                    "--target", "127.0.0.1:9")  # fmt: skip
    assert code == 2 and "Traceback" not in err
    assert err.startswith("error: task 'support.intent' is not offered by the plugins installed here (loaded: generic")
    assert "read and score data on this machine with the task's plugin, even when the adapter is on a server" in err
    assert "install the plugin that provides 'support' in this environment" in err
    assert "not offered by this server" not in err

    code, err = run("train", "--task", "support.intent", "--train", str(data), "--output", str(tmp_path / "out"))
    assert code == 2 and err.startswith("error: task 'support.intent' is not offered by the plugins installed here")
    assert not (tmp_path / "out").exists()


def test_eval_says_when_the_local_plugin_is_installed_but_not_loaded(
    data: Path, site_packages: SitePackages, monkeypatch: pytest.MonkeyPatch
) -> None:
    site_packages.install("hub-support", "support", "hub_support_c2", SUPPORT)
    monkeypatch.setenv("ADAPTER_HUB_PLUGINS_DENY", "support")
    monkeypatch.delenv("ADAPTER_HUB_PLUGINS_ALLOW", raising=False)
    code, err = run(
        "eval", "--adapter", "x", "--task", "support.intent", "--data", str(data), "--target", "127.0.0.1:9"
    )
    assert code == 2
    assert "plugin 'support' is installed here but not loaded (denied by ADAPTER_HUB_PLUGINS_DENY): allow it" in err


def test_a_broken_local_plugin_is_a_clear_error(
    data: Path, site_packages: SitePackages, monkeypatch: pytest.MonkeyPatch
) -> None:
    site_packages.install("hub-broken", "broken", "hub_broken_c3", BROKEN)
    monkeypatch.delenv("ADAPTER_HUB_PLUGINS_ALLOW", raising=False)
    monkeypatch.delenv("ADAPTER_HUB_PLUGINS_DENY", raising=False)
    code, err = run(
        "eval", "--adapter", "x", "--task", "support.intent", "--data", str(data), "--target", "127.0.0.1:9"
    )
    assert code == 2 and "Traceback" not in err
    assert err.startswith("error: the plugins installed here cannot be loaded (train and eval load them locally)")
    assert "plugin 'broken' (hub-broken 1.0.0, entry point hub_broken_c3) failed to import" in err
