"""Storage backends behind one small interface (see base.ObjectStore), opened from one URI
parser (uri.parse_store_uri)."""

from adapters_registry.storage.base import (
    ConditionFailed,
    ObjectNotFound,
    ObjectStore,
    StoredObject,
    StoreUnavailable,
)
from adapters_registry.storage.factory import open_store
from adapters_registry.storage.uri import StoreURI, parse_store_uri

__all__ = [
    "ConditionFailed",
    "ObjectNotFound",
    "ObjectStore",
    "StoreURI",
    "StoreUnavailable",
    "StoredObject",
    "open_store",
    "parse_store_uri",
]
