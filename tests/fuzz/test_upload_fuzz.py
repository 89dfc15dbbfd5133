"""Upload bundles built from a real small PEFT adapter, then mutated: its config (values, deleted
keys, rank/alpha patterns made of regex pieces, raw bytes), its safetensors header (entries,
the header length, nesting), its tensor bytes (NaN, truncation), the hub's manifest and heads,
file names, and the upload header (names, tasks, labels). Property as for every RPC: no INTERNAL,
UNKNOWN or DATA_LOSS, no call over 5 s, the victim unchanged (tests/fuzz/conftest.py)."""

from __future__ import annotations

import contextlib
import json
import struct
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.api.v1 import adapters_pb2
from tests.fuzz.conftest import LABELS, SEQ, FuzzHub
from tests.fuzz.messages import METHODS, STRINGS
from tests.helpers import read_dir

pytestmark = pytest.mark.integration
CONFIG, WEIGHTS = "adapter_config.json", "adapter_model.safetensors"
Files = dict[str, bytes]
INAPPLICABLE = (ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError, struct.error)

JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), STRINGS),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(STRINGS, inner, max_size=4)),
    max_leaves=12,
)
REGEX_PIECES = ["(", ")", "+", "*", "?", ".", "|", "\\", "[a-u.]", "[", "]", "{2,}", "query", "layer", "\\d", "^", "$",
                "(?=x)", "(?P<a>", "\\1", "encoder", "0", "!"]  # fmt: skip
PATTERNS = st.dictionaries(
    st.lists(st.sampled_from(REGEX_PIECES), min_size=1, max_size=10).map("".join),
    st.one_of(st.integers(-3, 100), st.floats()),
    max_size=4,
)
CONFIG_KEYS = ["r", "lora_alpha", "target_modules", "rank_pattern", "alpha_pattern", "task_type", "peft_type",
               "use_rslora", "modules_to_save", "bias", "use_dora", "layer_replication", "fan_in_fan_out"]  # fmt: skip


def _config(files: Files, change: Callable[[dict[str, Any]], None]) -> None:
    config = json.loads(files[CONFIG])
    change(config)
    files[CONFIG] = json.dumps(config).encode()


def _header(files: Files) -> tuple[dict[str, Any], bytes]:
    data = files[WEIGHTS]
    (length,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + length]), data[8 + length :]


def _with_header(files: Files, header: Any, body: bytes) -> None:
    encoded = json.dumps(header).encode()
    files[WEIGHTS] = struct.pack("<Q", len(encoded)) + encoded + body


@st.composite
def mutation(draw: Callable[..., Any]) -> Callable[[Files], None]:
    kind = draw(st.sampled_from(["value", "delete", "patterns", "config_bytes", "entry", "length", "nesting",
                                 "tensor_bytes", "truncate", "manifest", "heads", "file_name"]))  # fmt: skip
    key = draw(st.sampled_from(CONFIG_KEYS))
    if kind == "value":
        value = draw(JSON)
        return lambda f: _config(f, lambda c: c.__setitem__(key, value))
    if kind == "delete":
        return lambda f: _config(f, lambda c: c.pop(key, None))
    if kind == "patterns":
        which, patterns = draw(st.sampled_from(["rank_pattern", "alpha_pattern"])), draw(PATTERNS)
        return lambda f: _config(f, lambda c: c.__setitem__(which, patterns))
    if kind == "config_bytes":
        raw = draw(st.one_of(st.binary(max_size=64), st.integers(1, 100_000).map(lambda n: b"[" * n + b"]" * n)))
        return lambda f: f.__setitem__(CONFIG, raw)
    if kind == "entry":
        field, value = draw(st.sampled_from(["dtype", "shape", "data_offsets", None])), draw(JSON)
        index = draw(st.integers(0, 100))

        def entry(f: Files) -> None:
            header, body = _header(f)
            name = sorted(k for k in header if k != "__metadata__")[index % (len(header) - 1 or 1)]
            if field is None:
                header[name] = value
            else:
                header[name][field] = value
            _with_header(f, header, body)

        return entry
    if kind == "length":
        length = draw(st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([0, 1, 7, 8, 2**20, 2**20 + 1, 2**63])))
        return lambda f: f.__setitem__(WEIGHTS, struct.pack("<Q", length) + f[WEIGHTS][8:])
    if kind == "nesting":
        depth = draw(st.integers(1, 50_000))
        raw = b'{"t": ' + b"[" * depth + b"]" * depth + b"}"
        return lambda f: f.__setitem__(WEIGHTS, struct.pack("<Q", len(raw)) + raw)
    if kind == "tensor_bytes":
        at = draw(st.integers(0, 1 << 20))
        patch = draw(st.sampled_from([b"\xff\xff\xff\x7f", b"\x00\x00\x80\x7f", b"\x00"]))
        return lambda f: f.__setitem__(WEIGHTS, f[WEIGHTS][:at] + patch + f[WEIGHTS][at + len(patch) :])
    if kind == "truncate":
        name, keep = draw(st.sampled_from([CONFIG, WEIGHTS])), draw(st.integers(0, 1 << 20))
        return lambda f: f.__setitem__(name, f[name][:keep])
    if kind in ("manifest", "heads"):
        value = draw(JSON)
        raw = json.dumps(value).encode() if kind == "manifest" else draw(st.binary(max_size=256))
        return lambda f: f.__setitem__("hub_adapter.json" if kind == "manifest" else "heads.safetensors", raw)
    new_name = draw(st.one_of(STRINGS, st.sampled_from(["../x", "/etc/passwd", "a.bin", "model.pt", "README.md"])))
    return lambda f: f.__setitem__(new_name, b"{}") if new_name else None


def upload_requests(header: adapters_pb2.UploadHeader, files: Files) -> list[adapters_pb2.UploadAdapterRequest]:
    parts = [adapters_pb2.UploadAdapterRequest(header=header)]
    for path, data in files.items():
        for start in range(0, max(len(data), 1), 1 << 16):
            chunk = adapters_pb2.FileChunk(path=path, data=data[start : start + (1 << 16)])
            parts.append(adapters_pb2.UploadAdapterRequest(chunk=chunk))
    return parts


HEADERS = st.builds(
    adapters_pb2.UploadHeader,
    name=st.one_of(st.just("fuzzed"), STRINGS),
    task=st.one_of(st.just(SEQ), STRINGS),
    labels=st.one_of(st.just(LABELS), st.lists(st.one_of(st.sampled_from(LABELS), STRINGS), max_size=5)),
    description=st.one_of(st.just(""), STRINGS),
)


@given(mutations=st.lists(mutation(), min_size=1, max_size=3), header=HEADERS)
def test_no_mutated_upload_gets_an_internal_error(fuzz_hub: FuzzHub, mutations: list, header: Any) -> None:
    files = read_dir(fuzz_hub.adapters_dir)
    for mutate in mutations:
        # a mutation may not apply to what an earlier one left (a header no longer JSON): skip it
        with contextlib.suppress(*INAPPLICABLE):
            mutate(files)
    metadata = [("authorization", f"Bearer {fuzz_hub.keys['attacker']}")]
    code = fuzz_hub.invoke(METHODS["AdapterService/UploadAdapter"], upload_requests(header, files), metadata)
    assert code is not grpc.StatusCode.OK or header.name  # an empty name is never stored


def test_the_unmutated_bundle_uploads(fuzz_hub: FuzzHub) -> None:
    header = adapters_pb2.UploadHeader(name="pristine", task=SEQ, labels=LABELS)
    metadata = [("authorization", f"Bearer {fuzz_hub.keys['attacker']}")]
    files = read_dir(fuzz_hub.adapters_dir)
    assert fuzz_hub.invoke(METHODS["AdapterService/UploadAdapter"], upload_requests(header, files), metadata) is (
        grpc.StatusCode.OK
    )


def test_afterwards_the_victim_sees_what_it_saw(fuzz_hub: FuzzHub) -> None:
    fuzz_hub.check_victim()
