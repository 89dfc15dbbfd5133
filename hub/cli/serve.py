"""`adapter-hub serve`: every option also reads ADAPTER_HUB_<OPTION>."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from hub.serving.settings import DEFAULT_BACKBONE, DEFAULT_PORT, Settings, default_store


def add_serve_parser(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="run the hub server",
        description="Run the hub: one frozen backbone serving every tenant's adapters over gRPC. "
        "Each option can also be set with the environment variable shown.",
    )
    p.add_argument("--host", help="address to listen on (ADAPTER_HUB_HOST; default 127.0.0.1)")
    p.add_argument(
        "--port",
        type=int,
        help=f"gRPC port (ADAPTER_HUB_PORT; default {DEFAULT_PORT}; 0 = any free)",
    )
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
    p.add_argument(
        "--max-batch-size",
        type=int,
        help="rows per engine forward, batched across requests (ADAPTER_HUB_MAX_BATCH_SIZE; default 32)",
    )
    p.add_argument(
        "--max-batch-wait-ms",
        type=float,
        help="longest wait of a queued row for its batch to fill (ADAPTER_HUB_MAX_BATCH_WAIT_MS; default 2)",
    )
    p.add_argument(
        "--torch-threads",
        type=int,
        help="torch intra-op threads (ADAPTER_HUB_TORCH_THREADS; default 0: one per core but one)",
    )
    p.add_argument(
        "--quantize",
        help="none | int8: dynamic int8 backbone Linears, CPU only (ADAPTER_HUB_QUANTIZE; default none)",
    )
    p.add_argument(
        "--auth",
        help="auto | on | off (ADAPTER_HUB_AUTH; default auto: on unless loopback with a local store)",
    )
    p.add_argument(
        "--admin-key",
        help="the operator's key for tenant management, required when auth is on "
        "(ADAPTER_HUB_ADMIN_KEY; prefer the variable: flags show in `ps`)",
    )
    p.add_argument("--log-level", default="INFO", help="DEBUG | INFO | WARNING (default INFO)")
    p.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from hub.errors import DomainError
    from hub.plugins.catalog import PluginError
    from hub.serving.app import build_authenticator, build_service
    from hub.transport.server import HubServer

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    names = (
        "host",
        "port",
        "store",
        "backbone",
        "device",
        "dtype",
        "max_workers",
        "max_batch_size",
        "max_batch_wait_ms",
        "torch_threads",
        "quantize",
        "auth",
        "admin_key",
    )
    settings = Settings.from_env(**{k: getattr(args, k) for k in names})
    try:
        service = build_service(settings)
        auth = build_authenticator(settings, service)
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except PluginError as exc:  # names each plugin and what is wrong with it
        print(f"error: {exc}", file=sys.stderr)
        return 2
    server = HubServer(service, auth)
    server.stop_on_signals()
    server.start()
    print(
        f"adapter-hub listening on {settings.host}:{server.port} "
        f"(store {service.registry.store.uri}, backbone {settings.backbone}, "
        f"auth {'on' if auth.enabled else 'off'}); loading backbone...",
        flush=True,
    )
    server.wait()
    return 0
