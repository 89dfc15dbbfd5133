"""`adapter-hub serve`: one flag per setting, generated from the settings table
(hub/config/settings.py); each also reads ADAPTER_HUB_<SETTING>, and a flag wins over it."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from hub.config.settings import GROUPS, Settings, default_store
from hub.config.settings_schema import default_text, env_name, flag_name, settings_fields

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def add_serve_parser(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="run the hub server",
        description="Run the hub: one frozen backbone serving every tenant's adapters over gRPC. "
        "Each option can also be set with the environment variable shown; the flag wins.",
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help="a TOML file of settings by their names (port = 50051; [observe] metrics_port = 9090); "
        "the environment and flags override it",
    )
    add_settings_flags(p)
    p.add_argument(
        "--log-level", default="INFO", type=str.upper, choices=LOG_LEVELS, help="log threshold (default INFO)"
    )
    p.set_defaults(handler=run_serve)


def add_settings_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per Settings field, in its group. Values stay strings (None: not given) and
    are parsed and checked by Settings, so every bad value is reported at once."""
    sections = {g.key: parser.add_argument_group(g.title) for g in GROUPS}
    for f, spec in settings_fields(Settings):
        shown = default_store() if f.name == "store" else default_text(f, spec)
        text = f"{spec.help} (env {env_name(f.name)}; default {shown})"
        if spec.secret:
            text += "; better set by the environment variable: flags show in `ps`"
        options: dict[str, Any] = {"dest": f.name, "default": None, "help": text.replace("%", "%%")}
        if isinstance(f.default, bool):
            options["action"] = argparse.BooleanOptionalAction
        else:
            options["metavar"] = _metavar(f.name, f.default, spec.choices)
        sections[spec.group].add_argument(flag_name(f.name), **options)


def _metavar(name: str, default: object, choices: tuple[str, ...]) -> str:
    if choices:
        return "{" + ",".join(c or "''" for c in choices) + "}"
    return "N" if isinstance(default, int | float) else name.upper()


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Defaults < ``--config`` file < environment < the flags given. Raises SettingsError
    listing every problem."""
    from hub.config.settings_file import read_settings_file

    config = getattr(args, "config", None)
    file = read_settings_file(config) if config else None
    return Settings.from_env(file=file, **{f.name: getattr(args, f.name) for f, _ in settings_fields(Settings)})


def run_serve(args: argparse.Namespace) -> int:
    from hub.errors import DomainError
    from hub.observe.logs import configure_logging
    from hub.observe.tracing import build_tracer_provider
    from hub.plugins.catalog import PluginError
    from hub.serving.app import build_authenticator, build_service
    from hub.transport.server import HubServer

    try:
        settings = settings_from_args(args)
    except DomainError as exc:  # SettingsError: every invalid setting, by name
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format, args.log_level, route_native=settings.log_format == "json")
    try:
        service = build_service(settings)
        auth = build_authenticator(settings, service)
    except DomainError as exc:  # SettingsError included: every invalid setting, by name
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except PluginError as exc:  # names each plugin and what is wrong with it
        print(f"error: {exc}", file=sys.stderr)
        return 2
    tracer_provider = build_tracer_provider()  # OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set
    try:
        server = HubServer(service, auth, tracer_provider=tracer_provider)
        server.start()  # the metrics endpoint first, then gRPC
    except (OSError, RuntimeError, DomainError) as exc:  # a port taken (grpc: RuntimeError), bad TLS files
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    server.stop_on_signals()  # SIGTERM/SIGINT drain and stop; SIGHUP reloads limits and certificates
    tls = ("mutual TLS" if settings.tls_client_ca else "TLS") if settings.tls_cert else "plaintext"
    metrics = f", metrics on :{server.metrics.port}/metrics" if server.metrics is not None else ""
    print(
        f"adapter-hub listening on {settings.host}:{server.port} ({tls}{metrics}; "
        f"store {service.registry.store.uri}, backbone {settings.backbone}, "
        f"auth {'on' if auth.enabled else 'off'}); loading backbone...",
        flush=True,
    )
    server.wait()
    if tracer_provider is not None:
        tracer_provider.shutdown()  # flush the spans still batched
    return 0
