"""Factories: build the service graph from settings (no module-level singletons)."""

from __future__ import annotations

import logging

from adapters_registry.registry import AdapterRegistry
from hub.config.settings import Settings, is_loopback
from hub.errors import InvalidArgument
from hub.plugins.manager import HubPlugins, build_plugins
from hub.serving.auth import Authenticator, KeyAuthenticator, LocalAuthenticator
from hub.serving.label_drift import check_label_drift
from hub.serving.service import HubService
from hub.serving.stores import guard_store, open_configured_store

log = logging.getLogger("hub.serving")


def build_service(settings: Settings, plugins: HubPlugins | None = None) -> HubService:
    """The service with its plugins: the given ones, else those installed and allowed by settings."""
    registry = AdapterRegistry(guard_store(open_configured_store(settings), settings))  # circuit breaker
    plugins = plugins if plugins is not None else build_plugins(settings)
    service = HubService(settings, registry, plugins.tasks, plugins=plugins)
    service.label_drift = check_label_drift(registry, plugins.tasks)  # listed again by `adapter-hub status`
    return service


def build_authenticator(settings: Settings, service: HubService) -> Authenticator:
    """Auth is on unless the hub listens on loopback with a local store (the embedded default)
    and no admin key is given: an admin key turns it on, since keys made on a hub that checks
    none would protect nothing. The mode is logged in one line (WARNING when off)."""
    embedded = is_loopback(settings.host) and settings.store_uri.is_local
    mode = settings.auth  # one of auto | on | off: checked with the other settings
    if mode == "off" and not embedded:
        raise InvalidArgument(
            "auth can be off only for the embedded default (loopback address and a local store); "
            "set ADAPTER_HUB_ADMIN_KEY and create tenants with `adapter-hub tenant add`"
        )
    if mode == "off" and settings.admin_key:
        raise InvalidArgument(
            "--auth off with an admin key: with auth off no key is checked, so the admin key and every "
            "tenant key would protect nothing; drop ADAPTER_HUB_ADMIN_KEY, or use --auth auto/on"
        )
    if mode == "off" or (mode == "auto" and embedded and not settings.admin_key):
        log.warning(
            "auth off: every caller is the local tenant and the operator, no key is checked "
            "(the embedded default: loopback address, local store, no admin key)"
        )
        return LocalAuthenticator()
    if not settings.admin_key:
        raise InvalidArgument(
            "auth is on (the hub listens beyond loopback or uses a shared store): "
            "set the operator's key with --admin-key or ADAPTER_HUB_ADMIN_KEY"
        )
    log.info("auth on: every call needs an API key (tenant keys from `adapter-hub tenant add`; the admin key)")
    return KeyAuthenticator(service.tenants, settings.admin_key)
