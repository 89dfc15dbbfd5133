"""Every `adapter-hub` command ends quietly when the reader of its output goes away
(`adapter-hub ... | head -1`): no traceback, the exit status of a SIGPIPE death (141)."""

from __future__ import annotations

import os
import subprocess
import sys


def test_a_closed_output_pipe_ends_the_command_quietly() -> None:
    env = {**os.environ, "ADAPTER_HUB_PLUGINS_ALLOW": "", "ADAPTER_HUB_PLUGINS_DENY": ""}
    command = [sys.executable, "-m", "hub.cli.main", "plugins", "--local"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the command writes anything
    errors = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141, errors
    assert "Traceback" not in errors and "BrokenPipeError" not in errors and "Exception ignored" not in errors, errors
