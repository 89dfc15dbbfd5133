"""Storage backends behind one small interface (see base.ObjectStore)."""

from adapters_registry.storage.base import (
    ConditionFailed,
    ObjectNotFound,
    ObjectStore,
    StoredObject,
    StoreUnavailable,
)
from adapters_registry.storage.factory import open_store

__all__ = [
    "ConditionFailed",
    "ObjectNotFound",
    "ObjectStore",
    "StoreUnavailable",
    "StoredObject",
    "open_store",
]
