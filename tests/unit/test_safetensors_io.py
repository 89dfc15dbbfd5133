import json
import struct

import numpy as np
import pytest

from adapters_registry import safetensors_io as st


def _file(tensors: dict[str, np.ndarray]) -> bytes:
    return st.write({k: ("F32", v.shape, v.astype("<f4").tobytes()) for k, v in tensors.items()})


def test_round_trip_matches_the_reference_library() -> None:
    from safetensors.numpy import load

    data = _file({"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(4, np.float32)})
    parsed = st.parse(data)
    assert parsed.tensors["a"].shape == (2, 3)
    np.testing.assert_array_equal(parsed.as_float32("a"), load(data)["a"])


def test_bf16_decodes() -> None:
    values = np.array([1.5, -2.0], dtype=np.float32)
    raw = (values.view(np.uint32) >> 16).astype("<u2").tobytes()
    parsed = st.parse(st.write({"x": ("BF16", (2,), raw)}))
    np.testing.assert_array_equal(parsed.as_float32("x"), values)


def _raw(header: object, body: bytes = b"") -> bytes:
    encoded = json.dumps(header).encode()
    return struct.pack("<Q", len(encoded)) + encoded + body


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"abc", "shorter"),
        (struct.pack("<Q", 1 << 40), "exceeds the cap"),
        (struct.pack("<Q", 100) + b"{}", "past the end"),
        (_raw([1, 2]), "not a JSON object"),
        (
            _raw({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 16]}}, b"\0" * 16),
            "does not match",
        ),
        (
            _raw({"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 8),
            "does not end",
        ),
        (
            _raw({"t": {"dtype": "X9", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4),
            "unsupported dtype",
        ),
        (
            _raw(
                {
                    "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                    "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                },
                b"\0" * 4,
            ),
            "overlaps",
        ),
    ],
)
def test_malformed_files_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(st.SafetensorsFormatError, match=message):
        st.parse(data)


def test_non_finite_tensors_are_named() -> None:
    data = _file({"ok": np.zeros(2, np.float32), "bad": np.array([1.0, np.nan], np.float32)})
    assert st.non_finite_tensors(st.parse(data)) == ["bad"]


@pytest.mark.parametrize(
    "shape",
    [[0, 2**62], [0], [2**62, 0], [1, 2, 3, 4, 5], [2**31 + 1], [2**20, 2**20], [True, 2], [-1], ["2"]],
)
def test_shapes_outside_the_bounds_are_refused(shape: list) -> None:
    header = json.dumps({"t": {"dtype": "F32", "shape": shape, "data_offsets": [0, 0]}}).encode()
    with pytest.raises(st.SafetensorsFormatError, match=r"shape|elements"):
        st.parse(struct.pack("<Q", len(header)) + header)


def test_a_deeply_nested_header_is_refused() -> None:
    header = b'{"t": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(st.SafetensorsFormatError, match="nested"):
        st.parse(struct.pack("<Q", len(header)) + header, max_header_bytes=1 << 20)


@pytest.mark.parametrize("dtype", [["F32"], {"a": 1}, 4, None])
def test_a_dtype_that_is_not_a_string_is_refused(dtype: object) -> None:
    # found by the long fuzz run (tests/fuzz): an unhashable dtype was an INTERNAL error
    header = json.dumps({"t": {"dtype": dtype, "shape": [1], "data_offsets": [0, 4]}}).encode()
    with pytest.raises(st.SafetensorsFormatError, match="dtype"):
        st.parse(struct.pack("<Q", len(header)) + header + b"\0" * 4)
