"""`adapter-hub serve`: one flag per setting, generated from the settings table
(hub/serving/settings.py); each also reads ADAPTER_HUB_<SETTING>, and a flag wins over it."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from hub.serving.settings import GROUPS, Settings, default_store
from hub.serving.settings_schema import default_text, env_name, flag_name, settings_fields

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def add_serve_parser(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="run the hub server",
        description="Run the hub: one frozen backbone serving every tenant's adapters over gRPC. "
        "Each option can also be set with the environment variable shown; the flag wins.",
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
    """Defaults < environment < the flags given. Raises SettingsError listing every problem."""
    return Settings.from_env(**{f.name: getattr(args, f.name) for f, _ in settings_fields(Settings)})


def run_serve(args: argparse.Namespace) -> int:
    from hub.errors import DomainError
    from hub.plugins.catalog import PluginError
    from hub.serving.app import build_authenticator, build_service
    from hub.transport.server import HubServer

    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = settings_from_args(args)
        service = build_service(settings)
        auth = build_authenticator(settings, service)
    except DomainError as exc:  # SettingsError included: every invalid setting, by name
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
