"""What ``HubClient`` and ``AsyncHubClient`` share: their constructor, with every option as an
explicit keyword, so a type checker catches a misspelled one (``HubClient(timout=5)``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adapter_hub_client.config import ClientConfig, resolve


class ClientBase:
    """``target`` and the options are ``ClientConfig`` fields; what is not given (None) comes
    from the ``ADAPTER_HUB_*`` environment, or pass a whole ``config`` (the options given
    override its fields)."""

    config: ClientConfig

    def __init__(
        self,
        target: str | None = None,
        *,
        config: ClientConfig | None = None,
        api_key: str | None = None,
        tls_ca: str | Path | None = None,
        tls_cert: str | Path | None = None,
        tls_key: str | Path | None = None,
        tls_server_name: str | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        keepalive_s: float | None = None,
        keepalive_timeout_s: float | None = None,
        max_receive_bytes: int | None = None,
        max_send_bytes: int | None = None,
        options: Sequence[tuple[str, Any]] | None = None,
        application: str | None = None,
    ) -> None:
        given = {
            "api_key": api_key,
            "tls_ca": tls_ca,
            "tls_cert": tls_cert,
            "tls_key": tls_key,
            "tls_server_name": tls_server_name,
            "timeout": timeout,
            "retries": retries,
            "keepalive_s": keepalive_s,
            "keepalive_timeout_s": keepalive_timeout_s,
            "max_receive_bytes": max_receive_bytes,
            "max_send_bytes": max_send_bytes,
            "options": tuple(options) if options is not None else None,
            "application": application,
        }
        self.config = resolve(target, config, given)
        self._connect()

    def _connect(self) -> None:
        raise NotImplementedError
