"""TLS and mutual TLS for the server and the client; plaintext only where it is safe or asked for.

The server's certificate files are watched, not read once: gRPC asks ``CertificateFiles.fetch``
before every TLS handshake, which compares the files' stat signatures (size, mtime, inode) and
re-reads them only when one changed. A rotation (cert-manager rewriting a Kubernetes secret,
certbot renewing) therefore reaches the next connection without a restart, and open connections
keep the certificate they were made with. A file caught half-written (no complete PEM block,
or unreadable) is not taken: the current certificate stays until the files are whole again.
Rename new files into place to rotate atomically; a new certificate written before its key
fails handshakes only until the key is written too.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

import grpc

from hub.errors import InvalidArgument
from hub.serving.settings import Settings, is_loopback

log = logging.getLogger("hub.transport.tls")

_CERT_MARK = b"-----BEGIN CERTIFICATE-----"
_KEY_MARK = b"PRIVATE KEY-----"


def _signature(paths: tuple[Path, ...]) -> tuple[tuple[int, int, int], ...]:
    out = []
    for path in paths:
        st = path.stat()
        out.append((st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(out)


def _read_pem(path: Path, mark: bytes, what: str) -> bytes:
    data = path.read_bytes()
    if mark not in data:
        raise InvalidArgument(f"{what} {path} holds no PEM block containing {mark.decode()!r}")
    return data


@dataclass(frozen=True)
class _Loaded:
    signature: tuple[tuple[int, int, int], ...]
    config: grpc.ServerCertificateConfiguration


class CertificateFiles:
    """The server's certificate chain, key and (for mutual TLS) client CA, re-read on change."""

    def __init__(self, cert: str | Path, key: str | Path, client_ca: str | Path | None = None) -> None:
        self.cert, self.key = Path(cert), Path(key)
        self.client_ca = Path(client_ca) if client_ca else None
        self._lock = threading.Lock()
        self.reloads = 0  # how often a changed certificate was taken (tests, logs)
        self._loaded = self._load()  # raises: a server never starts with unreadable files

    @property
    def paths(self) -> tuple[Path, ...]:
        return (self.cert, self.key) + ((self.client_ca,) if self.client_ca else ())

    def _load(self) -> _Loaded:
        try:
            signature = _signature(self.paths)
            chain = _read_pem(self.cert, _CERT_MARK, "certificate")
            key = _read_pem(self.key, _KEY_MARK, "private key")
            ca = _read_pem(self.client_ca, _CERT_MARK, "client CA") if self.client_ca else None
        except OSError as exc:
            raise InvalidArgument(f"cannot read TLS files: {exc}") from None
        return _Loaded(signature, grpc.ssl_server_certificate_configuration([(key, chain)], root_certificates=ca))

    @property
    def config(self) -> grpc.ServerCertificateConfiguration:
        return self._loaded.config

    def fetch(self) -> grpc.ServerCertificateConfiguration | None:
        """gRPC's fetcher: a new configuration when the files changed, else None (keep the
        current one). Never raises: a rotation caught half-way keeps the old certificate."""
        try:
            with self._lock:
                if _signature(self.paths) == self._loaded.signature:
                    return None
                loaded = self._load()
                self._loaded = loaded
                self.reloads += 1
        except (OSError, InvalidArgument) as exc:
            log.warning("TLS files changed but cannot be used yet (%s); keeping the current certificate", exc)
            return None
        log.info("TLS certificate reloaded from %s", self.cert)
        return loaded.config

    def credentials(self) -> grpc.ServerCredentials:
        return grpc.dynamic_ssl_server_credentials(
            self.config, self.fetch, require_client_authentication=self.client_ca is not None
        )


def add_listener(server: grpc.Server, settings: Settings) -> tuple[int, CertificateFiles | None]:
    """Listen on the settings' address: TLS when a certificate is set, else plaintext (which the
    settings allow beyond loopback only with ``insecure``; a warning says so). The bound port
    (0 when it could not bind) and the watched certificate files."""
    if settings.tls_cert:
        files = CertificateFiles(settings.tls_cert, settings.tls_key, settings.tls_client_ca or None)
        mode = "mutual TLS" if files.client_ca else "TLS"
        log.info("serving %s with %s", mode, files.cert)
        return server.add_secure_port(settings.address, files.credentials()), files
    if not is_loopback(settings.host):
        log.warning(
            "serving PLAINTEXT on %s: API keys and texts cross the network unencrypted "
            "(--insecure); set --tls-cert and --tls-key to serve TLS",
            settings.host,
        )
    return server.add_insecure_port(settings.address), None


def server_options(settings: Settings) -> list[tuple[str, int]]:
    """Keepalive, connection age and stream limits as gRPC channel arguments."""
    ms = lambda seconds: int(seconds * 1000)  # noqa: E731
    options = [
        ("grpc.keepalive_time_ms", ms(settings.keepalive_s)),
        ("grpc.keepalive_timeout_ms", ms(settings.keepalive_timeout_s)),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", ms(settings.keepalive_min_ping_s)),
        ("grpc.http2.max_pings_without_data", 0),
    ]
    if settings.max_connection_age_s:
        options += [
            ("grpc.max_connection_age_ms", ms(settings.max_connection_age_s)),
            ("grpc.max_connection_age_grace_ms", ms(settings.max_connection_age_grace_s)),
        ]
    if settings.max_concurrent_streams:
        options.append(("grpc.max_concurrent_streams", settings.max_concurrent_streams))
    return options


@dataclass(frozen=True)
class ClientTLS:
    """What a client trusts and (for mutual TLS) presents. ``ca`` None: the system's roots."""

    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    server_name: str = ""  # check the server's certificate for this name instead of the target's host

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise ValueError("a client certificate needs its key, and the other way round (--tls-cert, --tls-key)")

    @classmethod
    def from_options(
        cls, ca: str | None, cert: str | None = None, key: str | None = None, server_name: str = ""
    ) -> ClientTLS | None:
        """From CLI options or the environment; None when no TLS option is given (plaintext)."""
        if not (ca or cert or key):
            return None
        return cls(
            Path(ca) if ca else None, Path(cert) if cert else None, Path(key) if key else None, server_name or ""
        )

    def credentials(self) -> grpc.ChannelCredentials:
        def read(path: Path | None, what: str) -> bytes | None:
            if path is None:
                return None
            try:
                return path.read_bytes()
            except OSError as exc:
                raise ValueError(f"cannot read the {what} {path}: {exc.strerror}") from None

        return grpc.ssl_channel_credentials(
            root_certificates=read(self.ca, "CA bundle"),
            private_key=read(self.key, "client key"),
            certificate_chain=read(self.cert, "client certificate"),
        )

    def options(self) -> list[tuple[str, str]]:
        return [("grpc.ssl_target_name_override", self.server_name)] if self.server_name else []


def speaks_tls(target: str, timeout: float = 2.0) -> bool:
    """Whether the server at ``target`` (host:port) answers a TLS handshake. Certificates are
    not checked: this only tells a plaintext client why its connection was closed."""
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


class ConnectionProblem(grpc.RpcError):
    """UNAVAILABLE with the reason spelled out: the client and the server disagree on TLS."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE

    def details(self) -> str:
        return self.message


def explain(error: grpc.RpcError, target: str, tls: ClientTLS | None) -> ConnectionProblem | None:
    """A clear error for a connection that failed because of TLS, or None when it did not."""
    code = error.code() if callable(getattr(error, "code", None)) else None
    if code != grpc.StatusCode.UNAVAILABLE:
        return None
    details = (error.details() or "") if callable(getattr(error, "details", None)) else ""
    if tls is None and speaks_tls(target):
        return ConnectionProblem(
            f"the hub at {target} serves TLS but this client speaks plaintext: give the CA that signed its "
            "certificate with --tls-ca FILE (env ADAPTER_HUB_TLS_CA), and for mutual TLS a client certificate "
            "with --tls-cert and --tls-key"
        )
    if tls is not None and "WRONG_VERSION_NUMBER" in details:
        return ConnectionProblem(
            f"the hub at {target} does not speak TLS (it serves plaintext): drop --tls-ca/--tls-cert/--tls-key "
            f"(and ADAPTER_HUB_TLS_*), or start it with --tls-cert and --tls-key ({details})"
        )
    if tls is not None and tls.cert is None and "Socket closed" in details:
        return ConnectionProblem(
            f"the hub at {target} closed the TLS connection: if it requires client certificates (mutual TLS), "
            f"give one with --tls-cert and --tls-key ({details})"
        )
    return None
