"""Liveness and readiness, kept apart, transport-free: one HealthState per service, read by the
gRPC health service (hub/transport/health.py), the HTTP probes /livez and /readyz
(hub/observe/probes.py) and the ``adapter_hub_ready`` gauge, so all three always agree.

- **live**: the process works and should keep running. False once the backbone failed to load
  (it never will: restart it) and once the server has stopped. A drain keeps it live: a probe
  that killed a draining process would cut the calls it is finishing.
- **ready**: new calls are welcome here. False while the backbone loads and from the first
  moment of a drain (before any admitted call is finished), so a load balancer stops sending
  work while the process still answers what it took.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

Listener = Callable[["HealthView"], None]


@dataclass(frozen=True)
class HealthView:
    """One moment's state; ``reason`` says why not ready (loading, draining, failed, stopped)."""

    live: bool
    ready: bool
    reason: str


class HealthState:
    """Loading -> ready -> draining -> stopped (or loading -> failed); listeners hear each change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded = self._draining = self._failed = self._stopped = False
        self._listeners: list[Listener] = []

    def view(self) -> HealthView:
        with self._lock:
            return self._view()

    def _view(self) -> HealthView:
        if self._stopped:
            return HealthView(False, False, "stopped")
        if self._failed:
            return HealthView(False, False, "the backbone failed to load")
        if self._draining:
            return HealthView(True, False, "draining")
        if not self._loaded:
            return HealthView(True, False, "loading")
        return HealthView(True, True, "ready")

    @property
    def live(self) -> bool:
        return self.view().live

    @property
    def ready(self) -> bool:
        return self.view().ready

    @property
    def backbone_loaded(self) -> bool:
        """Loaded once (stays True through a drain): what ``HubService.ready`` reports."""
        with self._lock:
            return self._loaded

    def listen(self, listener: Listener) -> None:
        """Call ``listener`` now and on every change (in the changing thread)."""
        with self._lock:
            self._listeners.append(listener)
            now = self._view()
        listener(now)

    def loaded(self) -> None:
        self._change(_loaded=True)

    def failed(self) -> None:
        self._change(_failed=True)

    def draining(self) -> None:
        self._change(_draining=True)

    def stopped(self) -> None:
        self._change(_stopped=True)

    def _change(self, **flags: bool) -> None:
        with self._lock:
            before = self._view()
            for name, value in flags.items():
                setattr(self, name, value)
            after, listeners = self._view(), list(self._listeners)
        if after != before:
            for listener in listeners:
                listener(after)
