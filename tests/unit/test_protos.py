"""The committed generated code (one copy, in the client distribution) is exactly what protoc
makes from protos/, and the server imports that copy."""

from pathlib import Path

from scripts.gen_protos import GENERATED, generate


def test_generated_code_has_no_drift(tmp_path: Path) -> None:
    fresh = generate(tmp_path)
    assert fresh, "protoc generated nothing"
    committed = sorted(GENERATED.glob("*_pb2*.py*"))
    assert [p.name for p in fresh] == [p.name for p in committed]
    for new, old in zip(fresh, committed, strict=True):
        assert new.read_bytes() == old.read_bytes(), f"{old.name} is stale: run `make protos`"


def test_generated_imports_point_into_the_client_package() -> None:
    for path in GENERATED.glob("*_pb2*.py*"):
        assert "from hub.api" not in path.read_text(), path.name


def test_the_server_uses_the_client_packages_generated_modules() -> None:
    import adapter_hub_client.api.v1.inference_pb2 as generated

    from hub.api.v1 import inference_pb2

    assert inference_pb2 is generated
    assert inference_pb2.DESCRIPTOR.name == "hub/api/v1/inference.proto"  # the wire names stay
