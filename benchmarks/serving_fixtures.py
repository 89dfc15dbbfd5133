"""Synthetic workload for bench_serving: rank-8 LoRA adapters (PEFT format, all linear layers),
texts of exact token lengths, and a PEFT model holding the same adapters.

Adapters are written as PEFT's ``save_pretrained`` would (adapter_config.json +
adapter_model.safetensors with a classifier in modules_to_save), so the hub validates,
stores and packs them exactly as uploads.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from typing import Any

import torch
from safetensors.torch import save as save_safetensors

from adapters_registry.artifact import Artifact, UploadInfo, build_artifact
from adapters_registry.manifest import BackboneSpec
from hub.tasks.specs import default_task_registry

TARGETS = ["query", "key", "value", "dense"]
SEQ_TASK = "generic.sequence_classification"
TOKEN_TASK = "generic.token_classification"
SEQ_LABELS = ("negative", "neutral", "positive")
TOKEN_LABELS = ("O", "B-ORG", "I-ORG", "B-PER", "I-PER")
PEFT_PREFIX = "base_model.model."
_SENTENCES = (
    "the company reported strong quarterly results and the board approved a new dividend "
    "patients with chronic pain received the treatment twice a day for six weeks "
    "this agreement may be terminated by either party with thirty days written notice "
    "shares fell after the central bank raised interest rates again on monday"
)
WORDS = _SENTENCES.split()


@dataclass(frozen=True)
class AdapterFiles:
    name: str
    task: str
    labels: tuple[str, ...]
    files: dict[str, bytes]
    state: dict[str, torch.Tensor]  # the LoRA tensors, PEFT-saved key names


def lora_targets(spec: BackboneSpec, targets: list[str] = TARGETS) -> dict[str, tuple[int, int]]:
    return {m: shape for m, shape in spec.linear_modules.items() if m.rsplit(".", 1)[-1] in targets}


def make_adapter(name: str, spec: BackboneSpec, seed: int, token: bool, rank: int = 8) -> AdapterFiles:
    """A random rank-``rank`` LoRA on every linear layer plus a random classifier."""
    gen = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    for module, (fan_in, fan_out) in lora_targets(spec).items():
        key = f"{PEFT_PREFIX}{module}"
        state[f"{key}.lora_A.weight"] = torch.randn(rank, fan_in, generator=gen) / math.sqrt(fan_in)
        state[f"{key}.lora_B.weight"] = torch.randn(fan_out, rank, generator=gen) * 0.02
    labels = TOKEN_LABELS if token else SEQ_LABELS
    tensors = dict(state)
    tensors[f"{PEFT_PREFIX}classifier.weight"] = torch.randn(len(labels), spec.hidden_size, generator=gen) * 0.05
    tensors[f"{PEFT_PREFIX}classifier.bias"] = torch.zeros(len(labels))
    config: dict[str, Any] = {
        "peft_type": "LORA",
        "task_type": "TOKEN_CLS" if token else "SEQ_CLS",
        "r": rank,
        "lora_alpha": 2 * rank,
        "lora_dropout": 0.0,
        "target_modules": TARGETS,
        "modules_to_save": ["classifier"],
        "bias": "none",
    }
    files = {
        "adapter_config.json": json.dumps(config).encode(),
        "adapter_model.safetensors": save_safetensors(tensors),
    }
    return AdapterFiles(name, TOKEN_TASK if token else SEQ_TASK, labels, files, state)


def adapter_ref(index: int) -> tuple[str, str]:
    """Name and task of the benchmark's adapter number ``index``: every third is a token task."""
    return f"bench-{index:04d}", TOKEN_TASK if index % 3 == 1 else SEQ_TASK


def nth_adapter(index: int, spec: BackboneSpec) -> AdapterFiles:
    name, task = adapter_ref(index)
    return make_adapter(name, spec, 1000 + index, token=task == TOKEN_TASK)


def make_adapters(count: int, spec: BackboneSpec) -> list[AdapterFiles]:
    return [nth_adapter(i, spec) for i in range(count)]


def artifact(adapter: AdapterFiles, spec: BackboneSpec) -> Artifact:
    upload = UploadInfo(adapter.task, adapter.labels)
    return build_artifact(dict(adapter.files), upload, spec, default_task_registry().contract)


def text_of_tokens(tokens: int, seed: int) -> str:
    """A text of exactly ``tokens`` tokens with [CLS]/[SEP] (every word is one token)."""
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(max(tokens - 2, 1)))


def zipf_weights(count: int, exponent: float = 1.1) -> list[float]:
    return [1.0 / (rank + 1) ** exponent for rank in range(count)]


def peft_model(model_dir: str, adapters: list[AdapterFiles], device: torch.device, dtype: torch.dtype) -> Any:
    """The bare backbone with every adapter loaded into one PeftModel (names = adapter names)."""
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
    from transformers import AutoModel

    base = AutoModel.from_pretrained(model_dir, local_files_only=True, dtype=torch.float32)
    config = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=TARGETS)
    model = get_peft_model(base, config, adapter_name=adapters[0].name)
    for i, adapter in enumerate(adapters):
        if i:
            model.add_adapter(adapter.name, config)
        set_peft_model_state_dict(model, adapter.state, adapter_name=adapter.name)
    return model.to(device=device, dtype=dtype).eval()
