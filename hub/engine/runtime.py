"""The engine as the service sees it: encode texts, pack adapters, score rows, describe the backbone."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from adapters_registry.manifest import BackboneSpec, Manifest
from hub.engine.backbone import Backbone, load_backbone
from hub.engine.engine import Engine, Row
from hub.engine.packing import PackedAdapter, pack_adapter
from hub.engine.precision import configure_threads
from hub.engine.tokens import Encoded
from hub.tasks.results import HeadScores


@dataclass(frozen=True)
class RowRequest:
    """One row to score: a piece of text, its tokens (from ``Runtime.encode``), the adapter and
    which of its heads."""

    text: str
    adapter: PackedAdapter
    task: str
    encoded: Encoded

    @property
    def tokens(self) -> int:
        """The row's length in tokens, special tokens included (its cost in a forward)."""
        return self.encoded.tokens


class Runtime:
    def __init__(self, backbone: Backbone, quantize: str = "none", bank_bytes: int = 1 << 30) -> None:
        self.backbone = backbone
        self.engine = Engine(backbone, quantize=quantize, bank_bytes=bank_bytes)

    @classmethod
    def load(
        cls,
        backbone: str,
        device: str = "auto",
        dtype: str = "float32",
        quantize: str = "none",
        threads: int = 0,
        bank_bytes: int = 1 << 30,
    ) -> Runtime:
        """Load the backbone and wrap it. ``threads`` > 0 sets torch's intra-op threads
        (process-wide); ``quantize="int8"`` makes the frozen Linears dynamic int8 (CPU);
        ``bank_bytes`` bounds the LoRA slots on the engine's device (the service passes the
        device tier's budget, so one setting bounds both)."""
        configure_threads(threads)
        if quantize == "int8" and dtype == "auto":
            dtype = "float32"  # dynamic int8 quantizes a float32 backbone
        return cls(load_backbone(backbone, device=device, dtype=dtype), quantize=quantize, bank_bytes=bank_bytes)

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
            "quantize": self.engine.quantize,
            "torch_threads": torch.get_num_threads(),
            "parameters": self.backbone.parameters,
            "hidden_size": self.spec.hidden_size,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "peft": peft.__version__,
            "python": platform.python_version(),
        }

    def pack(self, key: str, files: dict[str, bytes], manifest: Manifest) -> PackedAdapter:
        return pack_adapter(key, files, manifest, self.backbone)

    def encode(self, texts: Sequence[str]) -> list[Encoded]:
        """Each text's tokens, once: the service counts them, then hands them on in RowRequests."""
        return self.engine.encode(texts)

    def run(self, requests: Sequence[RowRequest]) -> list[HeadScores]:
        return self.engine.run([Row(r.text, r.adapter, r.adapter.heads[r.task], r.encoded) for r in requests])
