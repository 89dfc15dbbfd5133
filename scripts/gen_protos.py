"""Regenerate the Python code for protos/ (run: python scripts/gen_protos.py [OUT_DIR]).

One copy of the generated code exists: in the client distribution, as
``adapter_hub_client.api.v1`` (clients/python/adapter_hub_client/api/v1/). The server imports
it from there (hub/api/v1/__init__.py re-exports the modules). protoc names a dependency's
Python module after its .proto path (``from hub.api.v1 import common_pb2``); the imports are
rewritten to the package's own path. The descriptors keep their .proto names
(``hub/api/v1/common.proto``, package ``hub.api.v1``), so the wire and reflection are unchanged.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
PACKAGE = "adapter_hub_client.api.v1"
GENERATED = ROOT / "clients/python" / Path(*PACKAGE.split("."))
PROTO_MODULE = "hub.api.v1"  # the module path protoc derives from the .proto files' directory


def _rewrite(text: str) -> str:
    text = text.replace(f"from {PROTO_MODULE} import ", f"from {PACKAGE} import ")
    return text.replace(f"import {PROTO_MODULE}.", f"import {PACKAGE}.")


def generate(out_dir: Path) -> list[Path]:
    """Generate into ``out_dir`` (the package's directory): *_pb2.py, *_pb2.pyi, *_pb2_grpc.py."""
    protos = sorted(PROTO_ROOT.glob("hub/api/v1/*.proto"))
    include = Path(protoc.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as scratch:
        args = [
            "protoc",
            f"-I{PROTO_ROOT}",
            f"-I{include}",
            f"--python_out={scratch}",
            f"--pyi_out={scratch}",
            f"--grpc_python_out={scratch}",
            *[str(p.relative_to(PROTO_ROOT)) for p in protos],
        ]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for made in sorted((Path(scratch) / "hub/api/v1").glob("*_pb2*.py*")):
            target = out_dir / made.name
            target.write_text(_rewrite(made.read_text()))
            written.append(target)
    return written


if __name__ == "__main__":
    destination = Path(sys.argv[1]) if len(sys.argv) > 1 else GENERATED
    for stale in destination.glob("*_pb2*.py*"):
        stale.unlink()
    for path in generate(destination):
        print(path)
