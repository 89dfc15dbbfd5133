"""Open a store from a URI: ``file:///abs/dir`` or a plain path (more schemes register here)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

from adapters_registry.errors import InvalidArgument
from adapters_registry.storage.base import ObjectStore
from adapters_registry.storage.local import LocalStore


def _open_file(uri: str) -> ObjectStore:
    parsed = urlparse(uri)
    if parsed.netloc not in ("", "localhost"):
        raise InvalidArgument(f"file store URI must name a local path: {uri!r}")
    return LocalStore(Path(unquote(parsed.path)))


_SCHEMES: dict[str, Callable[[str], ObjectStore]] = {"file": _open_file}


def open_store(uri: str) -> ObjectStore:
    """Return the backend for ``uri``; a URI without a scheme is a local path."""
    scheme = urlparse(uri).scheme if "://" in uri else ""
    if not scheme:
        return LocalStore(Path(uri).expanduser())
    opener = _SCHEMES.get(scheme)
    if opener is None:
        known = ", ".join(f"{s}://" for s in sorted(_SCHEMES))
        raise InvalidArgument(f"unsupported store URI {uri!r}; supported: {known} or a path")
    return opener(uri)
