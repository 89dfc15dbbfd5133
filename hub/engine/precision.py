"""CPU and precision knobs of the serving engine: thread count, dynamic int8 of the backbone."""

from __future__ import annotations

import os
import warnings

import torch
from torch import nn

from hub.errors import InvalidArgument

QUANTIZE_MODES = ("none", "int8")
# CPU flags of native bfloat16 arithmetic (/proc/cpuinfo): AVX512-BF16 dot products, AMX tiles.
# Without them torch emulates bfloat16 through float32 and a bf16 forward is slower, not faster.
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_has_native_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this CPU computes bfloat16 natively (Linux; False where that cannot be read)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            flags = {word for line in f if line.startswith("flags") for word in line.split()}
    except OSError:
        return False
    return any(flag in flags for flag in NATIVE_BF16_FLAGS)


def resolve_dtype(dtype: str, device: torch.device, cpuinfo: str = "/proc/cpuinfo") -> str:
    """``auto``: bfloat16 on a GPU that supports it and on a CPU with native bfloat16
    (AVX512-BF16 or AMX), float32 otherwise; any other value as it is. The shipped adapters'
    held-out metrics move less than 0.5 points under bfloat16 (BENCHMARKS.md, "Default dtype")."""
    if dtype != "auto":
        return dtype
    if device.type == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
    if device.type == "cpu" and cpu_has_native_bf16(cpuinfo):
        return "bfloat16"
    return "float32"


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def auto_threads() -> int:
    """One intra-op thread per available core but one, which stays free for the gRPC,
    tokenizer and decoding threads: a busy core under an OpenMP team makes every barrier
    wait a time slice (measured on 2 cores: 10x slower forwards)."""
    return max(1, available_cpus() - 1)


def configure_threads(threads: int) -> int:
    """Set torch's intra-op threads: ``threads`` > 0 exactly, 0 automatically (unless
    OMP_NUM_THREADS is set, which torch already honours). Returns the count in effect."""
    if threads <= 0 and not os.environ.get("OMP_NUM_THREADS"):
        threads = auto_threads()
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
