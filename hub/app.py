"""Factories: build the service graph from settings (no module-level singletons)."""

from __future__ import annotations

from adapters_registry.registry import AdapterRegistry
from adapters_registry.storage import open_store
from hub.service import Caller, HubService
from hub.settings import Settings
from hub.tasks import default_task_registry

LOCAL_TENANT = Caller("local")


def build_service(settings: Settings) -> HubService:
    registry = AdapterRegistry(open_store(settings.store))
    return HubService(settings, registry, default_task_registry())
