"""A Linear that adds, per batch row, the LoRA update of that row's adapter.

The engine installs one of these in place of every Linear of the backbone. Between
forwards it is the bare Linear. For a forward, the engine hands each layer a RowDelta:
which rows carry an adapter for this layer and their stacked (A, B) matrices; the layer
then adds ``(x[rows] @ A) @ B`` to those rows with two batched matmuls (gather + bmm,
in the spirit of Punica's BGMV). Rows without an adapter cost nothing extra.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class RowDelta:
    rows: torch.Tensor | None  # (n,) row indices, or None: every row of the batch
    a: torch.Tensor  # (n, in, r) per row, or (in, r) shared by all rows
    b: torch.Tensor  # (n, r, out) per row, or (r, out) shared by all rows


class MultiLoraLinear(nn.Module):
    def __init__(self, base: nn.Linear) -> None:
        super().__init__()
        self.base = base
        self.delta: RowDelta | None = None

    @property
    def in_features(self) -> int:
        return self.base.in_features

    @property
    def out_features(self) -> int:
        return self.base.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)
        delta = self.delta
        if delta is None:
            return out
        if delta.rows is None and delta.a.dim() == 2:
            return out + (x @ delta.a) @ delta.b
        flat = x.dim() == 2  # (batch, in), e.g. the pooler
        x3 = x.unsqueeze(1) if flat else x
        out3 = out.unsqueeze(1) if flat else out
        if delta.rows is None:
            out3 = out3 + torch.bmm(torch.bmm(x3, delta.a), delta.b)
        else:
            update = torch.bmm(torch.bmm(x3.index_select(0, delta.rows), delta.a), delta.b)
            out3 = out3.index_add(0, delta.rows, update)
        return out3.squeeze(1) if flat else out3


def wrap_linears(model: nn.Module) -> dict[str, MultiLoraLinear]:
    """Replace every nn.Linear in ``model`` by a MultiLoraLinear; return them by module name."""
    targets = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    wrapped: dict[str, MultiLoraLinear] = {}
    for name, module in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        layer = MultiLoraLinear(module)
        setattr(parent, child, layer)
        wrapped[name] = layer
    return wrapped
