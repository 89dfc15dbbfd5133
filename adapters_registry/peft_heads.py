"""A plain PEFT SEQ_CLS / TOKEN_CLS directory -> the hub's head: the task model's own head, as the
backbone's family builds it (adapters_registry.families), with every tensor of the upload
accounted for.

Each head module's weights come from what PEFT saved (``modules_to_save``), else from the
backbone's checkpoint (a task model built on it loads them too, e.g. ModernBERT's ``head``);
LoRA tensors on head modules (``target_modules="all-linear"`` reaches ``pooler.dense`` or
``head.dense``) stay in adapter_model.safetensors and are applied to that layer. A module that is
in neither place is refused: PEFT itself re-initializes it at random on every load
(huggingface/peft#2171), so nobody could reproduce the tenant's model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from adapters_registry import safetensors_io as st
from adapters_registry.families import HF_ACTIVATIONS, TaskModelHead, family_of
from adapters_registry.lora_config import CLASSIFIER_MODULES, HEAD_TASK_TYPES, LoraSettings
from adapters_registry.manifest import (
    HEADS_FILE,
    MANIFEST_FILE,
    PEFT_WEIGHTS_FILE,
    BackboneSpec,
    HeadKind,
    HeadLayer,
    HeadSpec,
    LayerType,
    Manifest,
    Pooling,
)
from adapters_registry.weights import PEFT_PREFIX, full_tensors

TensorBytes = tuple[str, tuple[int, ...], bytes]
TASK_TYPE_FOR = {True: "SEQ_CLS", False: "TOKEN_CLS"}
MODEL_FOR = {True: "AutoModelForSequenceClassification", False: "AutoModelForTokenClassification"}


@dataclass
class ImportedHead:
    spec: HeadSpec
    tensors: dict[str, TensorBytes]  # heads.safetensors
    head_linears: dict[str, tuple[int, int] | None] = field(default_factory=dict)  # LoRA may target these


def import_peft_head(
    weights: st.SafetensorsFile,
    lora: LoraSettings,
    backbone: BackboneSpec,
    task: str,
    kind: HeadKind,
    labels: list[str],
    pooled: bool,
    problems: list[str],
    mismatches: list[str],
) -> ImportedHead | None:
    """The head of ``task`` from a PEFT adapter saved from the family's task model (``pooled``:
    a sequence-level kind). Problems go to ``problems`` / ``mismatches`` (the backbone's part)."""
    family = family_of(backbone.model_type)
    if family is None:
        mismatches.append(
            f"backbone {backbone.name} is a {backbone.model_type or 'unknown'!r} model, whose task-model heads "
            f"the hub does not know; upload {MANIFEST_FILE} + {HEADS_FILE} describing the head "
            "(README: Bring your own adapter)"
        )
        return None
    if lora.task_type in HEAD_TASK_TYPES and lora.task_type != TASK_TYPE_FOR[pooled]:
        problems.append(
            f"adapter_config.json: task_type {lora.task_type} does not fit task {task!r} (a {kind.value} task): "
            f"train it through {MODEL_FOR[pooled]} (task_type {TASK_TYPE_FOR[pooled]})"
        )
        return None
    head = family.head(pooled, backbone.config)
    mismatches += [f"backbone {backbone.name}: {p}" for p in head.activation_problems()]
    saved = full_tensors(weights)
    _account(saved, head, backbone, problems)
    imported = ImportedHead(HeadSpec(task, kind, labels, pooling=head.pooling or Pooling.CLS), {})
    layers = _import_layers(imported, head, saved, weights, backbone, mismatches)
    classifier = _module_tensors(head.classifier, saved, weights, None)
    if classifier is None:
        problems.append(
            f"{PEFT_WEIGHTS_FILE} holds no {head.classifier} ({head.model}'s classifier); save the adapter "
            f"of a {MODEL_FOR[pooled]} with task_type {TASK_TYPE_FOR[pooled]}, which saves it"
        )
        return None
    imported.tensors.update({f"{task}.{param}": value for param, value in classifier.items()})
    imported.spec.layers = tuple(layers)
    return imported


def _import_layers(
    imported: ImportedHead,
    head: TaskModelHead,
    saved: dict[str, dict[str, str]],
    weights: st.SafetensorsFile,
    backbone: BackboneSpec,
    mismatches: list[str],
) -> list[HeadLayer]:
    """The head's layers, their tensors into ``imported`` (a module found nowhere: a mismatch)."""
    layers: list[HeadLayer] = []
    for layer in head.layers:
        if layer.type is LayerType.ACTIVATION:
            layers.append(HeadLayer(LayerType.ACTIVATION, function=HF_ACTIVATIONS.get(layer.function, "identity")))
            continue
        found = _module_tensors(layer.module, saved, weights, backbone)
        if found is None:
            mismatches.append(_missing(head, layer.module, backbone))
            if layer.type is LayerType.LINEAR:
                imported.head_linears[layer.module] = None
            continue
        for param, value in found.items():
            imported.tensors[f"{imported.spec.task}.{layer.layer_name}.{param}"] = value
        if layer.type is LayerType.LINEAR:
            shape = found["weight"][1]
            imported.head_linears[layer.module] = (shape[1], shape[0]) if len(shape) == 2 else None
            layers.append(HeadLayer(LayerType.LINEAR, name=layer.layer_name, module=layer.module))
        else:
            layers.append(HeadLayer(LayerType.LAYER_NORM, name=layer.layer_name, eps=layer.eps, module=layer.module))
    return layers


def _module_tensors(
    module: str, saved: dict[str, dict[str, str]], weights: st.SafetensorsFile, backbone: BackboneSpec | None
) -> dict[str, TensorBytes] | None:
    """A module's weight (and bias): as the adapter saved it, else from the backbone's checkpoint."""
    params = saved.get(module)
    if params is not None and "weight" in params:
        return {
            p: (weights.tensors[key].dtype, weights.tensors[key].shape, weights.raw(key))
            for p, key in params.items()
            if p in ("weight", "bias")
        }
    if backbone is None or f"{module}.weight" not in backbone.checkpoint_tensors:
        return None
    found = {}
    for param in ("weight", "bias"):
        tensor = backbone.checkpoint_tensors.get(f"{module}.{param}")
        if tensor is not None:
            found[param] = (tensor.dtype, tensor.shape, tensor.data)
    return found


def _missing(head: TaskModelHead, module: str, backbone: BackboneSpec) -> str:
    top = module.split(".", maxsplit=1)[0]
    return (
        f"{head.model} runs {module} before its classifier, and neither {PEFT_WEIGHTS_FILE} nor the "
        f"checkpoint of backbone {backbone.name} holds its weights: PEFT itself re-initializes {module} "
        f"at random whenever it loads this adapter, so the trained model cannot be reproduced. Save "
        f"it with the adapter: LoraConfig(modules_to_save=[{top!r}]) (PEFT adds the classifier itself), "
        f"or serve from a backbone checkpoint that holds {module}"
    )


def _account(
    saved: dict[str, dict[str, str]], head: TaskModelHead, backbone: BackboneSpec, problems: list[str]
) -> None:
    """Every tensor PEFT saved besides LoRA must be a weight or bias of one of the head's modules."""
    wanted = set(head.modules)
    prefix = backbone.base_model_prefix + "."
    for module, params in sorted(saved.items()):
        keys = sorted(params.values())
        if module in wanted:
            extra = sorted(set(params) - {"weight", "bias"})
            if extra:
                problems.append(f"{PEFT_WEIGHTS_FILE}: {module}: unexpected parameters {extra}")
        elif module == "":
            problems.append(f"{PEFT_WEIGHTS_FILE}: tensors {keys[:5]} are not named as PEFT names them")
        elif module.startswith(prefix) or module.split(".")[0] in _backbone_roots(backbone):
            problems.append(
                f"{PEFT_WEIGHTS_FILE}: {keys[0].removeprefix(PEFT_PREFIX)} replaces part of the backbone "
                f"(modules_to_save {module!r}); the hub serves one frozen backbone shared by every adapter: "
                "adapt it with LoRA (target_modules) instead"
            )
        else:
            problems.append(
                f"{PEFT_WEIGHTS_FILE}: {keys[0].removeprefix(PEFT_PREFIX)}: {module!r} is not part of "
                f"{head.model}'s head ({', '.join(head.modules)})"
            )


def _backbone_roots(backbone: BackboneSpec) -> set[str]:
    """The backbone's top-level modules (its encoder, pooler, ...) as an AutoModel names them."""
    return {name.split(".")[0] for name in backbone.linear_modules} | {"embeddings"}


def stale_import_problems(
    manifest: Manifest, lora: LoraSettings, tensor_names: Iterable[str], backbone: BackboneSpec
) -> list[str]:
    """A plain PEFT adapter stored before the hub knew its family's head (its manifest has no
    layers where the task model runs some, e.g. ModernBERT's token head): serving it would answer
    differently from the tenant's model, so it is refused when packed, asking for a new upload."""
    family = family_of(backbone.model_type)
    saved_head = tuple(f"{PEFT_PREFIX}{module}." for module in CLASSIFIER_MODULES)
    if (
        family is None
        or lora.task_type not in HEAD_TASK_TYPES
        or not any(n.startswith(saved_head) for n in tensor_names)
    ):
        return []
    problems = []
    for spec in manifest.tasks:
        head = family.head(lora.task_type == TASK_TYPE_FOR[True], backbone.config)
        if head.layers and not spec.layers:
            problems.append(
                f"task {spec.task!r}: stored without the layers {head.model} runs before its classifier "
                f"({', '.join(m for m in head.modules[:-1])}), so it would not answer as trained: "
                "upload the adapter again (the hub now imports them)"
            )
    return problems
