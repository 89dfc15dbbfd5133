"""Read and write the safetensors format without torch and without loading tensors blindly.

The format is an 8-byte little-endian header length, a JSON header mapping tensor names to
dtype / shape / byte offsets, then the raw bytes. Parsing the header checks every offset,
so a hostile file cannot point outside itself; values are decoded with numpy only when a
caller asks (NaN/Inf checks, head extraction).
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass

import numpy as np

from adapters_registry import bounded_json

# dtype -> (bytes per element, numpy dtype used to decode it; None: decoded specially)
DTYPE_SIZES: dict[str, int] = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2,
    "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
}  # fmt: skip
_NUMPY_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2"}
FLOAT_DTYPES = frozenset({"F64", "F32", "F16", "BF16"})
DEFAULT_MAX_HEADER_BYTES = 1 << 20
# Shapes: no zero-size dimension (PEFT writes none; numpy and torch fail on e.g. [0, 2**62]),
# few dimensions, and element counts that an upload's bytes could hold.
MAX_DIMS = 4
MAX_DIM = 1 << 31
MAX_ELEMENTS = 1 << 31


class SafetensorsFormatError(ValueError):
    """The bytes are not a well-formed safetensors file."""


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str
    shape: tuple[int, ...]
    start: int
    end: int

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class SafetensorsFile:
    tensors: dict[str, TensorInfo]
    metadata: dict[str, str]
    data: bytes
    data_start: int

    def raw(self, name: str) -> bytes:
        info = self.tensors[name]
        return self.data[self.data_start + info.start : self.data_start + info.end]

    def as_float32(self, name: str) -> np.ndarray:
        """Decode a floating-point tensor to a float32 numpy array of its shape."""
        info = self.tensors[name]
        raw = self.raw(name)
        if info.dtype == "BF16":
            halves = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            values = halves.view(np.float32)
        elif info.dtype in _NUMPY_DTYPES:
            values = np.frombuffer(raw, dtype=_NUMPY_DTYPES[info.dtype]).astype(np.float32)
        else:
            raise SafetensorsFormatError(f"tensor {name!r} is {info.dtype}, not floating point")
        return values.reshape(info.shape)


def parse(data: bytes, *, max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES) -> SafetensorsFile:
    """Parse and bounds-check a safetensors file held in memory."""
    if len(data) < 8:
        raise SafetensorsFormatError("file is shorter than the 8-byte header length")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > max_header_bytes:
        raise SafetensorsFormatError(f"header of {header_len} bytes exceeds the cap of {max_header_bytes} bytes")
    if 8 + header_len > len(data):
        raise SafetensorsFormatError("header length points past the end of the file")
    try:  # a header is one object of objects: 4 levels leave room for __metadata__'s
        header = bounded_json.loads(data[8 : 8 + header_len], max_bytes=max_header_bytes, max_depth=4)
    except bounded_json.JsonBoundsError as exc:
        raise SafetensorsFormatError(f"header: {exc}") from None
    if not isinstance(header, dict):
        raise SafetensorsFormatError("header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise SafetensorsFormatError("__metadata__ is not an object")
    tensors = {name: _tensor_info(name, entry) for name, entry in header.items()}
    _check_layout(tensors, len(data) - 8 - header_len)
    return SafetensorsFile(tensors, {str(k): str(v) for k, v in metadata.items()}, data, 8 + header_len)


def _tensor_info(name: str, entry: object) -> TensorInfo:
    if not isinstance(entry, dict):
        raise SafetensorsFormatError(f"entry {name[:80]!r} is not an object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in DTYPE_SIZES:  # (a list or an object is unhashable)
        raise SafetensorsFormatError(f"tensor {name[:80]!r} has unsupported dtype {str(dtype)[:40]!r}")
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_DIMS
        or not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= MAX_DIM for d in shape)
    ):
        raise SafetensorsFormatError(
            f"tensor {name[:80]!r} has an invalid shape {str(shape)[:80]}: "
            f"at most {MAX_DIMS} dimensions, each from 1 to {MAX_DIM}"
        )
    if math.prod(shape) > MAX_ELEMENTS:
        raise SafetensorsFormatError(f"tensor {name[:80]!r} has over {MAX_ELEMENTS} elements")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and o >= 0 for o in offsets)
        or offsets[0] > offsets[1]
    ):
        raise SafetensorsFormatError(f"tensor {name[:80]!r} has invalid data offsets {str(offsets)[:80]}")
    info = TensorInfo(name, dtype, tuple(shape), offsets[0], offsets[1])
    if info.numel * DTYPE_SIZES[dtype] != info.end - info.start:
        raise SafetensorsFormatError(f"tensor {name[:80]!r}: byte size does not match its shape")
    return info


def _check_layout(tensors: dict[str, TensorInfo], data_len: int) -> None:
    position = 0
    for info in sorted(tensors.values(), key=lambda t: t.start):
        if info.start != position:
            raise SafetensorsFormatError("tensor data overlaps or leaves gaps")
        position = info.end
    if position != data_len:
        raise SafetensorsFormatError("tensor data does not end where the file ends")


def non_finite_tensors(file: SafetensorsFile) -> list[str]:
    """Names of floating-point tensors holding NaN or Inf."""
    return [
        name
        for name, info in file.tensors.items()
        if info.dtype in FLOAT_DTYPES and not np.isfinite(file.as_float32(name)).all()
    ]


def write(tensors: dict[str, tuple[str, tuple[int, ...], bytes]], metadata: dict[str, str] | None = None) -> bytes:
    """Serialize ``name -> (dtype, shape, raw little-endian bytes)`` as safetensors."""
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    for name in sorted(tensors):
        dtype, shape, raw = tensors[name]
        header[name] = {
            "dtype": dtype,
            "shape": list(shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        offset += len(raw)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    body = b"".join(tensors[name][2] for name in sorted(tensors))
    return struct.pack("<Q", len(encoded)) + encoded + body
