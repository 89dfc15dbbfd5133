"""The architecture's import boundaries (docs/architecture.md, "Boundaries"), checked on the source."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import imported_modules as imports

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for pkg in ("hub", "adapters_registry") for p in (ROOT / pkg).rglob("*.py")]

# top-level module -> where it may be imported (paths relative to the repo root)
ALLOWED = {
    "torch": ("hub/engine/",),
    "peft": ("hub/engine/",),
    "transformers": ("hub/engine/",),
    "safetensors": ("hub/engine/", "adapters_registry/safetensors_io.py"),
    "grpc": ("hub/transport/", "hub/api/", "hub/cluster/"),
    "ray": ("hub/cluster/",),  # the optional `ray` extra: the Serve application and its launcher
    "grpc_health": ("hub/transport/",),
    "grpc_reflection": ("hub/transport/",),
    "boto3": ("adapters_registry/storage/s3.py",),
    "botocore": ("adapters_registry/storage/s3.py",),
    "prometheus_client": ("hub/observe/telemetry.py", "hub/observe/collectors.py"),
    "opentelemetry": ("hub/observe/tracing.py",),  # an optional extra: one module, a no-op without it
    # the client library (clients/python): the generated code, and the CLI's one client
    "adapter_hub_client": ("hub/api/", "hub/transport/", "hub/cli/"),
}

# The hub's layers, top to bottom. A module may import its own layer and the layers below it,
# never one above: a change low in the tree cannot be broken by what sits on top of it.
LAYERS: list[tuple[str, ...]] = [
    ("hub.cli",),
    ("hub.cluster",),
    ("hub.transport", "hub.api"),
    ("hub.training", "hub.testing"),
    ("hub.serving",),
    ("hub.observe", "hub.scheduling"),
    ("hub.residency",),
    ("hub.plugins", "hub.plugin_api"),
    ("hub.engine",),
    ("hub.tasks",),
    ("hub.config", "hub.observe.tracing"),  # the settings table; spans, which every layer may open
    ("hub.errors", "hub"),
]
LOOSE_MODULES_MAX = 6  # modules directly in hub/ (besides __init__.py)


def layer_of(module: str) -> int | None:
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    return None if best is None else best[1]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_heavy_dependencies_stay_in_their_layer(module: str) -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in SOURCES
        if any(i == module or i.startswith(module + ".") for i in imports(p))
        and not str(p.relative_to(ROOT)).startswith(ALLOWED[module])
    ]
    assert offenders == [], f"{module} imported outside {ALLOWED[module]}"


def test_no_import_runs_back_up_the_layers() -> None:
    offenders = []
    for path in (ROOT / "hub").rglob("*.py"):
        own = layer_of(module_name(path))
        assert own is not None, f"{path.relative_to(ROOT)} belongs to no layer: add it to LAYERS"
        for imported in imports(path):
            target = layer_of(imported)
            if target is not None and target < own:
                offenders.append(f"{module_name(path)} imports {imported} (a higher layer)")
    assert offenders == []


def test_layer_order_is_checked_on_a_known_back_import() -> None:
    assert layer_of("hub.serving.service") < layer_of("hub.residency.residency")  # type: ignore[operator]
    assert layer_of("hub.errors") == len(LAYERS) - 1


def test_few_loose_modules_in_hub() -> None:
    loose = sorted(p.name for p in (ROOT / "hub").glob("*.py") if p.name != "__init__.py")
    assert len(loose) <= LOOSE_MODULES_MAX, f"hub/ has {len(loose)} loose modules: {loose}; put them in a layer"


def test_registry_imports_only_the_error_vocabulary_of_the_hub() -> None:
    offenders = [
        f"{p.relative_to(ROOT)}: {i}"
        for p in (ROOT / "adapters_registry").rglob("*.py")
        for i in imports(p)
        if (i == "hub" or i.startswith("hub.")) and i != "hub.errors"
    ]
    assert offenders == []


def test_generated_code_is_used_only_by_transport_and_cli() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in SOURCES
        if any(i.startswith("hub.api") for i in imports(p))
        and not str(p.relative_to(ROOT)).startswith(("hub/transport/", "hub/api/", "hub/cli/"))
    ]
    assert offenders == []


def test_nothing_unpickles_or_trusts_remote_code() -> None:
    for path in SOURCES:
        text = path.read_text()
        assert "torch.load(" not in text, path
        assert "pickle" not in imports(path), path
        assert "trust_remote_code=True" not in text, path


CLIENT = ROOT / "clients/python/adapter_hub_client"
CLIENT_MAY_IMPORT = ("grpc", "google.protobuf", "adapter_hub_client")


def test_the_client_library_imports_only_grpc_protobuf_and_the_standard_library() -> None:
    """clients/python installs with grpcio and protobuf alone: no torch, transformers, peft,
    boto3, numpy, nor anything of the server (hub, adapters_registry)."""
    import sys

    offenders = [
        f"{p.relative_to(ROOT)}: {i}"
        for p in CLIENT.rglob("*.py")
        for i in imports(p)
        if i.split(".")[0] not in sys.stdlib_module_names
        and not any(i == allowed or i.startswith(allowed + ".") for allowed in CLIENT_MAY_IMPORT)
    ]
    assert offenders == []
    assert len(list(CLIENT.rglob("*.py"))) > 10  # the walk saw the package
