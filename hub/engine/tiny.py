"""Tiny random backbones for tests and the plugin conformance kit (torch lives in hub/engine).

Every one has 2 layers, width 32, and the packaged backbone's real tokenizer (a WordPiece vocabulary
of 30,522), saved as a local Hugging Face directory, so they load like any backbone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig, AutoModel, AutoModelForMaskedLM, AutoModelForSequenceClassification, AutoTokenizer

from hub.engine.backbone import resolve_backbone_path

TOKENIZER_FROM = "packaged:all-minilm-l6-v2"
_SHAPE: dict[str, Any] = {
    "vocab_size": 30522,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 64,
    "max_position_embeddings": 512,
    "pad_token_id": 0,  # the tokenizer's
}
# RoBERTa-style position ids start after padding_idx: 2 more positions keep 512 tokens usable.
_ROBERTA = {**_SHAPE, "max_position_embeddings": 514}
FAMILY_CONFIGS: dict[str, dict[str, Any]] = {
    "bert": _SHAPE,
    "distilbert": {
        "vocab_size": 30522,
        "dim": 32,
        "n_layers": 2,
        "n_heads": 4,
        "hidden_dim": 64,
        "max_position_embeddings": 512,
        "pad_token_id": 0,
    },
    "roberta": _ROBERTA,
    "xlm-roberta": _ROBERTA,
    "electra": {**_SHAPE, "embedding_size": 32},
    "deberta-v2": _SHAPE,
    "modernbert": {**_SHAPE, "cls_token_id": 101, "sep_token_id": 102, "bos_token_id": 101, "eos_token_id": 102},
    "mpnet": _ROBERTA,
}
FAMILIES = tuple(FAMILY_CONFIGS)


def save_tiny_backbone(directory: Path, seed: int = 0, pooler: bool = True, positions: int = 512) -> Path:
    """A 2-layer, 32-wide random BERT with the packaged backbone's real tokenizer, as an HF dir.

    512 positions by default, like the packaged backbone, so the hub's token limit applies
    unchanged. ``pooler=False``: an ELECTRA encoder of the same shape instead (same Linear
    names, no pooler), for what heads that pool with a pooler must not be served on.
    """
    from transformers import BertConfig, BertModel, ElectraConfig, ElectraModel

    torch.manual_seed(seed)
    shape = {k: v for k, v in _SHAPE.items() if k != "pad_token_id"}
    shape["max_position_embeddings"] = positions
    if pooler:
        BertModel(BertConfig(**shape)).save_pretrained(directory)
    else:
        ElectraModel(ElectraConfig(embedding_size=32, **shape)).save_pretrained(directory)
    _save_tokenizer(directory)
    return directory


def save_tiny_family(directory: Path, model_type: str, seed: int = 0, head_checkpoint: bool = True) -> Path:
    """A tiny random backbone of one encoder family (FAMILIES), saved as its public checkpoints are.

    ``head_checkpoint``: ModernBERT is saved as its masked-LM model (answerdotai/ModernBERT-* are),
    which holds the ``head`` its task models run; DeBERTa-v2 as a classification checkpoint without
    its classifier (as NLI checkpoints are), which holds the ContextPooler's ``pooler.dense``.
    False: the bare encoder only, as ``AutoModel.save_pretrained`` writes it.
    """
    torch.manual_seed(seed)
    config = AutoConfig.for_model(model_type, **FAMILY_CONFIGS[model_type])
    if head_checkpoint and model_type == "modernbert":
        AutoModelForMaskedLM.from_config(config).save_pretrained(directory)
    elif head_checkpoint and model_type == "deberta-v2":
        model = AutoModelForSequenceClassification.from_config(config)
        state = {k: v for k, v in model.state_dict().items() if not k.startswith("classifier.")}
        model.save_pretrained(directory, state_dict=state)
    else:
        AutoModel.from_config(config).save_pretrained(directory)
    _save_tokenizer(directory)
    return directory


def _save_tokenizer(directory: Path) -> None:
    _, packaged = resolve_backbone_path(TOKENIZER_FROM)
    AutoTokenizer.from_pretrained(packaged).save_pretrained(directory)
