"""A tiny random backbone for tests and the plugin conformance kit (torch lives in hub/engine)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import AutoTokenizer, BertConfig, BertModel, ElectraConfig, ElectraModel

from hub.engine.backbone import resolve_backbone_path

TOKENIZER_FROM = "packaged:all-minilm-l6-v2"


def save_tiny_backbone(directory: Path, seed: int = 0, pooler: bool = True, positions: int = 512) -> Path:
    """A 2-layer, 32-wide random BERT with the packaged backbone's real tokenizer, as an HF dir.

    512 positions by default, like the packaged backbone, so the hub's token limit applies
    unchanged. ``pooler=False``: an ELECTRA encoder of the same shape instead (same Linear
    names, no pooler), for what heads that pool with a pooler must not be served on.
    """
    torch.manual_seed(seed)
    shape: dict[str, Any] = {
        "vocab_size": 30522,
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 64,
        "max_position_embeddings": positions,
    }
    if pooler:
        BertModel(BertConfig(**shape)).save_pretrained(directory)
    else:
        ElectraModel(ElectraConfig(embedding_size=32, **shape)).save_pretrained(directory)
    _, packaged = resolve_backbone_path(TOKENIZER_FROM)
    AutoTokenizer.from_pretrained(packaged).save_pretrained(directory)
    return directory
