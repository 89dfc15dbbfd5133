"""Factories: build the service graph from settings (no module-level singletons)."""

from __future__ import annotations

import ipaddress
from typing import Any

from adapters_registry.errors import InvalidArgument
from adapters_registry.registry import AdapterRegistry
from adapters_registry.storage import ObjectStore, open_store
from hub.auth import Authenticator, KeyAuthenticator, LocalAuthenticator
from hub.plugin_manager import HubPlugins, build_plugins
from hub.residency import guard_store
from hub.service import HubService
from hub.settings import Settings


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_local_store(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file://")


def open_configured_store(settings: Settings) -> ObjectStore:
    options: dict[str, Any] = {}
    if settings.store.startswith("s3://"):
        options = {
            "endpoint_url": settings.s3_endpoint_url or None,
            "region": settings.s3_region or None,
            "create_bucket": settings.s3_create_bucket,
            "addressing_style": settings.s3_addressing_style or None,
            # bounded calls: an unreachable store fails in seconds, never hangs handler threads
            "connect_timeout": min(2.0, settings.store_timeout_s),
            "read_timeout": settings.store_timeout_s,
            "max_retries": settings.store_retries,
        }
    return open_store(settings.store, **options)


def build_service(settings: Settings, plugins: HubPlugins | None = None) -> HubService:
    """The service with its plugins: the given ones, else those installed and allowed by settings."""
    registry = AdapterRegistry(guard_store(open_configured_store(settings), settings))  # circuit breaker
    plugins = plugins if plugins is not None else build_plugins(settings)
    return HubService(settings, registry, plugins.tasks, plugins=plugins)


def build_authenticator(settings: Settings, service: HubService) -> Authenticator:
    """Auth is on unless the hub listens on loopback with a local store (the embedded default)."""
    embedded = is_loopback(settings.host) and is_local_store(settings.store)
    mode = settings.auth.lower()
    if mode not in ("auto", "on", "off"):
        raise InvalidArgument("auth must be auto, on or off")
    if mode == "off" and not embedded:
        raise InvalidArgument(
            "auth can be off only for the embedded default (loopback address and a local store); "
            "set ADAPTER_HUB_ADMIN_KEY and create tenants with `adapter-hub tenant add`"
        )
    if mode == "off" or (mode == "auto" and embedded):
        return LocalAuthenticator()
    if not settings.admin_key:
        raise InvalidArgument(
            "auth is on (the hub listens beyond loopback or uses a shared store): "
            "set the operator's key with --admin-key or ADAPTER_HUB_ADMIN_KEY"
        )
    return KeyAuthenticator(service.tenants, settings.admin_key)
