"""How a client reaches the hub: target, API key, TLS, timeouts, retries, channel options.

Taken the way the ``adapter-hub`` CLI takes them: an argument wins, else the environment
(``ADAPTER_HUB_TARGET``, ``ADAPTER_HUB_API_KEY``, ``ADAPTER_HUB_TLS_CA``,
``ADAPTER_HUB_TLS_CLIENT_CERT``, ``ADAPTER_HUB_TLS_CLIENT_KEY``, ``ADAPTER_HUB_TLS_SERVER_NAME``),
else the default. TLS is on when any TLS file is given (a CA to trust, or a client certificate
and key for mutual TLS), plaintext otherwise.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import grpc

DEFAULT_TARGET = "127.0.0.1:50051"
ENV = {
    "target": "ADAPTER_HUB_TARGET",
    "api_key": "ADAPTER_HUB_API_KEY",
    "tls_ca": "ADAPTER_HUB_TLS_CA",
    "tls_cert": "ADAPTER_HUB_TLS_CLIENT_CERT",
    "tls_key": "ADAPTER_HUB_TLS_CLIENT_KEY",
    "tls_server_name": "ADAPTER_HUB_TLS_SERVER_NAME",
    "application": "ADAPTER_HUB_APPLICATION",
}
APPLICATION = "adapter-hub"  # the Ray Serve application of a cluster (`adapter-hub cluster up`)
ROUTE_SCOPE = "~"  # between a routing key's tenant scope and the adapter name (no name holds it)
_KEY_ID = re.compile(r"ahk_([0-9a-f]{16})_")


@dataclass(frozen=True)
class ClientConfig:
    """Everything a ``HubClient`` / ``AsyncHubClient`` is built from.

    ``timeout``: seconds per call unless a call says otherwise. ``retries``: how often a call
    that may be repeated safely (predictions and reads) is tried again after UNAVAILABLE or a
    RESOURCE_EXHAUSTED that carries a retry hint; calls that change state (push, delete,
    tenant keys) are retried only when the call itself asks (``retries=``).
    ``keepalive_s``: ping an idle connection this often (None: gRPC's default, no pings; keep
    it at or above the server's minimum ping interval, 10 s by default, or it closes the
    connection). ``max_receive_bytes`` / ``max_send_bytes``: message size caps.
    ``options``: further gRPC channel arguments, as (name, value) pairs.
    ``application``: the Ray Serve application a cluster serves the hub as; with it every call
    carries the routing metadata a cluster needs (``application``, the adapter as
    ``multiplexed_model_id``, the deadline as ``hub-deadline-ms``), which a single server ignores.
    """

    target: str = DEFAULT_TARGET
    api_key: str | None = None
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_server_name: str = ""
    timeout: float = 60.0
    retries: int = 3
    keepalive_s: float | None = None
    keepalive_timeout_s: float = 20.0
    max_receive_bytes: int = 8 << 20
    max_send_bytes: int = 8 << 20
    options: tuple[tuple[str, Any], ...] = field(default=())
    application: str = APPLICATION

    def __post_init__(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("a client certificate needs its key, and the other way round (--tls-cert, --tls-key)")
        if self.timeout <= 0:
            raise ValueError(f"timeout must be positive seconds, got {self.timeout}")
        if self.retries < 0:
            raise ValueError(f"retries must be 0 or more, got {self.retries}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **given: Any) -> ClientConfig:
        """The config from ``given`` arguments (None or absent: not given), then the
        ``ADAPTER_HUB_*`` environment (``os.environ`` unless ``environ``), then the defaults."""
        env = os.environ if environ is None else environ
        unknown = set(given) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(f"unknown client option(s): {', '.join(sorted(unknown))}")
        values = {k: v for k, v in given.items() if v is not None}
        for name, variable in ENV.items():
            if name not in values and env.get(variable):
                values[name] = env[variable]
        return cls(**_paths(values))

    def with_(self, **changes: Any) -> ClientConfig:
        """A copy with ``changes`` (TLS files as str or Path)."""
        return replace(self, **_paths(changes))

    @property
    def tls(self) -> bool:
        return self.tls_ca is not None or self.tls_cert is not None

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.api_key}"),) if self.api_key else ()

    def call_metadata(self, route: str = "", timeout: float | None = None) -> tuple[tuple[str, str], ...]:
        """A call's metadata: the credential, and what a Ray Serve cluster routes by."""
        extra: list[tuple[str, str]] = [("application", self.application)] if self.application else []
        if route:
            extra.append(("multiplexed_model_id", self.route_key(route)))
        if timeout is not None:
            extra.append(("hub-deadline-ms", str(int(timeout * 1000))))
        return self.metadata + tuple(extra)

    def route_key(self, adapter: str) -> str:
        """The routing key for ``adapter``: scoped by the API key's public id (``KEYID~name``), so
        two tenants' adapters of one name are routed apart (a flood on one tenant's ``sentiment``
        does not draw another's onto its replica); a domain's shared adapter (``DOMAIN:NAME``)
        and calls without a tenant key are routed by name alone. The secret never leaves."""
        match = _KEY_ID.match(self.api_key or "")
        if match is None or ":" in adapter:
            return adapter
        return f"{match.group(1)}{ROUTE_SCOPE}{adapter}"

    def channel_options(self) -> list[tuple[str, Any]]:
        options: list[tuple[str, Any]] = [
            ("grpc.max_receive_message_length", self.max_receive_bytes),
            ("grpc.max_send_message_length", self.max_send_bytes),
        ]
        if self.keepalive_s is not None:
            options += [
                ("grpc.keepalive_time_ms", int(self.keepalive_s * 1000)),
                ("grpc.keepalive_timeout_ms", int(self.keepalive_timeout_s * 1000)),
                ("grpc.keepalive_permit_without_calls", 1),
            ]
        if self.tls_server_name:
            options.append(("grpc.ssl_target_name_override", self.tls_server_name))
        return options + list(self.options)

    def credentials(self) -> grpc.ChannelCredentials:
        """TLS credentials from the files (read now; a CA of None trusts the system's roots)."""

        def read(path: Path | None, what: str) -> bytes | None:
            if path is None:
                return None
            try:
                return path.read_bytes()
            except OSError as exc:
                raise ValueError(f"cannot read the {what} {path}: {exc.strerror}") from None

        return grpc.ssl_channel_credentials(
            root_certificates=read(self.tls_ca, "CA bundle"),
            private_key=read(self.tls_key, "client key"),
            certificate_chain=read(self.tls_cert, "client certificate"),
        )


def _paths(values: dict[str, Any]) -> dict[str, Any]:
    return {k: Path(v) if k in ("tls_ca", "tls_cert", "tls_key") and v is not None else v for k, v in values.items()}


def resolve(target: str | None, config: ClientConfig | None, options: dict[str, Any]) -> ClientConfig:
    """A client constructor's arguments as one config: a given ``config`` (with ``target`` and
    ``options`` applied on top), or one from the arguments and the environment."""
    if config is not None:
        changes = {k: v for k, v in {"target": target, **options}.items() if v is not None}
        return config.with_(**changes) if changes else config
    return ClientConfig.from_env(target=target, **options)
