"""The layers a head may run between its features and its classifier (manifest.HeadLayer):
Linear, an activation, LayerNorm. One functional implementation serves both the engine
(PackedLayer, tensors on the device) and training (HeadNet, trainable modules), so a head is
trained exactly as it is served.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import torch
import torch.nn.functional as F
from torch import nn

from adapters_registry.manifest import HeadLayer, LayerType

ACTIVATION_FUNCTIONS: Mapping[str, Callable[[torch.Tensor], torch.Tensor]] = MappingProxyType(
    {
        "identity": lambda x: x,
        "tanh": torch.tanh,
        "relu": F.relu,
        "gelu": F.gelu,
        "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
        "silu": F.silu,
    }
)


@dataclass(frozen=True)
class PackedLayer:
    """One head layer on the engine's device: its weight and bias (activations have none)."""

    type: LayerType
    weight: torch.Tensor | None = None
    bias: torch.Tensor | None = None
    function: str = ""
    eps: float = 1e-5

    def tensors(self) -> list[torch.Tensor]:
        return [t for t in (self.weight, self.bias) if t is not None]


def run_layer(
    layer_type: LayerType,
    x: torch.Tensor,
    weight: torch.Tensor | None,
    bias: torch.Tensor | None,
    function: str,
    eps: float,
) -> torch.Tensor:
    if layer_type is LayerType.LINEAR:
        assert weight is not None
        return F.linear(x, weight, bias)
    if layer_type is LayerType.LAYER_NORM:
        assert weight is not None
        return F.layer_norm(x, (weight.shape[0],), weight, bias, eps)
    return ACTIVATION_FUNCTIONS[function](x)


def run_layers(x: torch.Tensor, layers: Sequence[PackedLayer]) -> torch.Tensor:
    """Features (rows, ..., hidden) through the head's layers, in order."""
    for layer in layers:
        x = run_layer(layer.type, x, layer.weight, layer.bias, layer.function, layer.eps)
    return x


class HeadNet(nn.Module):
    """A trainable head: its layers, then the classifier (``classifier``: an nn.Linear)."""

    def __init__(self, hidden: int, labels: int, layers: Sequence[HeadLayer]) -> None:
        super().__init__()
        self.specs = tuple(layers)
        self.layers = nn.ModuleDict()
        width = hidden
        for spec in self.specs:
            if spec.type is LayerType.LINEAR:
                self.layers[spec.name] = _init_linear(nn.Linear(width, width))
            elif spec.type is LayerType.LAYER_NORM:
                self.layers[spec.name] = nn.LayerNorm(width, eps=spec.eps)
        self.classifier = _init_linear(nn.Linear(width, labels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for spec in self.specs:
            module = self.layers[spec.name] if spec.has_tensors else None
            weight: torch.Tensor | None = getattr(module, "weight", None)
            bias: torch.Tensor | None = getattr(module, "bias", None)
            x = run_layer(spec.type, x, weight, bias, spec.function, spec.eps)
        return self.classifier(x)

    def tensors(self, task: str) -> dict[str, torch.Tensor]:
        """heads.safetensors entries: <task>.weight / .bias, <task>.<layer>.weight / .bias."""
        out: dict[str, torch.Tensor] = {f"{task}.weight": self.classifier.weight, f"{task}.bias": self.classifier.bias}
        for name, module in self.layers.items():
            for param in ("weight", "bias"):
                value = getattr(module, param, None)
                if isinstance(value, torch.Tensor):
                    out[f"{task}.{name}.{param}"] = value
        return {k: v.detach() for k, v in out.items()}


def _init_linear(linear: nn.Linear) -> nn.Linear:
    nn.init.normal_(linear.weight, std=0.02)
    nn.init.zeros_(linear.bias)
    return linear
