"""The generated messages, importable under the module names they carry (``hub.api.v1.<name>_pb2``,
registered by hub/api/v1): a process that pickles them without having imported the hub's
transport (Ray Serve's proxy, hub/cluster/proxy.py) imports this first, so they pickle by
reference."""

from hub.api import v1

__all__ = ["v1"]
