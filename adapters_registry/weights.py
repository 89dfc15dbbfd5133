"""Check PEFT LoRA tensors against the running backbone (and the adapter's head), by header only."""

from __future__ import annotations

from collections.abc import Mapping

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


def is_classifier(key: str) -> bool:
    return any(key in (f"{PEFT_PREFIX}{m}.weight", f"{PEFT_PREFIX}{m}.bias") for m in CLASSIFIER_MODULES)


def full_tensors(weights: st.SafetensorsFile) -> dict[str, dict[str, str]]:
    """The tensors that are not LoRA (PEFT's modules_to_save), by module: module -> param -> key.
    Keys outside PEFT's ``base_model.model.`` naming are listed under the module ``""``."""
    modules: dict[str, dict[str, str]] = {}
    for key in weights.tensors:
        if split_lora_key(key) is not None:
            continue
        if not key.startswith(PEFT_PREFIX) or "." not in key[len(PEFT_PREFIX) :]:
            modules.setdefault("", {})[key] = key
            continue
        module, _, param = key[len(PEFT_PREFIX) :].rpartition(".")
        modules.setdefault(module, {})[param] = key
    return modules


def check_lora_tensors(
    weights: st.SafetensorsFile,
    lora: LoraSettings,
    backbone: BackboneSpec,
    max_rank: int,
    problems: list[str],
    mismatches: list[str],
    head_linears: Mapping[str, tuple[int, int] | None] | None = None,
) -> list[str]:
    """Validate every LoRA tensor name and shape; return the backbone modules the adapter targets.

    LoRA on a module that is not the backbone's must be on one of ``head_linears`` (a Linear of the
    adapter's head, by task-model name -> (in, out); None: its weights are missing, which the
    caller reports). Tensors that are not LoRA are the caller's to account for (full_tensors)."""
    pairs: dict[str, dict[str, st.TensorInfo]] = {}
    for key, info in weights.tensors.items():
        split = split_lora_key(key)
        if split is not None:
            pairs.setdefault(split[0], {})[split[1]] = info
    if not pairs:
        problems.append("adapter_model.safetensors holds no LoRA weights")
    heads = head_linears or {}
    targets = []
    for path, sides in sorted(pairs.items()):
        module = resolve_module(path, backbone)
        if module is None and path not in heads:
            mismatches.append(
                f"{path!r} is not a Linear module of backbone {backbone.name} (nor a layer of the adapter's head)"
            )
            continue
        if set(sides) != {"A", "B"}:
            problems.append(f"{path}: lora_A and lora_B must both be present")
            continue
        shape = backbone.linear_modules[module] if module is not None else heads[path]
        if shape is not None:
            _check_pair(path, sides["A"], sides["B"], shape, lora, max_rank, problems, mismatches)
        if module is not None:
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
