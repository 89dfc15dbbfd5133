"""Adapter Hub: one frozen backbone, many tenants' LoRA adapters with task heads, over gRPC."""

__version__ = "0.1.0"
