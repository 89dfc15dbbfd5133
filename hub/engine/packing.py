"""Turn stored adapter files into the tensors the engine consumes (safetensors only, never pickle)."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field

import torch
from safetensors.torch import load as load_safetensors

from adapters_registry.artifact import head_backbone_problems
from adapters_registry.lora_config import LoraSettings, parse_lora_config, scaling
from adapters_registry.manifest import (
    HEADS_FILE,
    PEFT_CONFIG_FILE,
    PEFT_WEIGHTS_FILE,
    HeadKind,
    LayerType,
    Manifest,
    Pooling,
)
from adapters_registry.peft_heads import stale_import_problems
from adapters_registry.weights import resolve_module, split_lora_key
from hub.engine.backbone import Backbone
from hub.engine.head_kinds import engine_kind
from hub.engine.head_layers import PackedLayer
from hub.errors import IncompatibleAdapter, InvalidArtifact


@dataclass(frozen=True)
class PackedHead:
    task: str
    kind: HeadKind
    labels: list[str]
    threshold: float
    pooling: Pooling
    weight: torch.Tensor  # (labels, width of the last layer: hidden when there is none)
    bias: torch.Tensor  # (labels,)
    layers: tuple[PackedLayer, ...] = ()  # between the features and the classifier


@dataclass(frozen=True)
class LoraPair:
    """One module's update, pre-scaled: delta(x) = (x @ a.T) @ b.

    ``a`` keeps PEFT's (rank, in) layout: the engine multiplies by its transpose, which
    is the fast layout for a narrow matmul. Both live in host memory (pinned when the
    engine runs on a GPU); the engine's bank copies them to the device once.
    """

    a: torch.Tensor  # (rank, in)
    b: torch.Tensor  # (rank, out), already multiplied by the module's scaling

    @property
    def rank(self) -> int:
        return int(self.a.shape[0])


_uids = itertools.count(1)


@dataclass(frozen=True)
class PackedAdapter:
    key: str
    layers: dict[str, LoraPair]
    heads: dict[str, PackedHead]
    # Identity of this packing: the engine's bank keys slots by it, so a re-packed
    # version never reuses stale device weights.
    uid: int = field(default_factory=lambda: next(_uids), compare=False)

    @property
    def nbytes(self) -> int:
        tensors = [t for p in self.layers.values() for t in (p.a, p.b)]
        tensors += [t for h in self.heads.values() for t in (h.weight, h.bias)]
        tensors += [t for h in self.heads.values() for layer in h.layers for t in layer.tensors()]
        return sum(t.numel() * t.element_size() for t in tensors)


def pack_adapter(key: str, files: dict[str, bytes], manifest: Manifest, backbone: Backbone) -> PackedAdapter:
    """Stored files -> tensors for the engine. The upload was validated against the backbone that
    received it; a store shared with servers running another backbone can still hold adapters
    that do not fit this one, so what upload checked against the backbone is checked again."""
    _check_fits(manifest, backbone)
    problems: list[str] = []
    lora = parse_lora_config(json.loads(files[PEFT_CONFIG_FILE]), max_rank=1 << 16, problems=problems)
    if lora is None:
        raise InvalidArtifact(problems)
    tensors = load_safetensors(files[PEFT_WEIGHTS_FILE])
    stale = stale_import_problems(manifest, lora, tensors, backbone.spec)
    if stale:
        raise IncompatibleAdapter(stale)
    heads = {name: t.float() for name, t in load_safetensors(files[HEADS_FILE]).items()}
    head_modules = {
        layer.module: f"{spec.task}.{layer.name}.weight"
        for spec in manifest.tasks
        for layer in spec.layers
        if layer.type is LayerType.LINEAR and layer.module
    }
    layers: dict[str, LoraPair] = {}
    for name, lora_a in tensors.items():
        split = split_lora_key(name)
        if split is None or split[1] != "A":
            continue
        path = split[0]
        lora_b = tensors[name.replace(".lora_A.", ".lora_B.")].float()
        scale = scaling(_alpha(manifest, lora, path), lora_a.shape[0], lora.use_rslora)
        module = resolve_module(path, backbone.spec)
        if module is not None:
            layers[module] = LoraPair(a=_host(lora_a.float(), backbone), b=_host(lora_b.t() * scale, backbone))
        elif path in head_modules:  # a head layer is the adapter's own: merge its update once
            weight = head_modules[path]
            heads[weight] = heads[weight] + (lora_b @ lora_a.float()) * scale
        else:
            raise IncompatibleAdapter([f"{path!r} is not a Linear module of {backbone.name}"])
    return PackedAdapter(key, layers, _pack_heads(heads, manifest, backbone))


def _alpha(manifest: Manifest, lora: LoraSettings, path: str) -> float:
    """The module's alpha as upload resolved it (manifest.lora_modules): no pattern of the
    tenant's config is compiled here. A version stored before upload resolved them has them
    only if its config has no patterns (every module then has lora_alpha)."""
    if path in manifest.lora_modules:
        return manifest.lora_modules[path][1]
    if lora.has_patterns:
        raise IncompatibleAdapter(
            [f"{path}: stored before rank_pattern / alpha_pattern were resolved at upload; upload it again"]
        )
    return lora.alpha


def _check_fits(manifest: Manifest, backbone: Backbone) -> None:
    recorded = manifest.base_model_fingerprint
    problems = []
    if recorded and recorded != backbone.fingerprint:
        problems.append(
            f"validated for backbone {recorded[:16]}..., this server runs {backbone.fingerprint[:16]}... "
            f"({backbone.name}); upload it to a server running its backbone"
        )
    for head in manifest.tasks:
        problems += head_backbone_problems(head, not engine_kind(head.head_kind).per_token, backbone.spec)
    if problems:
        raise IncompatibleAdapter(problems)


def _pack_heads(tensors: dict[str, torch.Tensor], manifest: Manifest, backbone: Backbone) -> dict[str, PackedHead]:
    heads = {}
    for spec in manifest.tasks:
        weight = tensors[f"{spec.task}.weight"]
        bias = tensors.get(f"{spec.task}.bias")
        bias = bias if bias is not None else torch.zeros(weight.shape[0])
        layers = []
        for layer in spec.layers:
            w, b = (tensors.get(f"{spec.task}.{layer.name}.{p}") for p in ("weight", "bias"))
            layers.append(
                PackedLayer(
                    layer.type,
                    _to(w, backbone) if w is not None and layer.has_tensors else None,
                    _to(b, backbone) if b is not None and layer.has_tensors else None,
                    layer.function,
                    layer.eps,
                )
            )
        heads[spec.task] = PackedHead(
            spec.task,
            spec.head_kind,
            list(spec.labels),
            spec.threshold,
            spec.pooling,
            _to(weight, backbone),
            _to(bias, backbone),
            tuple(layers),
        )
    return heads


def _to(tensor: torch.Tensor, backbone: Backbone) -> torch.Tensor:
    return tensor.contiguous().to(device=backbone.device, dtype=backbone.dtype)


def _host(tensor: torch.Tensor, backbone: Backbone) -> torch.Tensor:
    """Host copy in the serving dtype; pinned for GPU engines (non-blocking bank loads)."""
    host = tensor.to(dtype=backbone.dtype).contiguous()
    return host.pin_memory() if backbone.device.type == "cuda" else host


def stack_adapters(own: PackedAdapter, base: PackedAdapter) -> PackedAdapter:
    """A stacked adapter as one: per module, the base's and its own low-rank updates joined
    along the rank, ``a = [a_base; a_own]``, ``b = [b_base; b_own]``, so ``(x @ a.T) @ b`` is
    exactly the sum of both updates; the heads are its own. The engine then serves a stacked row
    like any row (one bank slot, one group per bucket): unstacked rows cost what they did, and a
    stacked row costs its summed rank (measured: benchmarks/bench_stacking.py)."""
    layers = dict(own.layers)
    for module, pair in base.layers.items():
        mine = layers.get(module)
        if mine is None:
            layers[module] = pair
        else:
            a = torch.cat([pair.a, mine.a]).contiguous()
            b = torch.cat([pair.b, mine.b]).contiguous()
            pinned = a.device.type == "cpu" and pair.a.is_pinned()
            layers[module] = LoraPair(a.pin_memory() if pinned else a, b.pin_memory() if pinned else b)
    return PackedAdapter(own.key, layers, own.heads)
