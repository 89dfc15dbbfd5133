"""The engine as the service sees it: pack adapters, score rows, describe the backbone."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from adapters_registry.manifest import BackboneSpec, Manifest
from hub.engine.backbone import Backbone, load_backbone
from hub.engine.engine import Engine, Row
from hub.engine.packing import PackedAdapter, pack_adapter
from hub.results import HeadScores


@dataclass(frozen=True)
class RowRequest:
    text: str
    adapter: PackedAdapter
    task: str


class Runtime:
    def __init__(self, backbone: Backbone) -> None:
        self.backbone = backbone
        self.engine = Engine(backbone)

    @classmethod
    def load(cls, backbone: str, device: str = "auto", dtype: str = "float32") -> Runtime:
        return cls(load_backbone(backbone, device=device, dtype=dtype))

    @property
    def spec(self) -> BackboneSpec:
        return self.backbone.spec

    def describe(self) -> dict[str, str | int]:
        import peft
        import transformers

        return {
            "backbone_name": self.backbone.name,
            "fingerprint": self.backbone.fingerprint,
            "device": str(self.backbone.device),
            "dtype": str(self.backbone.dtype).removeprefix("torch."),
            "parameters": self.backbone.parameters,
            "hidden_size": self.spec.hidden_size,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "peft": peft.__version__,
            "python": platform.python_version(),
        }

    def pack(self, key: str, files: dict[str, bytes], manifest: Manifest) -> PackedAdapter:
        return pack_adapter(key, files, manifest, self.backbone)

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        return self.engine.token_counts(texts)

    def run(self, requests: Sequence[RowRequest]) -> list[HeadScores]:
        return self.engine.run([Row(r.text, r.adapter, r.adapter.heads[r.task]) for r in requests])
