"""`adapter-hub`: serve the hub, or talk to a running one."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from adapter_hub_client import HubError

from hub.cli import client_commands as cc
from hub.cli.cluster_commands import add_cluster_parsers
from hub.cli.domain_commands import add_domain_parsers
from hub.cli.fairness_commands import add_limit_flags, add_tenant_set_parser
from hub.cli.plugins import cmd_plugins
from hub.cli.residency_commands import add_residency_parsers
from hub.cli.serve import add_serve_parser
from hub.cli.store_commands import add_store_parsers
from hub.cli.train_commands import add_training_parsers

DEFAULT_TARGET = "127.0.0.1:50051"


def _client_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--target",
        default=os.environ.get("ADAPTER_HUB_TARGET", DEFAULT_TARGET),
        help="server address host:port (env ADAPTER_HUB_TARGET; default %(default)s)",
    )
    common.add_argument(
        "--api-key",
        default=os.environ.get("ADAPTER_HUB_API_KEY") or None,
        help="tenant API key sent as 'authorization: Bearer KEY' (env ADAPTER_HUB_API_KEY)",
    )
    common.add_argument("--timeout", type=float, default=120.0, help="seconds per call (default %(default)s)")
    tls = common.add_argument_group("TLS (plaintext when none is given)")
    tls.add_argument(
        "--tls-ca",
        default=os.environ.get("ADAPTER_HUB_TLS_CA") or None,
        metavar="FILE",
        help="talk TLS, trusting the CA certificates in FILE (PEM) (env ADAPTER_HUB_TLS_CA)",
    )
    tls.add_argument(
        "--tls-cert",
        default=os.environ.get("ADAPTER_HUB_TLS_CLIENT_CERT") or None,
        metavar="FILE",
        help="client certificate (PEM) for mutual TLS (env ADAPTER_HUB_TLS_CLIENT_CERT)",
    )
    tls.add_argument(
        "--tls-key",
        default=os.environ.get("ADAPTER_HUB_TLS_CLIENT_KEY") or None,
        metavar="FILE",
        help="the client certificate's key (PEM) (env ADAPTER_HUB_TLS_CLIENT_KEY)",
    )
    tls.add_argument(
        "--tls-server-name",
        default=os.environ.get("ADAPTER_HUB_TLS_SERVER_NAME") or "",
        metavar="NAME",
        help="check the server's certificate for NAME instead of the target's host (env ADAPTER_HUB_TLS_SERVER_NAME)",
    )
    common.add_argument("--json", action="store_true", help="print JSON on stdout only")
    common.add_argument(
        "--retries",
        type=int,
        default=3,
        help="retries of a call that may be repeated (predictions, reads, push with its idempotency key; "
        "not delete or tenant keys) refused with a retry hint (full queue, rate limit) or UNAVAILABLE, each after the "
        "hinted pause (default %(default)s)",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adapter-hub", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_serve_parser(sub)
    add_cluster_parsers(sub)
    common = _client_options()

    def client_cmd(name: str, handler: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_, description=help_)
        p.set_defaults(handler=handler)
        return p

    p = client_cmd("push", cc.cmd_push, "upload an adapter directory (PEFT save_pretrained output)")
    p.add_argument("directory")
    p.add_argument("--name", required=True, help="adapter name in your namespace (or, with --domain, the domain's)")
    p.add_argument("--domain", default="", help="publish into this domain's catalog, DOMAIN:NAME (operator: admin key)")
    p.add_argument("--task", help="task its classifier serves (needed for a plain PEFT directory)")
    p.add_argument("--labels", help="comma-separated label names in classifier order")
    p.add_argument("--description", default="", help="free text stored in the manifest")
    p.add_argument("--idempotency-key", help="a repeated push with this key returns the first one's version")

    p = client_cmd("predict", cc.cmd_predict, "score texts with an adapter")
    p.add_argument("--adapter", required=True, help="NAME[@VERSION] (number or alias), or DOMAIN:NAME[@VERSION]")
    p.add_argument("--task", help="task to use when the adapter has several")
    p.add_argument("--file", help="score this file's lines instead (one text per line; - reads stdin), streamed")
    p.add_argument(
        "--json-array",
        action="store_true",
        help="with texts as arguments: print one JSON array of the answers (--json: JSON Lines, one object per text)",
    )
    p.add_argument("texts", nargs="*", metavar="TEXT")

    p = client_cmd("fanout", cc.cmd_fanout, "score one text with several adapters in one pass")
    p.add_argument("text")
    p.add_argument("targets", nargs="+", metavar="ADAPTER[@VERSION][:TASK]", help="ADAPTER: NAME or DOMAIN:NAME")

    p = client_cmd(
        "adapters", cc.cmd_adapters, "list your adapters (or a domain's) with versions, aliases, tasks, sizes"
    )
    p.add_argument("--domain", default="", help="list this domain's adapters instead of yours")
    p = client_cmd("show", cc.cmd_show, "show one adapter version in full (JSON)")
    p.add_argument("adapter", metavar="NAME[@VERSION]")
    p = client_cmd("delete", cc.cmd_delete, "delete one version (NAME@VERSION) or a whole adapter (NAME)")
    p.add_argument("adapter", metavar="NAME[@VERSION]")
    p = client_cmd("alias", cc.cmd_alias, "point an alias at a version")
    p.add_argument("name")
    p.add_argument("version")
    p.add_argument("alias")
    client_cmd("info", cc.cmd_info, "show the server's backbone, device, versions and limits")
    client_cmd("tasks", cc.cmd_tasks, "list the tasks the server offers")
    p = client_cmd("plugins", cmd_plugins, "list plugins with versions, and per task its head kind and labels")
    p.add_argument("--local", action="store_true", help="what this environment would load; no server needed")
    add_residency_parsers(sub, common)
    _add_tenant_parsers(sub, common)
    add_store_parsers(sub, common)
    add_training_parsers(sub, common)
    add_domain_parsers(sub, common)
    return parser


def _add_tenant_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    tenant = sub.add_parser("tenant", help="manage tenants and API keys (operator: needs the admin key)")
    actions = tenant.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", parents=[common], help="create a tenant (or a new key for it); prints the key once")
    add.add_argument("tenant")
    add.add_argument("--max-bytes", type=int, default=0, help="storage quota (0: server default)")
    add.add_argument("--max-adapters", type=int, default=0, help="adapter count quota (0: server default)")
    add_limit_flags(add)
    add.set_defaults(handler=cc.cmd_tenant_add)
    listing = actions.add_parser("list", parents=[common], help="tenants with keys, usage and quotas")
    listing.set_defaults(handler=cc.cmd_tenant_list)
    revoke = actions.add_parser("revoke", parents=[common], help="revoke every key of a tenant")
    revoke.add_argument("tenant")
    revoke.set_defaults(handler=cc.cmd_tenant_revoke)
    add_tenant_set_parser(actions, common)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = int(args.handler(args))
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return code
    except BrokenPipeError:
        return _pipe_closed()
    except KeyboardInterrupt:
        return 130
    except ValueError as exc:  # refused locally, before any call
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except HubError as exc:  # the client library's: unary calls and streams, TLS mismatches explained
        print(f"error: {exc.status}: {exc.message}", file=sys.stderr)
        return 1


def _pipe_closed() -> int:
    """The reader of our output went away (``adapter-hub predict ... | head -1``): stop quietly,
    as Unix tools do, with the status a SIGPIPE death gives (128 + 13). Whatever is still
    buffered goes to /dev/null, so the interpreter's last flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is no file (redirected in-process): nothing to flush
        pass
    return 141


if __name__ == "__main__":
    sys.exit(main())
