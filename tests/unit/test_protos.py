"""The committed generated code is exactly what protoc makes from protos/."""

from pathlib import Path

from scripts.gen_protos import ROOT, generate


def test_generated_code_has_no_drift(tmp_path: Path) -> None:
    fresh = generate(tmp_path)
    assert fresh, "protoc generated nothing"
    committed = sorted((ROOT / "hub/api/v1").glob("*_pb2*.py*"))
    assert [p.name for p in fresh] == [p.name for p in committed]
    for new, old in zip(fresh, committed, strict=True):
        assert new.read_bytes() == old.read_bytes(), f"{old.name} is stale: run `make protos`"
