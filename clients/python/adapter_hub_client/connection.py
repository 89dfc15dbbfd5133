"""Why a connection failed, when the reason is TLS: client and server disagree on it.

gRPC reports both "plaintext client, TLS server" and "TLS client, plaintext server" as a bare
UNAVAILABLE; ``explain`` turns them into an ``Unavailable`` that says what to change. The
first case is told by a TLS handshake probe (certificates are not checked: it only asks
whether the server speaks TLS at all).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl

from adapter_hub_client.config import ClientConfig
from adapter_hub_client.errors import HubError, Unavailable


def speaks_tls(target: str, timeout: float = 2.0) -> bool:
    """Whether the server at ``target`` (host:port) answers a TLS handshake."""
    host, _, port = target.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])
    try:
        name = None if _is_ip(host) else host
        with (
            socket.create_connection((host, int(port)), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=name) as tls,
        ):
            return tls.version() is not None
    except ssl.SSLError as exc:
        return "ALERT" in str(exc).upper()  # the server spoke TLS and refused (e.g. no client certificate)
    except (OSError, ValueError):
        return False


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def explain(error: HubError, config: ClientConfig) -> HubError:
    """``error`` itself, or an ``Unavailable`` that names the TLS mismatch behind it."""
    if not isinstance(error, Unavailable):
        return error
    target, details = config.target, error.message
    if not config.tls and speaks_tls(target):
        return Unavailable(
            f"the hub at {target} serves TLS but this client speaks plaintext: give the CA that signed its "
            "certificate with --tls-ca FILE (env ADAPTER_HUB_TLS_CA), and for mutual TLS a client certificate "
            "with --tls-cert and --tls-key"
        )
    if config.tls and "WRONG_VERSION_NUMBER" in details:
        return Unavailable(
            f"the hub at {target} does not speak TLS (it serves plaintext): drop --tls-ca/--tls-cert/--tls-key "
            f"(and ADAPTER_HUB_TLS_*), or start it with --tls-cert and --tls-key ({details})"
        )
    if config.tls and config.tls_cert is None and "Socket closed" in details:
        return Unavailable(
            f"the hub at {target} closed the TLS connection: if it requires client certificates (mutual TLS), "
            f"give one with --tls-cert and --tls-key ({details})"
        )
    return error
