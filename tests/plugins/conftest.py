"""Fixtures for the plugin system's tests."""

from __future__ import annotations

from typing import Any

from hub.config.settings import Settings
from hub.plugins.manager import HubPlugins, build_plugins
from hub.serving.app import build_service
from hub.serving.service import HubService
from tests.plugins.distributions import site_packages

__all__ = ["load", "service_with", "site_packages"]


def load(*extra: tuple[str, object], **settings: Any) -> HubPlugins:
    """The built-in plugin plus ``extra`` (name, plugin) pairs; no entry points."""
    return build_plugins(Settings.from_env(environ={}, **settings), extra=extra, entry_points=False)


def service_with(plugins: HubPlugins, runtime: Any, name: str, **settings: Any) -> HubService:
    """A service on an in-memory store around an already loaded runtime."""
    service = build_service(Settings.from_env(environ={}, store=f"memory://{name}", **settings), plugins)
    service.attach_runtime(runtime)
    return service
