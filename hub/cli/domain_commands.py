"""`adapter-hub domain grant|revoke|list|publish-examples`: the operator's domain catalogs
(adapters_registry/domains.py), and the domain lines of `adapter-hub status`."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from adapter_hub_client import DomainAccess, DomainInfo

from hub.cli.connection import connect
from hub.cli.render import fields_json, show, version_json

# the repository's shipped example adapters (a source checkout or an editable install)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "adapters"


def add_domain_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    domain = sub.add_parser("domain", help="domain adapter catalogs: who may read them (operator: the admin key)")
    actions = domain.add_subparsers(dest="action", required=True, metavar="ACTION")
    for verb, help_ in (
        (
            "grant",
            "let TENANT read DOMAIN's adapters (a domain open to every tenant becomes a list); --all: every tenant",
        ),
        ("revoke", "stop TENANT reading DOMAIN's adapters; --all: nobody may"),
    ):
        p = actions.add_parser(verb, parents=[common], help=help_, description=help_)
        p.add_argument("domain")
        p.add_argument("tenant", nargs="?", default="")
        p.add_argument("--all", action="store_true", help="every tenant instead of one")
        p.set_defaults(handler=cmd_access, verb=verb)
    p = actions.add_parser("list", parents=[common], help="domains: access, adapters, users (counts)")
    p.set_defaults(handler=cmd_list)
    p = actions.add_parser(
        "publish-examples",
        parents=[common],
        help="publish the shipped example adapters as domain adapters, each in its task's domain "
        "(examples/adapters/ncbi-disease-ner -> medical:ncbi-disease-ner)",
    )
    p.add_argument("--dir", type=Path, default=EXAMPLES, help="folder of adapter directories (default: %(default)s)")
    p.set_defaults(handler=cmd_publish_examples)


def access_text(a: DomainAccess) -> str:
    if a.everyone:
        return "every tenant"
    if a.tenants or not a.granted:
        return ", ".join(a.tenants) or "nobody"
    return f"{a.granted} listed tenant(s)"


def cmd_access(args: argparse.Namespace) -> int:
    if args.all == bool(args.tenant):
        raise ValueError("name a TENANT or give --all, not both and not neither")
    with connect(args) as client:
        change = client.grant_domain if args.verb == "grant" else client.revoke_domain
        access = change(args.domain, args.tenant)
    return show(args.json, fields_json(access), [f"domain {access.domain}: readable by {access_text(access)}"])


def domain_json(d: DomainInfo) -> dict[str, Any]:
    return {
        **fields_json(d.access),
        "adapters": [
            {"name": a.name, "aliases": dict(a.aliases), "versions": [version_json(v) for v in a.versions]}
            for a in d.adapters
        ],
        "users": [fields_json(u) for u in d.users],
    }


def domain_lines(domains: list[DomainInfo]) -> Iterator[str]:
    for d in domains:
        users = {(u.name, u.version): u.users for u in d.users}
        mine = "" if d.access.readable else "  (not readable by you)"
        yield f"domain {d.access.domain}: readable by {access_text(d.access)}{mine}"
        for a in d.adapters:
            for v in a.versions:
                aliases = f" [{', '.join(v.aliases)}]" if v.aliases else ""
                count = users.get((a.name, v.version), 0)
                yield f"  {d.access.domain}:{a.name}@{v.version}{aliases}  users {count}"


def cmd_list(args: argparse.Namespace) -> int:
    with connect(args) as client:
        domains = client.list_domains()
    return show(args.json, [domain_json(d) for d in domains], domain_lines(domains))


def cmd_publish_examples(args: argparse.Namespace) -> int:
    folder: Path = args.dir
    dirs = sorted(p for p in folder.glob("*") if (p / "hub_adapter.json").is_file()) if folder.is_dir() else []
    if not dirs:
        raise ValueError(f"no adapter directories (with hub_adapter.json) in {folder}")
    published = []
    with connect(args) as client:
        for path in dirs:
            task = json.loads((path / "hub_adapter.json").read_text())["tasks"][0]["task"]
            reference = f"{task.partition('.')[0]}:{path.name}"
            info = client.push(path, reference)
            published.append({"adapter": reference, "version": info.version, "directory": str(path)})
    return show(
        args.json, published, [f"published {p['adapter']}@{p['version']} from {p['directory']}" for p in published]
    )
