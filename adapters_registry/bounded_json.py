"""JSON from a tenant, parsed within bounds: its size and its nesting depth are checked before
``json.loads`` sees it (the standard parser recurses once per level and fails deep inside with a
RecursionError; a bounded depth also keeps every later walk over the value shallow).

Used for every JSON document an upload carries: adapter_config.json, hub_adapter.json and the
safetensors headers.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32
MAX_BYTES = 1 << 20
# a JSON string (skipped whole) or a bracket; everything else cannot change the depth
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class JsonBoundsError(ValueError):
    """Not JSON, or JSON beyond the bounds: the message says which, for the uploader."""


def depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in ``data`` (0 for a scalar)."""
    deepest = current = 0
    for match in _TOKENS.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            current += 1
            deepest = max(deepest, current)
        elif token in (b"]", b"}"):
            current -= 1
    return deepest


def _no_constant(name: str) -> float:
    raise JsonBoundsError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonBoundsError(f"the number {text[:20]} is out of range")
    return value


def loads(data: bytes, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """``data`` as JSON: JsonBoundsError when it is larger than ``max_bytes``, nested deeper than
    ``max_depth``, not UTF-8, not JSON, or holds NaN / Infinity (not JSON, though Python writes them)."""
    if len(data) > max_bytes:
        raise JsonBoundsError(f"{len(data)} bytes of JSON; at most {max_bytes}")
    found = depth(data)
    if found > max_depth:
        raise JsonBoundsError(f"JSON nested {found} levels deep; at most {max_depth}")
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_no_constant, parse_float=_finite)
    except JsonBoundsError:
        raise
    except UnicodeDecodeError:
        raise JsonBoundsError("not UTF-8") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError; an integer of over 4300 digits
        raise JsonBoundsError(f"not valid JSON ({exc.__class__.__name__})") from None
