"""ServerInfo: what the hub tells any caller about itself (the transport adds only its own facts)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from urllib.parse import urlsplit, urlunsplit

from hub import __version__
from hub.config.settings import Settings

# the library versions Runtime.describe() reports, besides the hub's own
LIBRARIES = ("torch", "transformers", "peft", "python")


@dataclass(frozen=True)
class Limits:
    """The request limits a client should respect (named as the Settings fields they come from)."""

    max_texts_per_request: int
    max_text_chars: int
    max_tokens_per_text: int
    max_fanout_targets: int
    max_upload_bytes: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(**{f.name: getattr(settings, f.name) for f in fields(cls)})


@dataclass(frozen=True)
class ServerInfo:
    backbone_name: str
    backbone_fingerprint: str
    device: str
    dtype: str
    backbone_parameters: int
    hidden_size: int
    versions: Mapping[str, str]  # hub, torch, transformers, peft, python
    limits: Limits
    store: str  # the store's URI, never with credentials (public_uri)


def public_uri(uri: str) -> str:
    """``uri`` without user info, query or fragment: the parts that may carry secrets."""
    parts = urlsplit(uri)
    if "@" not in parts.netloc and not parts.query and not parts.fragment:
        return uri  # nothing to remove (and no round trip to normalise it)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def describe_server(described: Mapping[str, str | int], settings: Settings, store_uri: str) -> ServerInfo:
    """ServerInfo from the runtime's description (Runtime.describe), the settings and the store."""
    d = described
    return ServerInfo(
        backbone_name=str(d["backbone_name"]),
        backbone_fingerprint=str(d["fingerprint"]),
        device=str(d["device"]),
        dtype=str(d["dtype"]),
        backbone_parameters=int(d["parameters"]),
        hidden_size=int(d["hidden_size"]),
        versions={name: str(d[name]) for name in LIBRARIES} | {"hub": __version__},
        limits=Limits.of(settings),
        store=public_uri(store_uri),
    )
