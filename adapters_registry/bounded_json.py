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
# the bytes that can change the depth or whether we are inside a string; each is visited once
# (a regex that skips strings whole backtracks quadratically on an unterminated string of
# escaped quotes: measured 42 s for 64 KB)
_SPECIAL = re.compile(rb'[\[\]{}"\\]')
_OPEN, _CLOSE, _QUOTE, _BACKSLASH = frozenset(b"[{"), frozenset(b"]}"), ord('"'), ord("\\")


class JsonBoundsError(ValueError):
    """Not JSON, or JSON beyond the bounds: the message says which, for the uploader."""


def depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in ``data`` (0 for a scalar), brackets inside
    strings not counted; linear in the length of ``data``."""
    deepest = current = 0
    in_string, escaped = False, -1  # escaped: the position a backslash in a string escapes
    for match in _SPECIAL.finditer(data):
        at, byte = match.start(), data[match.start()]
        if in_string:
            if at == escaped:
                continue
            if byte == _BACKSLASH:
                escaped = at + 1
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPEN:
            current += 1
            deepest = max(deepest, current)
        elif byte in _CLOSE:
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
