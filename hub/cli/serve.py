"""`adapter-hub serve`: every option also reads ADAPTER_HUB_<OPTION>."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
from typing import Any

from hub.settings import DEFAULT_BACKBONE, DEFAULT_PORT, Settings, default_store


def add_serve_parser(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="run the hub server",
        description="Run the hub: one frozen backbone serving every tenant's adapters over gRPC. "
        "Each option can also be set with the environment variable shown.",
    )
    p.add_argument("--host", help="address to listen on (ADAPTER_HUB_HOST; default 127.0.0.1)")
    p.add_argument("--port", type=int, help=f"gRPC port (ADAPTER_HUB_PORT; default {DEFAULT_PORT}; 0 = any free)")
    p.add_argument(
        "--store",
        help=f"adapter store URI: file:///abs/dir or a path (ADAPTER_HUB_STORE; default {default_store()})",
    )
    p.add_argument(
        "--backbone",
        help=f"'packaged:all-minilm-l6-v2' or a local HF model dir (ADAPTER_HUB_BACKBONE; default {DEFAULT_BACKBONE})",
    )
    p.add_argument("--device", help="auto | cpu | cuda | cuda:N (ADAPTER_HUB_DEVICE; default auto)")
    p.add_argument("--dtype", help="float32 | float16 | bfloat16 (ADAPTER_HUB_DTYPE; default float32)")
    p.add_argument("--max-workers", type=int, help="gRPC handler threads (ADAPTER_HUB_MAX_WORKERS; default 16)")
    p.add_argument("--log-level", default="INFO", help="DEBUG | INFO | WARNING (default INFO)")
    p.set_defaults(handler=run_serve)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_serve(args: argparse.Namespace) -> int:
    from hub.app import build_service
    from hub.auth import LocalAuthenticator
    from hub.transport.server import HubServer

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = {k: getattr(args, k) for k in ("host", "port", "store", "backbone", "device", "dtype", "max_workers")}
    settings = Settings.from_env(**overrides)
    if not _is_loopback(settings.host):
        print(
            f"refusing to listen on {settings.host}: without API keys the hub serves one local tenant "
            "and listens on loopback only",
            file=sys.stderr,
        )
        return 2
    service = build_service(settings)
    server = HubServer(service, LocalAuthenticator())
    server.stop_on_signals()
    server.start()
    print(
        f"adapter-hub listening on {settings.host}:{server.port} "
        f"(store {service.registry.store.uri}, backbone {settings.backbone}); loading backbone...",
        flush=True,
    )
    server.wait()
    return 0
