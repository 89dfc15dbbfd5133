"""CPU and precision knobs of the serving engine: thread count, dynamic int8 of the backbone."""

from __future__ import annotations

import warnings

import torch
from torch import nn

from adapters_registry.errors import InvalidArgument

QUANTIZE_MODES = ("none", "int8")


def configure_threads(threads: int) -> int:
    """Set torch's intra-op threads when ``threads`` > 0; return the count in effect."""
    if threads > 0:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def check_quantize(mode: str, device: torch.device, dtype: torch.dtype) -> None:
    if mode not in QUANTIZE_MODES:
        raise InvalidArgument(f"quantize must be one of {list(QUANTIZE_MODES)}, not {mode!r}")
    if mode == "int8" and (device.type != "cpu" or dtype != torch.float32):
        raise InvalidArgument("quantize=int8 (dynamic) runs on CPU with dtype float32 only")


def quantize_linears(model: nn.Module) -> nn.Module:
    """Dynamic int8 for every frozen ``nn.Linear`` (weights int8, activations quantized per
    batch). The LoRA updates and heads stay float32; only the shared backbone is approximated.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notices
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8, inplace=True)
