"""heads.safetensors against the manifest's heads: every tensor expected, present and of a shape
that chains from the backbone's hidden size through the head's layers to its labels."""

from __future__ import annotations

from adapters_registry import safetensors_io as st
from adapters_registry.manifest import HEADS_FILE, HeadLayer, HeadSpec, LayerType


def check_heads(
    heads: st.SafetensorsFile,
    specs: list[HeadSpec],
    hidden: int,
    problems: list[str],
    mismatches: list[str],
) -> None:
    """Append what is wrong with ``heads`` for ``specs``. A first weight that does not read the
    backbone's hidden size is a backbone mismatch; any other shape is the artifact's problem."""
    expected: dict[str, str] = {}
    for spec in specs:
        for name in spec.tensor_names():
            if name in expected:
                problems.append(f"{HEADS_FILE}: {name} would belong to tasks {expected[name]!r} and {spec.task!r}")
            expected[name] = spec.task
        width = _check_layers(heads, spec, hidden, problems, mismatches)
        if width is not None:
            _check_classifier(heads, spec, width, width == hidden and not _has_tensors(spec), problems, mismatches)
    extra = sorted(set(heads.tensors) - set(expected))
    if extra:
        problems.append(f"{HEADS_FILE}: unexpected tensors {extra[:5]}")


def _has_tensors(spec: HeadSpec) -> bool:
    return any(layer.has_tensors for layer in spec.layers)


def _check_layers(
    heads: st.SafetensorsFile, spec: HeadSpec, hidden: int, problems: list[str], mismatches: list[str]
) -> int | None:
    """The width the head's layers end with (None: a problem was found on the way)."""
    width, first = hidden, True
    for layer in spec.layers:
        if not layer.has_tensors:
            continue
        weight = f"{spec.task}.{layer.name}.weight"
        info = heads.tensors.get(weight)
        if info is None:
            problems.append(f"{HEADS_FILE}: no {weight} for layer {layer.name!r} of task {spec.task!r}")
            return None
        if layer.type is LayerType.LINEAR:
            if len(info.shape) != 2:
                problems.append(f"{HEADS_FILE}: {weight} must be a matrix, got shape {list(info.shape)}")
                return None
            if info.shape[1] != width:
                message = f"{weight} reads {info.shape[1]} features, the layer before gives {width}"
                if first:
                    mismatches.append(f"{weight} expects hidden size {info.shape[1]}, backbone has {hidden}")
                else:
                    problems.append(f"{HEADS_FILE}: {message}")
                return None
            width = info.shape[0]
        elif info.shape != (width,):
            problems.append(f"{HEADS_FILE}: {weight} has shape {list(info.shape)}, expected [{width}]")
            return None
        bias = heads.tensors.get(f"{spec.task}.{layer.name}.bias")
        if bias is not None and bias.shape != (width,):
            problems.append(
                f"{HEADS_FILE}: {spec.task}.{layer.name}.bias has shape {list(bias.shape)}, expected [{width}]"
            )
        first = False
    return width


def _check_classifier(
    heads: st.SafetensorsFile,
    spec: HeadSpec,
    width: int,
    reads_hidden: bool,
    problems: list[str],
    mismatches: list[str],
) -> None:
    weight, bias = f"{spec.task}.weight", f"{spec.task}.bias"
    info = heads.tensors.get(weight)
    if info is None:
        problems.append(f"{HEADS_FILE}: no {weight} for task {spec.task!r}")
        return
    if len(info.shape) != 2 or info.shape[0] != len(spec.labels):
        problems.append(
            f"{HEADS_FILE}: {weight} has shape {list(info.shape)}; task {spec.task!r} has {len(spec.labels)} labels"
        )
    elif info.shape[1] != width:
        if reads_hidden:
            mismatches.append(f"{weight} expects hidden size {info.shape[1]}, backbone has {width}")
        else:
            problems.append(f"{HEADS_FILE}: {weight} reads {info.shape[1]} features, the head's layers give {width}")
    b = heads.tensors.get(bias)
    if b is not None and b.shape != (len(spec.labels),):
        problems.append(f"{HEADS_FILE}: {bias} has shape {list(b.shape)}, expected [{len(spec.labels)}]")


def head_linears(heads: st.SafetensorsFile | None, specs: list[HeadSpec]) -> dict[str, tuple[int, int] | None]:
    """The task-model modules the heads' Linear layers came from -> (in, out): LoRA in the adapter
    on these modules applies to those layers."""
    found: dict[str, tuple[int, int] | None] = {}
    for spec in specs:
        for layer in spec.layers:
            if layer.type is LayerType.LINEAR and layer.module:
                found[layer.module] = _in_out(heads, spec, layer)
    return found


def _in_out(heads: st.SafetensorsFile | None, spec: HeadSpec, layer: HeadLayer) -> tuple[int, int] | None:
    info = heads.tensors.get(f"{spec.task}.{layer.name}.weight") if heads is not None else None
    if info is None or len(info.shape) != 2:
        return None
    return info.shape[1], info.shape[0]
