"""The metrics port's HTTP endpoints (``--metrics-port``): ``/metrics`` for Prometheus,
``/livez`` and ``/readyz`` for Kubernetes' probes (200 or 503 with a one-line body from the
service's HealthState, hub/observe/health.py), and 404 for every other path, so a probe
pointed at a wrong path fails instead of passing on the metrics body.

A small ThreadingHTTPServer: each request gets its own thread, so a slow scrape does not hold
a probe; request lines, paths and headers are bounded by http.server (65536 bytes a line, 100
headers), and no request body is read.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from hub.observe.health import HealthState, HealthView

log = logging.getLogger("hub.observe.probes")

LIVEZ, READYZ, METRICS = "/livez", "/readyz", "/metrics"
_PROBE_TIMEOUT_S = 10.0  # a client that opens a connection and sends nothing is dropped after this


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = _PROBE_TIMEOUT_S

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        path = self.path.split("?", 1)[0]
        if path == METRICS:
            status, content_type, body = 200, self.server.content_type, self.server.render()
        elif path in (LIVEZ, READYZ):
            view = self.server.view()
            ok = view.live if path == LIVEZ else view.ready
            text = ("ok" if ok else f"not {'live' if path == LIVEZ else 'ready'}: {view.reason}") + "\n"
            status, content_type, body = (200 if ok else 503), "text/plain; charset=utf-8", text.encode()
        else:
            status, content_type = 404, "text/plain; charset=utf-8"
            body = f"not found; the paths are {METRICS}, {LIVEZ} and {READYZ}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Scrapes and probes are not requests of the hub: no line per probe (debug only)."""
        log.debug("%s " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        render: Callable[[], bytes],
        content_type: str,
        view: Callable[[], HealthView],
    ) -> None:
        self.render, self.content_type, self.view = render, content_type, view
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)


class ProbeServer:
    """/metrics, /livez and /readyz on ``host:port`` (0: any free port), served on a thread."""

    def __init__(
        self, host: str, port: int, render: Callable[[], bytes], content_type: str, health: HealthState | None
    ) -> None:
        view = health.view if health is not None else (lambda: HealthView(True, True, "ready"))
        self._httpd = _Server((host, port), render, content_type, view)
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="metrics-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)
