"""Open a store from a URI: ``file:///abs/dir``, a plain path, ``memory://NAME`` or
``s3://BUCKET/PREFIX`` (parsed once, by storage.uri.parse_store_uri).

Backend options travel as keyword arguments (``open_store("s3://b/p", endpoint_url=...)``);
a backend refuses the ones it does not know. The S3 backend is imported only when an
``s3://`` URI is opened, so boto3 is not loaded by processes that never use it.
"""

from __future__ import annotations

from typing import Any

from adapters_registry.storage.base import ObjectStore
from adapters_registry.storage.local import LocalStore
from adapters_registry.storage.memory import MemoryStore
from adapters_registry.storage.uri import StoreURI, parse_store_uri
from hub.errors import InvalidArgument


def _refuse_options(kind: str, options: dict[str, Any]) -> None:
    if options:
        names = ", ".join(sorted(options))
        raise InvalidArgument(f"the {kind} store takes no options; got {names}")


def open_store(uri: str | StoreURI, **options: Any) -> ObjectStore:
    """Return the backend for ``uri`` (a string or an already parsed StoreURI)."""
    parsed = parse_store_uri(uri) if isinstance(uri, str) else uri
    if parsed.scheme == "s3":
        from adapters_registry.storage.s3 import S3Options, S3Store

        return S3Store(parsed, S3Options.from_kwargs(options))
    _refuse_options(parsed.scheme, options)
    if parsed.scheme == "memory":
        return MemoryStore(parsed.name or None)
    assert parsed.path is not None  # a file URI always has one
    return LocalStore(parsed.path)
