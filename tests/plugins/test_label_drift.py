"""Labels that stay true: an adapter stored before its task's labels changed is listed at
start-up (a warning) and by `adapter-hub status`, never left answering silently with its old
label set."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from hub.cli.main import main
from hub.config.settings import Settings
from hub.plugin_api import HeadKind, TaskSpec, hookimpl
from hub.serving.app import build_authenticator, build_service
from hub.serving.auth import LOCAL_TENANT, Caller
from hub.serving.upload import UploadHeader
from hub.testing.artifacts import random_adapter_files
from hub.transport.server import HubServer
from tests.plugins.conftest import load


class Desk:
    """A plugin whose task's labels change between releases."""

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.labels = labels

    @hookimpl
    def register_tasks(self, register: Callable[[TaskSpec], None]) -> None:
        register(TaskSpec("desk.intent", HeadKind.SEQUENCE, labels=self.labels))


OLD, NEW = ("ask", "thank"), ("ask", "thank", "shipping")
LINE = (
    f"intent@1 (tenant {LOCAL_TENANT}): task 'desk.intent' answers with labels ['ask', 'thank'], the task's labels "
    "are now ['ask', 'thank', 'shipping'] (new: ['shipping'], gone: [], or another order); retrain it on the "
    "task's labels and push it, or delete it"
)


def test_a_label_change_lists_the_stored_adapters_at_start_up_and_in_status(
    tiny_runtime, tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    settings = Settings.from_env(
        environ={}, store=str(tmp_path / "store"), host="127.0.0.1", port=0, disk_cache_dir=str(tmp_path / "cache")
    )
    before = build_service(settings, load(("desk", Desk(OLD))))
    before.attach_runtime(tiny_runtime)
    files = random_adapter_files(tiny_runtime.spec, [("desk.intent", HeadKind.SEQUENCE, list(OLD))])
    before.upload(Caller(LOCAL_TENANT), UploadHeader("intent"), files)
    assert before.label_drift == ()

    with caplog.at_level(logging.WARNING, logger="hub.serving.label_drift"):
        after = build_service(settings, load(("desk", Desk(NEW))))  # the plugin's next release, same store
    assert [d.describe() for d in after.label_drift] == [LINE]
    assert LINE in caplog.text
    assert build_service(settings, load(("desk", Desk(OLD)))).label_drift == ()  # back to its labels: nothing

    after.attach_runtime(tiny_runtime)
    server = HubServer(after, build_authenticator(settings, after))
    server.start(load_backbone=False)
    try:
        target = ["--target", f"127.0.0.1:{server.port}"]
        capsys.readouterr()
        assert main(["status", *target]) == 0
        shown = capsys.readouterr().out
        assert f"stored adapters whose labels differ from their task's (1):\n  {LINE}\n" in shown
        assert main(["status", "--json", *target]) == 0
        assert json.loads(capsys.readouterr().out)["label_drift"] == [LINE]
    finally:
        server.stop(grace=1)
