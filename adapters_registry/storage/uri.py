"""The one parser of store URIs: ``file:///abs/dir`` or a plain path, ``memory://NAME``,
``s3://BUCKET[/PREFIX]``.

Everything that asks "which kind of store is this?" (the factory, the settings check, the auth
policy, the disk tier's default) reads a :class:`StoreURI` from :func:`parse_store_uri`, so a
URI is either understood the same way everywhere or refused once with a clear message. Imports
neither boto3 nor torch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from adapters_registry.storage.base import check_key
from hub.errors import InvalidArgument

SCHEMES = ("file", "memory", "s3")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# "s3:/bucket" or "file:relative" would otherwise be taken for a relative path and silently
# create a directory of that name.
_SCHEME_WITHOUT_SLASHES = re.compile(r"^(?:file|memory|s3):(?!//)", re.IGNORECASE)


@dataclass(frozen=True)
class StoreURI:
    """A parsed store URI. ``path`` is set for ``file``, ``name`` for ``memory`` (empty: an
    anonymous store), ``bucket`` and ``prefix`` (no surrounding slashes) for ``s3``."""

    scheme: str
    path: Path | None = None
    name: str = ""
    bucket: str = ""
    prefix: str = ""

    @property
    def is_local(self) -> bool:
        """A directory on this machine's file system (not shared with other servers by itself)."""
        return self.scheme == "file"

    @property
    def is_remote(self) -> bool:
        """An object store reached over the network (worth a local disk tier in front)."""
        return self.scheme == "s3"


def supported() -> str:
    return ", ".join(f"{s}://" for s in SCHEMES) + " or a path"


def parse_store_uri(uri: str) -> StoreURI:
    """Parse ``uri``; a URI without ``://`` is a local path (``~`` expanded). Raises
    InvalidArgument for an empty URI, an unknown scheme or a malformed URI of a known one."""
    if not uri.strip():
        raise InvalidArgument(f"the store URI is empty; supported: {supported()}")
    if "://" not in uri:
        if _SCHEME_WITHOUT_SLASHES.match(uri):
            raise InvalidArgument(f"malformed store URI {uri!r}: write SCHEME://...; supported: {supported()}")
        return StoreURI("file", path=Path(uri).expanduser())
    scheme = uri.split("://", 1)[0].lower()
    if scheme == "file":
        return _parse_file(uri)
    if scheme == "memory":
        return StoreURI("memory", name=uri.split("://", 1)[1])
    if scheme == "s3":
        return _parse_s3(uri)
    if "@" in uri:  # never echo what may carry credentials
        raise InvalidArgument(f"unsupported store URI scheme {scheme!r}; supported: {supported()}")
    raise InvalidArgument(f"unsupported store URI {uri!r}; supported: {supported()}")


def _parse_file(uri: str) -> StoreURI:
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost"):
        raise InvalidArgument(f"file store URI must name a local path: {uri!r}")
    if parts.query or parts.fragment or not parts.path.startswith("/"):
        raise InvalidArgument(f"file store URI must be file:///ABSOLUTE/DIR, got {uri!r}")
    return StoreURI("file", path=Path(unquote(parts.path)))


def _parse_s3(uri: str) -> StoreURI:
    parts = urlsplit(uri)
    if "@" in parts.netloc:  # never echo such a URI: it carries credentials
        raise InvalidArgument("an S3 store URI must not carry credentials; pass them as options")
    if parts.query or parts.fragment or not _BUCKET.match(parts.netloc):
        raise InvalidArgument(f"S3 store URI must be s3://BUCKET[/PREFIX], got {uri!r}")
    prefix = parts.path.strip("/")
    if prefix:
        try:
            check_key(prefix)
        except ValueError:
            raise InvalidArgument(f"invalid key prefix in S3 store URI {uri!r}") from None
    return StoreURI("s3", bucket=parts.netloc, prefix=prefix)
