"""Named steps where a crash test kills this process (``ADAPTER_HUB_TEST_CRASH_AT``).

A crash test starts a real ``adapter-hub serve`` with ``ADAPTER_HUB_TEST_CRASH_AT=push.claimed``
(a step name, optionally ``STEP:N`` for the N-th time the step is reached): the process sends
itself SIGKILL there, as an operator's ``kill -9`` would at that instruction, and the test checks
the store after a restart. Without the variable (production) ``reached`` is one comparison of a
module constant with the empty string: read once at import, never changed.

Steps: push.blobs_written, push.intent_written, push.claimed, push.latest_moved;
delete.intent_written, delete.tombstoned, delete.records_removed, delete.aliases_moved;
alias.moved; store.temp_written (local store: temp file written, not yet renamed).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

_TARGET, _, _COUNT = os.environ.get("ADAPTER_HUB_TEST_CRASH_AT", "").partition(":")
_NTH = int(_COUNT) if _COUNT.isdigit() else 1
_seen: dict[str, int] = {}
_lock = threading.Lock()
_quiet = threading.local()


@contextlib.contextmanager
def suppressed() -> Iterator[None]:
    """No crash inside (recovery: a restarted hub finishes the operation its predecessor was
    killed in, through the same steps; the test kills at the next step, not during recovery)."""
    _quiet.on = True
    try:
        yield
    finally:
        _quiet.on = False


def reached(step: str) -> None:
    """Kill this process (SIGKILL: no cleanup, no flush) if ``step`` is the one under test."""
    if not _TARGET or step != _TARGET or getattr(_quiet, "on", False):
        return
    with _lock:
        _seen[step] = _seen.get(step, 0) + 1
        if _seen[step] < _NTH:
            return
    os.kill(os.getpid(), signal.SIGKILL)
