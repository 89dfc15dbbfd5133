"""TLS and mutual TLS for the server; plaintext only where it is safe or asked for. (The client's
side, trust and client certificates and the hints when client and server disagree on TLS, is the
client library's: adapter_hub_client.config and .connection.)

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

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import grpc

from hub.config.settings import Settings, is_loopback
from hub.errors import InvalidArgument

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
        self._forced = False
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
                if self._forced:  # reload() took the files: hand gRPC their configuration once
                    self._forced = False
                    return self._loaded.config
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

    def reload(self) -> bool:
        """Re-read the files now, whether their stat signature changed or not (SIGHUP: a
        rotation that kept size and modification time); the next handshake uses them. False,
        with a warning, when they cannot be used: the current certificate stays."""
        try:
            with self._lock:
                self._loaded = self._load()
                self._forced = True
                self.reloads += 1
        except (OSError, InvalidArgument) as exc:
            log.warning("TLS files cannot be reloaded (%s); keeping the current certificate", exc)
            return False
        log.info("TLS certificate re-read from %s", self.cert)
        return True

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
