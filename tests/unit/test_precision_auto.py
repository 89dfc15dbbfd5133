"""The served dtype's default, `auto`: bfloat16 where the hardware computes it natively."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hub.config.settings import Settings, SettingsError
from hub.engine.precision import cpu_has_native_bf16, resolve_dtype

CPU = torch.device("cpu")


def cpuinfo(tmp_path: Path, flags: str) -> str:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nflags\t\t: fpu sse2 avx2 {flags}\n\nprocessor\t: 1\nflags\t\t: fpu {flags}\n")
    return str(path)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("avx512f avx512_bf16", "bfloat16"),
        ("amx_tile amx_bf16", "bfloat16"),
        ("avx512f avx512bw", "float32"),
        ("", "float32"),
    ],
)
def test_auto_on_cpu_follows_native_bf16(tmp_path: Path, flags: str, expected: str) -> None:
    assert resolve_dtype("auto", CPU, cpuinfo(tmp_path, flags)) == expected


def test_an_explicit_dtype_is_kept_and_unreadable_cpuinfo_means_float32(tmp_path: Path) -> None:
    path = cpuinfo(tmp_path, "avx512_bf16")
    assert resolve_dtype("float32", CPU, path) == "float32"
    assert resolve_dtype("float16", CPU, path) == "float16"
    assert not cpu_has_native_bf16(str(tmp_path / "missing"))
    assert resolve_dtype("auto", CPU, str(tmp_path / "missing")) == "float32"


def test_the_default_is_auto_and_int8_still_needs_float32() -> None:
    assert Settings.from_env(environ={}).dtype == "auto"
    assert Settings.from_env(environ={}, quantize="int8").quantize == "int8"  # auto means float32 there
    with pytest.raises(SettingsError, match="float32 only"):
        Settings.from_env(environ={}, quantize="int8", dtype="bfloat16")


def test_a_runtime_loaded_with_auto_serves_what_this_machine_supports(tiny_backbone_dir: Path) -> None:
    from hub.engine.runtime import Runtime

    runtime = Runtime.load(str(tiny_backbone_dir), device="cpu", dtype="auto")
    expected = "bfloat16" if cpu_has_native_bf16() else "float32"
    assert runtime.describe()["dtype"] == expected
    assert (
        Runtime.load(str(tiny_backbone_dir), device="cpu", dtype="auto", quantize="int8").describe()["dtype"]
        == "float32"
    )
