"""The one client the CLI's commands use, built from the common connection options."""

from __future__ import annotations

import argparse

from adapter_hub_client import HubClient


def connect(args: argparse.Namespace) -> HubClient:
    """The client library's client for the common options: --target, --api-key, --timeout,
    --retries (calls that may be repeated: predictions and reads), --tls-ca/--tls-cert/--tls-key/
    --tls-server-name."""
    return HubClient(
        args.target,
        api_key=args.api_key,
        timeout=args.timeout,
        retries=max(0, args.retries),
        tls_ca=args.tls_ca,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_server_name=args.tls_server_name or None,
    )
