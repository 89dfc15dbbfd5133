"""Adjustments to Ray Serve's gRPC proxy and replicas, made in their own processes.

Each Ray worker process of the cluster's job runs ``adjust_serve_proxy`` at start-up (Ray's
``worker_process_setup_hook``, set by hub/cluster/supervisor.py). It changes three things Serve
has no option for:

- Where the proxy listens: Serve's gRPC proxy always binds every interface (``[::]:port``); a
  local cluster must not be reachable from the network, so the proxy binds
  ``ADAPTER_HUB_PROXY_HOST`` instead.
- What a client sees when a replica dies under its call: Serve answers INTERNAL with Ray's
  own message (actor ids, node details). For the client that is the server going away, which
  gRPC calls UNAVAILABLE: the call may be retried, and a retry reaches another replica. Any
  other failure inside Serve stays INTERNAL, with the request id instead of Ray's details (the
  hub's rule: INTERNAL never leaks internals).
- When a replica's drain begins: Serve stops routing to a replica it stops, waits for its ongoing
  calls (polling every ``graceful_shutdown_wait_loop_s``, 2 s), and only then calls the
  replica's ``__del__``. The hub's readiness must be false from the start of that drain
  (/readyz, ``adapter_hub_ready``), so the replica's ``begin_drain`` runs first. Where the hook
  is not installed (a Serve config file on KubeRay), readiness goes false at ``__del__``.
"""

from __future__ import annotations

import os
from typing import Any

HOST_VARIABLE = "ADAPTER_HUB_PROXY_HOST"
REPLICA_GONE = "the replica answering this call stopped; retry the call (another replica answers it)"


def adjust_serve_proxy() -> None:
    from ray.serve._private import default_impl, proxy

    host = os.environ.get(HOST_VARIABLE, "")
    if host:

        def add_grpc_address(grpc_server: Any, server_address: str) -> None:
            port = server_address.rpartition(":")[2]
            grpc_server.add_insecure_port(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")

        default_impl.add_grpc_address = add_grpc_address
    proxy.get_grpc_response_status = _response_status(proxy.get_grpc_response_status)
    _announce_drains()


DRAIN_HOOK = "begin_drain"  # the user callable's method called when Serve begins to stop it


def _announce_drains() -> None:
    """Serve's replica (ray/serve/_private/replica.py ``Replica``) runs its graceful shutdown in
    ``_perform_graceful_shutdown``; the user callable is ``_user_callable_wrapper._callable``.
    Both names are private: tests/cluster/test_proxy.py checks they are still there."""
    from ray.serve._private import replica

    original = replica.Replica._perform_graceful_shutdown
    if getattr(original, "_hub_drain", False):
        return

    async def perform_graceful_shutdown(self: Any) -> None:
        user = getattr(getattr(self, "_user_callable_wrapper", None), "_callable", None)
        hook = getattr(user, DRAIN_HOOK, None)
        if callable(hook):
            try:
                hook()
            except Exception:  # the drain itself must go on
                import logging

                logging.getLogger("hub.cluster").warning("begin_drain failed", exc_info=True)
        await original(self)

    perform_graceful_shutdown._hub_drain = True  # type: ignore[attr-defined]
    replica.Replica._perform_graceful_shutdown = perform_graceful_shutdown  # type: ignore[method-assign]


def _response_status(serve_status: Any) -> Any:
    import grpc
    from ray.exceptions import RayActorError

    def response_status(exc: BaseException, request_timeout_s: float | None, request_id: str) -> Any:
        status = serve_status(exc, request_timeout_s, request_id)
        if status.code != grpc.StatusCode.INTERNAL:
            return status
        cause = getattr(exc, "original_exception", None) or exc
        if isinstance(cause, RayActorError):
            return type(status)(code=grpc.StatusCode.UNAVAILABLE, is_error=True, message=REPLICA_GONE)
        return type(status)(code=status.code, is_error=True, message=f"internal error (request {request_id})")

    return response_status
