"""Check PEFT LoRA tensors against the running backbone, by header only."""

from __future__ import annotations

from adapters_registry import safetensors_io as st
from adapters_registry.lora_config import CLASSIFIER_MODULES, LoraSettings
from adapters_registry.manifest import BackboneSpec

PEFT_PREFIX = "base_model.model."
LORA_SUFFIXES = (".lora_A.weight", ".lora_B.weight")


def resolve_module(path: str, backbone: BackboneSpec) -> str | None:
    """Map a PEFT module path (with or without the task model's prefix) to a backbone Linear."""
    if path in backbone.linear_modules:
        return path
    prefix = backbone.base_model_prefix + "."
    if path.startswith(prefix) and path[len(prefix) :] in backbone.linear_modules:
        return path[len(prefix) :]
    return None


def split_lora_key(key: str) -> tuple[str, str] | None:
    """'base_model.model.X.lora_A.weight' -> ('X', 'A'); None for any other key."""
    if not key.startswith(PEFT_PREFIX):
        return None
    for suffix in LORA_SUFFIXES:
        if key.endswith(suffix):
            return key[len(PEFT_PREFIX) : -len(suffix)], suffix[6]
    return None


def _is_classifier(key: str) -> bool:
    return any(key in (f"{PEFT_PREFIX}{m}.weight", f"{PEFT_PREFIX}{m}.bias") for m in CLASSIFIER_MODULES)


def check_lora_tensors(
    weights: st.SafetensorsFile,
    lora: LoraSettings,
    backbone: BackboneSpec,
    max_rank: int,
    problems: list[str],
    mismatches: list[str],
) -> list[str]:
    """Validate every tensor name and shape; return the backbone modules the adapter targets."""
    pairs: dict[str, dict[str, st.TensorInfo]] = {}
    for key, info in weights.tensors.items():
        split = split_lora_key(key)
        if split is None:
            if not _is_classifier(key):
                problems.append(f"adapter_model.safetensors: unsupported tensor {key!r}")
            continue
        path, side = split
        pairs.setdefault(path, {})[side] = info
    if not pairs:
        problems.append("adapter_model.safetensors holds no LoRA weights")
    targets = []
    for path, sides in sorted(pairs.items()):
        module = resolve_module(path, backbone)
        if module is None:
            mismatches.append(f"{path!r} is not a Linear module of backbone {backbone.name}")
            continue
        if set(sides) != {"A", "B"}:
            problems.append(f"{path}: lora_A and lora_B must both be present")
            continue
        _check_pair(
            path,
            sides["A"],
            sides["B"],
            backbone.linear_modules[module],
            lora,
            max_rank,
            problems,
            mismatches,
        )
        targets.append(module)
    return targets


def _check_pair(
    path: str,
    a: st.TensorInfo,
    b: st.TensorInfo,
    in_out: tuple[int, int],
    lora: LoraSettings,
    max_rank: int,
    problems: list[str],
    mismatches: list[str],
) -> None:
    if len(a.shape) != 2 or len(b.shape) != 2:
        problems.append(f"{path}: lora_A and lora_B must be matrices")
        return
    rank = a.shape[0]
    if b.shape[1] != rank:
        problems.append(f"{path}: lora_A rank {rank} != lora_B rank {b.shape[1]}")
    if not 1 <= rank <= max_rank:
        problems.append(f"{path}: rank {rank} is above the cap of {max_rank}")
    expected_in, expected_out = in_out
    if a.shape[1] != expected_in or b.shape[0] != expected_out:
        mismatches.append(
            f"{path}: LoRA maps {a.shape[1]} -> {b.shape[0]}, the backbone module maps {expected_in} -> {expected_out}"
        )
