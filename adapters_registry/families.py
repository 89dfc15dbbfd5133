"""How each encoder family's task models build their heads, so a plain PEFT adapter is served as
the tenant's own model computed it (torch-free: names, layer types and config values only).

``AutoModelForSequenceClassification`` and ``AutoModelForTokenClassification`` put different
heads on the same encoder: BERT classifies the pooler output; DistilBERT the first token through
``pre_classifier`` + ReLU; RoBERTa, XLM-R, ELECTRA and MPNet the first token through
``classifier.dense`` + an activation, then ``classifier.out_proj``; DeBERTa-v2 the first token
through its ContextPooler (``pooler.dense`` + ``pooler_hidden_act``); ModernBERT the first token
(or the mean, ``classifier_pooling``) through ``head.dense`` + activation + ``head.norm``, and its
token classifier runs the same head on every token. This table says so per ``model_type``
(transformers 5's modeling files, checked by tests/unit/test_families.py against PEFT's outputs).
A family that is not here has no plain-PEFT import: its tenants upload hub_adapter.json, whose
head ``layers`` describe any of these shapes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters_registry.manifest import ACTIVATIONS, LayerType, Pooling

# Hugging Face activation names (ACT2FN) -> the hub's (manifest.ACTIVATIONS).
HF_ACTIVATIONS = {
    "gelu": "gelu",
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "gelu_fast": "gelu_tanh",
    "relu": "relu",
    "tanh": "tanh",
    "silu": "silu",
    "swish": "silu",
    "linear": "identity",
}


@dataclass(frozen=True)
class FamilyLayer:
    """One step of a task model's head: a module (linear, layer_norm) or an activation."""

    type: LayerType
    module: str = ""  # the task model's module path, e.g. "classifier.dense"
    function: str = ""  # activation: its Hugging Face name (HF_ACTIVATIONS)
    eps: float = 1e-5  # layer_norm

    @property
    def layer_name(self) -> str:
        """Its name in heads.safetensors: the module path with dots as underscores."""
        return self.module.replace(".", "_")


@dataclass(frozen=True)
class TaskModelHead:
    """The head of one task model class: how it pools (None: per token), its layers, its classifier."""

    model: str  # the transformers class, for messages
    pooling: Pooling | None
    layers: tuple[FamilyLayer, ...]
    classifier: str  # the final Linear's module path

    @property
    def modules(self) -> list[str]:
        """Every module whose tensors the head holds, classifier last."""
        return [layer.module for layer in self.layers if layer.module] + [self.classifier]

    def activation_problems(self) -> list[str]:
        return [
            f"{self.model} uses activation {layer.function!r}, which the hub does not serve "
            f"(it serves {sorted(HF_ACTIVATIONS)})"
            for layer in self.layers
            if layer.type is LayerType.ACTIVATION and HF_ACTIVATIONS.get(layer.function) not in ACTIVATIONS
        ]


HeadBuilder = Callable[[Mapping[str, Any]], TaskModelHead]


@dataclass(frozen=True)
class Family:
    model_type: str
    name: str
    sequence: HeadBuilder  # AutoModelForSequenceClassification's head
    token: HeadBuilder  # AutoModelForTokenClassification's head
    peft_targets: tuple[str, ...]  # a LoRA default for this family (PEFT's where it has one)

    def head(self, pooled: bool, config: Mapping[str, Any]) -> TaskModelHead:
        return (self.sequence if pooled else self.token)(config)


def _plain_token(model: str) -> HeadBuilder:
    return lambda config: TaskModelHead(f"{model}ForTokenClassification", None, (), "classifier")


def _dense_head(model: str, function: str) -> HeadBuilder:
    """RoBERTa-style: classifier.dense, an activation, classifier.out_proj on the first token."""
    layers = (FamilyLayer(LayerType.LINEAR, "classifier.dense"), FamilyLayer(LayerType.ACTIVATION, function=function))
    return lambda config: TaskModelHead(f"{model}ForSequenceClassification", Pooling.CLS, layers, "classifier.out_proj")


def _deberta_sequence(config: Mapping[str, Any]) -> TaskModelHead:
    layers = (
        FamilyLayer(LayerType.LINEAR, "pooler.dense"),
        FamilyLayer(LayerType.ACTIVATION, function=str(config.get("pooler_hidden_act", "gelu"))),
    )
    return TaskModelHead("DebertaV2ForSequenceClassification", Pooling.CLS, layers, "classifier")


def _modernbert_layers(config: Mapping[str, Any]) -> tuple[FamilyLayer, ...]:
    return (
        FamilyLayer(LayerType.LINEAR, "head.dense"),
        FamilyLayer(LayerType.ACTIVATION, function=str(config.get("classifier_activation", "gelu"))),
        FamilyLayer(LayerType.LAYER_NORM, "head.norm", eps=float(config.get("norm_eps", 1e-5))),
    )


def _modernbert_sequence(config: Mapping[str, Any]) -> TaskModelHead:
    pooling = Pooling.MEAN if config.get("classifier_pooling") == "mean" else Pooling.CLS
    return TaskModelHead("ModernBertForSequenceClassification", pooling, _modernbert_layers(config), "classifier")


def _modernbert_token(config: Mapping[str, Any]) -> TaskModelHead:
    return TaskModelHead("ModernBertForTokenClassification", None, _modernbert_layers(config), "classifier")


_BERT_SEQUENCE = TaskModelHead("BertForSequenceClassification", Pooling.POOLER, (), "classifier")
_DISTILBERT_SEQUENCE = TaskModelHead(
    "DistilBertForSequenceClassification",
    Pooling.CLS,
    (FamilyLayer(LayerType.LINEAR, "pre_classifier"), FamilyLayer(LayerType.ACTIVATION, function="relu")),
    "classifier",
)

FAMILIES: Mapping[str, Family] = {
    f.model_type: f
    for f in (
        Family("bert", "BERT", lambda c: _BERT_SEQUENCE, _plain_token("Bert"), ("query", "value")),
        Family(
            "distilbert", "DistilBERT", lambda c: _DISTILBERT_SEQUENCE, _plain_token("DistilBert"), ("q_lin", "v_lin")
        ),
        Family("roberta", "RoBERTa", _dense_head("Roberta", "tanh"), _plain_token("Roberta"), ("query", "value")),
        Family(
            "xlm-roberta",
            "XLM-RoBERTa",
            _dense_head("XLMRoberta", "tanh"),
            _plain_token("XLMRoberta"),
            ("query", "value"),
        ),
        Family("electra", "ELECTRA", _dense_head("Electra", "gelu"), _plain_token("Electra"), ("query", "value")),
        Family("mpnet", "MPNet", _dense_head("MPNet", "tanh"), _plain_token("MPNet"), ("q", "v")),
        Family("deberta-v2", "DeBERTa-v2", _deberta_sequence, _plain_token("DebertaV2"), ("query_proj", "value_proj")),
        Family("modernbert", "ModernBERT", _modernbert_sequence, _modernbert_token, ("Wqkv",)),
    )
}

# The modules any family's head reads besides its classifier: a backbone checkpoint's tensors
# under these names are kept (BackboneSpec.checkpoint_tensors).
HEAD_MODULES = frozenset(
    layer.module
    for family in FAMILIES.values()
    for pooled in (True, False)
    for layer in family.head(pooled, {}).layers
    if layer.module
)


def family_of(model_type: str) -> Family | None:
    return FAMILIES.get(model_type)
