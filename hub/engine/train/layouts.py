"""What a training run resolves against the loaded backbone: LoRA's default targets (the backbone's
own Linear names) and each head's layout (``--head-layers``, ``--pooling``), with layers a
family's head shares with the checkpoint started from the checkpoint's weights, as
``AutoModelFor*Classification.from_pretrained`` starts them."""

from __future__ import annotations

import torch

from adapters_registry.families import HF_ACTIVATIONS, family_of
from adapters_registry.manifest import BackboneSpec, HeadLayer, LayerType, Pooling
from hub.engine.head_layers import HeadNet
from hub.engine.train.types import FAMILY_HEAD, HeadLayout, parse_head_layers
from hub.errors import InvalidArgument

_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def backbone_targets(spec: BackboneSpec) -> tuple[str, ...]:
    """Every Linear of the backbone by its last name (BERT: query, key, value, dense; DistilBERT:
    q_lin, k_lin, v_lin, out_lin, lin1, lin2; ModernBERT: Wqkv, Wo, Wi; ...), first-seen order."""
    return tuple(dict.fromkeys(name.rsplit(".", 1)[-1] for name in spec.linear_modules))


def resolve_layout(request: str, spec: BackboneSpec, per_token: bool, pooling: Pooling | None) -> HeadLayout:
    """A head's layout: ``--head-layers`` (parse_head_layers) on this backbone; ``pooling`` None:
    the family's with ``family``, else mean."""
    parsed = parse_head_layers(request)
    if parsed != FAMILY_HEAD:
        return HeadLayout(pooling or Pooling.MEAN, parsed if isinstance(parsed, tuple) else ())
    family = family_of(spec.model_type)
    if family is None:
        raise InvalidArgument(
            f"--head-layers family: backbone {spec.name} is a {spec.model_type!r} model, whose task-model "
            "heads the hub does not know; list the layers instead (e.g. --head-layers linear,tanh)"
        )
    head = family.head(not per_token, spec.config)
    layers = []
    for layer in head.layers:
        if layer.type is LayerType.ACTIVATION:
            layers.append(HeadLayer(layer.type, function=HF_ACTIVATIONS.get(layer.function, "identity")))
        else:
            layers.append(HeadLayer(layer.type, name=layer.layer_name, eps=layer.eps, module=layer.module))
    return HeadLayout(pooling or head.pooling or Pooling.MEAN, tuple(layers))


@torch.no_grad()
def init_from_checkpoint(head: HeadNet, spec: BackboneSpec) -> None:
    """Layers whose module the backbone's checkpoint holds start from its weights."""
    for layer in head.specs:
        module = head.layers[layer.name] if layer.has_tensors and layer.module else None
        if module is None:
            continue
        for param in ("weight", "bias"):
            tensor = spec.checkpoint_tensors.get(f"{layer.module}.{param}")
            target = getattr(module, param, None)
            if tensor is None or not isinstance(target, torch.Tensor) or tuple(target.shape) != tensor.shape:
                continue
            values = torch.frombuffer(bytearray(tensor.data), dtype=_DTYPES[tensor.dtype]).reshape(tensor.shape)
            target.copy_(values.to(target.dtype))
