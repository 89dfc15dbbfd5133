"""grpc.health.v1 from the service's HealthState (hub/observe/health.py), one name per question:

- ``liveness``: SERVING while the process works (through a drain); NOT_SERVING once the backbone
  failed to load or the server stopped. For a liveness probe: restart on NOT_SERVING.
- ``readiness``, the overall ``""`` and each hub service (``hub.api.v1.InferenceService``...):
  SERVING once loaded, NOT_SERVING while loading and from the first moment of a drain. For a
  readiness probe and load balancers: send no new calls on NOT_SERVING.

Any server (the threaded one, an asyncio one) builds a HealthServicer, adds it and calls
``follow``; the state's changes reach it from whichever thread makes them.
"""

from __future__ import annotations

from collections.abc import Iterable

from grpc_health.v1 import health, health_pb2

from hub.observe.health import HealthState, HealthView

LIVENESS = "liveness"
READINESS = "readiness"
SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING


def follow(servicer: health.HealthServicer, state: HealthState, services: Iterable[str]) -> None:
    """Keep ``servicer``'s statuses in step with ``state``: liveness, and readiness under
    ``READINESS``, ``""`` and every name of ``services``."""
    ready_names = ("", READINESS, *services)

    def apply(view: HealthView) -> None:
        servicer.set(LIVENESS, SERVING if view.live else NOT_SERVING)
        for name in ready_names:
            servicer.set(name, SERVING if view.ready else NOT_SERVING)

    state.listen(apply)
