"""Random but well-formed adapter artifacts for any backbone, written without torch.

The files are what PEFT's ``save_pretrained`` writes for LoRA (config + safetensors) plus the
hub's manifest and heads; the weights are small random numbers, enough to exercise every
code path from upload to decoded prediction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from adapters_registry import safetensors_io as st
from adapters_registry.manifest import (
    HEADS_FILE,
    MANIFEST_FILE,
    PEFT_CONFIG_FILE,
    PEFT_WEIGHTS_FILE,
    BackboneSpec,
    HeadKind,
    HeadSpec,
    Manifest,
    Pooling,
)


def _tensor(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[str, tuple[int, ...], bytes]:
    return "F32", shape, (rng.standard_normal(shape) * 0.05).astype("<f4").tobytes()


def random_adapter_files(
    spec: BackboneSpec,
    heads: Sequence[tuple[str, HeadKind, Sequence[str]]],
    *,
    rank: int = 2,
    seed: int = 0,
    target: str = "query",
    pooling: Pooling = Pooling.CLS,
) -> dict[str, bytes]:
    """An upload-ready adapter: LoRA on every ``target`` Linear, one head per (task, kind, labels),
    each pooling with ``pooling`` (token heads ignore it)."""
    rng = np.random.default_rng(seed)
    modules = sorted(m for m in spec.linear_modules if m.rsplit(".", 1)[-1] == target)
    if not modules:
        raise ValueError(f"backbone {spec.name} has no Linear named {target!r}")
    lora = {}
    for module in modules:
        fan_in, fan_out = spec.linear_modules[module]
        lora[f"base_model.model.{module}.lora_A.weight"] = _tensor(rng, (rank, fan_in))
        lora[f"base_model.model.{module}.lora_B.weight"] = _tensor(rng, (fan_out, rank))
    tensors = {}
    for task, _, labels in heads:
        tensors[f"{task}.weight"] = _tensor(rng, (len(labels), spec.hidden_size))
        tensors[f"{task}.bias"] = _tensor(rng, (len(labels),))
    config = {
        "peft_type": "LORA",
        "r": rank,
        "lora_alpha": 2 * rank,
        "target_modules": [target],
        "bias": "none",
        "task_type": None,
    }
    manifest = Manifest(
        tasks=[HeadSpec(task, kind, list(labels), pooling=pooling) for task, kind, labels in heads],
        description="random weights (hub.testing.artifacts)",
    )
    return {
        PEFT_CONFIG_FILE: json.dumps(config).encode(),
        PEFT_WEIGHTS_FILE: st.write(lora),
        HEADS_FILE: st.write(tensors),
        MANIFEST_FILE: json.dumps(manifest.to_json()).encode(),
    }
