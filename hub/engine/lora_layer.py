"""A Linear that adds, per batch row, the LoRA update of that row's adapter.

The engine installs one of these in place of every Linear of the backbone. All of them
share one ``LoraContext``; between forwards its plan is None and each layer is its bare
Linear (a frozen ``nn.Linear``, or a dynamically quantized one). For a forward the engine
sorts the rows so that rows of one rank bucket and target set are contiguous (rows
without adapter last) and sets one ``BatchPlan``: a list of row groups. Per layer and
group the update is two matmuls added in place into the base output:

- one adapter in the group: ``out[s:e] += (A @ x[s:e].T).T @ B`` (two plain GEMMs);
- several: ``out[s:e] += bmm(bmm(A[slots], x[s:e].T).T, B[slots])``: the rows' slots are
  gathered from the bank (gather + batched matmul, Punica's BGMV).

Rows outside every group (no adapter) cost nothing beyond the base Linear.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass(frozen=True)
class RowGroup:
    """Rows [start, end) of the sorted batch whose adapters share one bank bucket."""

    start: int
    end: int
    layers: frozenset[str]  # the layers these adapters change
    a: dict[str, torch.Tensor]  # the bucket's banks: layer -> (slots, R, in)
    b: dict[str, torch.Tensor]  # layer -> (slots, R, out)
    slots: torch.Tensor | None  # (end - start,) slot per row; None: a single adapter
    slot: int = 0  # the single adapter's slot when ``slots`` is None

    def weights(self, layer: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(R, in) and (R, out) for one adapter, or (rows, R, in) and (rows, R, out) gathered."""
        if self.slots is None:
            return self.a[layer][self.slot], self.b[layer][self.slot]
        return self.a[layer].index_select(0, self.slots), self.b[layer].index_select(0, self.slots)


@dataclass
class BatchPlan:
    groups: list[RowGroup] = field(default_factory=list)


# Below this many input elements (rows x tokens x in, ~2 ms of work) a layer's LoRA matmuls run on one
# thread: they take well under a millisecond, and a parallel region that short pays more for
# its barrier than it gains, badly so when another process or the gRPC threads hold a core.
SINGLE_THREAD_ELEMENTS = 1 << 22


@dataclass
class LoraContext:
    """Shared by every wrapped layer: the plan of the forward in progress, if any."""

    plan: BatchPlan | None = None
    threads: int = 1  # torch intra-op threads of the forward in progress


class MultiLoraLinear(nn.Module):
    def __init__(self, name: str, base: nn.Module, context: LoraContext) -> None:
        super().__init__()
        self.name = name
        self.base = base
        self.context = context
        self.in_features = int(base.in_features)  # type: ignore[arg-type]
        self.out_features = int(base.out_features)  # type: ignore[arg-type]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)
        plan = self.context.plan
        if plan is None:
            return out
        groups = [g for g in plan.groups if self.name in g.layers]
        if not groups:
            return out
        out = out.contiguous()
        rows = x.shape[0]
        x3 = x.reshape(rows, -1, self.in_features)  # (rows, tokens, in); the pooler has 1 token
        out3 = out.view(rows, -1, self.out_features)
        threads = self.context.threads
        narrow = threads > 1 and x3.numel() <= SINGLE_THREAD_ELEMENTS
        if narrow:
            torch.set_num_threads(1)  # per calling thread (OpenMP ICV, MKL local)
        try:
            self._add_updates(groups, x3, out3)
        finally:
            if narrow:
                torch.set_num_threads(threads)
        return out

    def _add_updates(self, groups: list[RowGroup], x3: torch.Tensor, out3: torch.Tensor) -> None:
        for group in groups:
            a, b = group.weights(self.name)
            xs, target = x3[group.start : group.end], out3[group.start : group.end]
            # The narrow product is computed as A @ x.T (rank rows, token columns) and used
            # transposed: on CPU, MKL runs this shape 1.2-1.9x faster than x @ A.T.
            if a.dim() == 2:
                shrunk = (a @ xs.reshape(-1, self.in_features).t()).t()
                target.view(-1, self.out_features).addmm_(shrunk, b)
            else:
                target.baddbmm_(torch.bmm(a, xs.transpose(1, 2)).transpose(1, 2), b)


def wrap_linears(model: nn.Module, context: LoraContext) -> dict[str, MultiLoraLinear]:
    """Replace every nn.Linear in ``model`` by a MultiLoraLinear; return them by module name."""
    targets = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    wrapped: dict[str, MultiLoraLinear] = {}
    for name, module in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        layer = MultiLoraLinear(name, module, context)
        setattr(parent, child, layer)
        wrapped[name] = layer
    return wrapped
