"""`adapter-hub train --base`: the domain adapter a tenant adapter is trained on (stacked).

``--base DOMAIN:NAME[@VERSION]`` downloads that version from a running hub (--target,
--api-key; the tenant must be allowed to read the domain); ``--base DIR`` takes a local copy of
a published version, and ``--base-ref DOMAIN:NAME@VERSION`` says which (the hub checks the
digest at push, so a copy that differs from the published version is refused there). Either way
the artifact's manifest records the base's exact version and content digest.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from adapters_registry.artifact import ALLOWED_FILES, sha256_hex
from adapters_registry.domains import content_digest, split_reference
from adapters_registry.manifest import MANIFEST_FILE, BaseAdapter, parse_manifest
from hub.errors import InvalidArgument, InvalidArtifact


def add_base_options(p: Any) -> None:
    g = p.add_argument_group("stacking (train on a domain adapter)")
    g.add_argument("--base", default="", metavar="DOMAIN:NAME[@VERSION] | DIR",
                   help="train on this domain adapter, applied and frozen: a reference the hub at --target "
                   "serves you, or a local copy of a published version (then give --base-ref)")  # fmt: skip
    g.add_argument("--base-ref", default="", metavar="DOMAIN:NAME@VERSION",
                   help="with --base DIR: the published version DIR is a copy of")  # fmt: skip
    g.add_argument("--target", default=os.environ.get("ADAPTER_HUB_TARGET", "127.0.0.1:50051"),
                   help="with --base DOMAIN:NAME: the hub (env ADAPTER_HUB_TARGET)")  # fmt: skip
    g.add_argument("--api-key", default=os.environ.get("ADAPTER_HUB_API_KEY") or None,
                   help="with --base DOMAIN:NAME: your API key (env ADAPTER_HUB_API_KEY)")  # fmt: skip


def _parse(reference: str, exact: bool) -> tuple[str, str, str]:
    name, _, version = reference.partition("@")
    domain, plain = split_reference(name)
    if not domain or not plain or (exact and not version.isdigit()):
        need = "DOMAIN:NAME@VERSION (an exact version number)" if exact else "DOMAIN:NAME[@VERSION]"
        raise InvalidArgument(f"--base-ref / --base: expected {need}, got {reference!r}")
    return domain, plain, version


def _local(directory: Path, reference: str) -> dict[str, bytes]:
    if not reference:
        raise InvalidArgument("--base DIR needs --base-ref DOMAIN:NAME@VERSION: the published version DIR copies")
    return {n: (directory / n).read_bytes() for n in ALLOWED_FILES if (directory / n).is_file()}


def _remote(args: argparse.Namespace, reference: str) -> tuple[str, dict[str, bytes]]:
    from adapter_hub_client import HubClient

    with HubClient(args.target, api_key=args.api_key, tls_ca=os.environ.get("ADAPTER_HUB_TLS_CA") or None) as client:
        version = client.get_adapter(reference).version  # an alias resolves once, to an exact version
        exact = f"{reference.partition('@')[0]}@{version}"
        return exact, client.download_adapter(exact)


def resolve_base(args: argparse.Namespace) -> tuple[BaseAdapter | None, dict[str, bytes] | None]:
    """(the manifest's base record, the base's files) for --base, or (None, None)."""
    if not args.base:
        if args.base_ref:
            raise InvalidArgument("--base-ref goes with --base DIR")
        return None, None
    directory = Path(args.base)
    if directory.is_dir():
        reference, files = args.base_ref, _local(directory, args.base_ref)
    else:
        _parse(args.base, exact=False)
        reference, files = _remote(args, args.base)
    domain, name, version = _parse(reference, exact=True)
    problems: list[str] = []
    raw = json.loads(files[MANIFEST_FILE]) if MANIFEST_FILE in files else {}
    manifest = parse_manifest(raw, problems) if raw else None
    if manifest is None or not manifest.files:
        raise InvalidArtifact(problems or [f"base {reference}: no {MANIFEST_FILE} with its files' sha256"])
    for path, record in manifest.files.items():
        if path not in files or sha256_hex(files[path]) != record.sha256:
            raise InvalidArtifact([f"base {reference}: {path} is missing or does not match its sha256"])
    return BaseAdapter(domain, name, int(version), content_digest(manifest)), files
