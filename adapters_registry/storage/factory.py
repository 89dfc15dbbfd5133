"""Open a store from a URI: ``file:///abs/dir``, a plain path, ``memory://NAME`` or
``s3://BUCKET/PREFIX``.

Backend options travel as keyword arguments (``open_store("s3://b/p", endpoint_url=...)``);
a backend refuses the ones it does not know. The S3 backend is imported only when an
``s3://`` URI is opened, so boto3 is not loaded by processes that never use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

from adapters_registry.storage.base import ObjectStore
from adapters_registry.storage.local import LocalStore
from adapters_registry.storage.memory import MemoryStore
from hub.errors import InvalidArgument


class _Opener(Protocol):
    def __call__(self, uri: str, **options: Any) -> ObjectStore: ...


def _refuse_options(kind: str, options: dict[str, Any]) -> None:
    if options:
        names = ", ".join(sorted(options))
        raise InvalidArgument(f"the {kind} store takes no options; got {names}")


def _open_path(path: Path, **options: Any) -> ObjectStore:
    _refuse_options("file", options)
    return LocalStore(path)


def _open_file(uri: str, **options: Any) -> ObjectStore:
    parsed = urlparse(uri)
    if parsed.netloc not in ("", "localhost"):
        raise InvalidArgument(f"file store URI must name a local path: {uri!r}")
    return _open_path(Path(unquote(parsed.path)), **options)


def _open_memory(uri: str, **options: Any) -> ObjectStore:
    _refuse_options("memory", options)
    return MemoryStore(uri.split("://", 1)[1] or None)


def _open_s3(uri: str, **options: Any) -> ObjectStore:
    from adapters_registry.storage.s3 import open_s3

    return open_s3(uri, **options)


_SCHEMES: dict[str, _Opener] = {"file": _open_file, "memory": _open_memory, "s3": _open_s3}


def open_store(uri: str, **options: Any) -> ObjectStore:
    """Return the backend for ``uri``; a URI without a scheme is a local path."""
    scheme = urlparse(uri).scheme if "://" in uri else ""
    if not scheme:
        return _open_path(Path(uri).expanduser(), **options)
    opener = _SCHEMES.get(scheme)
    if opener is None:
        known = ", ".join(f"{s}://" for s in sorted(_SCHEMES))
        raise InvalidArgument(f"unsupported store URI {uri!r}; supported: {known} or a path")
    return opener(uri, **options)
