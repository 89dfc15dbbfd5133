"""The hub's manifest (hub_adapter.json) and the backbone description that adapters must fit."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

MANIFEST_FILE = "hub_adapter.json"
PEFT_CONFIG_FILE = "adapter_config.json"
PEFT_WEIGHTS_FILE = "adapter_model.safetensors"
HEADS_FILE = "heads.safetensors"
MODEL_CARD_FILE = "README.md"
FORMAT_VERSION = 1


class HeadKind(StrEnum):
    """The stored form of a head kind. What each kind does lives in two tables keyed by it:
    hub/tasks/head_kinds.py (decoding, labels, gold) and hub/engine/head_kinds.py (activation,
    loss, layout)."""

    SEQUENCE = "sequence"  # softmax over labels, one per text
    MULTI_LABEL = "multi_label"  # sigmoid per label, threshold
    TOKEN = "token"  # BIO tag per token -> entity spans


class Pooling(StrEnum):
    POOLER = "pooler"  # the backbone's own pooler over [CLS] (what PEFT SEQ_CLS heads use)
    CLS = "cls"  # the [CLS] hidden state
    MEAN = "mean"  # mean over real tokens (how sentence-transformers backbones were trained)


class LayerType(StrEnum):
    """One step of a head between the pooled (or per-token) features and its classifier."""

    LINEAR = "linear"  # <task>.<name>.weight [out, in] (+ .bias [out])
    ACTIVATION = "activation"  # a function from ACTIVATIONS
    LAYER_NORM = "layer_norm"  # <task>.<name>.weight [width] (+ .bias [width]), eps


# The activations a head layer may use (the engine has one implementation of each).
# gelu: the exact (erf) GELU; gelu_tanh: its tanh approximation (HF's gelu_new / gelu_pytorch_tanh).
ACTIVATIONS = ("identity", "tanh", "relu", "gelu", "gelu_tanh", "silu")
MAX_HEAD_LAYERS = 8
_LAYER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class HeadLayer:
    """A head layer as hub_adapter.json describes it.

    ``name``: its tensors in heads.safetensors are ``<task>.<name>.weight`` / ``.bias``.
    ``module``: for a layer imported from a PEFT task model, the task-model module it was
    (e.g. ``pooler.dense``): LoRA tensors in adapter_model.safetensors on that module apply to it
    (Linear layers), and that file may hold its weights too (what PEFT saved, copied here).
    """

    type: LayerType
    name: str = ""
    function: str = ""  # activation
    eps: float = 1e-5  # layer_norm
    module: str = ""  # linear

    def to_json(self) -> dict[str, Any]:
        if self.type is LayerType.ACTIVATION:
            return {"type": self.type.value, "function": self.function}
        data: dict[str, Any] = {"type": self.type.value, "name": self.name}
        if self.type is LayerType.LAYER_NORM:
            data["eps"] = self.eps
        if self.module:
            data["module"] = self.module
        return data

    @property
    def has_tensors(self) -> bool:
        return self.type is not LayerType.ACTIVATION


@dataclass(frozen=True)
class CheckpointTensor:
    """A tensor of the backbone's checkpoint outside the backbone model (torch-free bytes)."""

    dtype: str  # safetensors dtype name
    shape: tuple[int, ...]
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class TaskContract:
    """What the hub requires of a head serving a task: its kind and, if fixed, its labels.

    The hub fills in what its head-kind table knows, so this package checks uploads without
    knowing any kind: ``pools`` (the head reads one pooled vector per text, so its pooling must
    exist on the backbone) and ``check_labels`` (the kind's label rule: problems, or none).
    """

    head_kind: HeadKind
    labels: tuple[str, ...] | None = None
    pools: bool = True
    check_labels: Callable[[Sequence[str]], list[str]] | None = None


@dataclass(frozen=True)
class BackboneSpec:
    """A torch-free description of the running backbone, for validating adapters."""

    name: str
    fingerprint: str
    hidden_size: int
    base_model_prefix: str
    # module name (relative to the backbone) -> (in_features, out_features) of every Linear
    linear_modules: dict[str, tuple[int, int]]
    has_pooler: bool = True  # its forward returns a pooler_output (heads with pooling "pooler" need one)
    max_tokens: int = 0  # the most tokens one text may have (position embeddings); 0: unknown
    model_type: str = ""  # the config's model_type: which family's task models adapters come from
    config: Mapping[str, Any] = field(default_factory=dict, repr=False)  # the model config's values
    # Head-layer weights the checkpoint holds besides the backbone (e.g. ModernBERT's head.dense,
    # a classification checkpoint's pooler.dense), by task-model name: task models built on this
    # checkpoint load them, so a PEFT adapter that did not save them still means these.
    checkpoint_tensors: Mapping[str, CheckpointTensor] = field(default_factory=dict, repr=False)


@dataclass
class HeadSpec:
    task: str
    head_kind: HeadKind
    labels: list[str]
    pooling: Pooling = Pooling.POOLER
    threshold: float = 0.5
    layers: tuple[HeadLayer, ...] = ()  # between the features and the classifier, in order

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["head_kind"] = self.head_kind.value
        data["pooling"] = self.pooling.value
        data["layers"] = [layer.to_json() for layer in self.layers]
        if not self.layers:
            del data["layers"]  # manifests of plain heads stay as they were
        return data

    def tensor_names(self) -> dict[str, bool]:
        """Every tensor of this head in heads.safetensors -> whether it is required."""
        names = {f"{self.task}.weight": True, f"{self.task}.bias": False}
        for layer in self.layers:
            if layer.has_tensors:
                names[f"{self.task}.{layer.name}.weight"] = True
                names[f"{self.task}.{layer.name}.bias"] = False
        return names


@dataclass(frozen=True)
class FileRecord:
    sha256: str
    size: int


@dataclass(frozen=True)
class BaseAdapter:
    """The domain adapter a tenant adapter is stacked on: its exact version and content digest
    (adapters_registry.domains.content_digest). Stored as ``"base"`` in hub_adapter.json."""

    domain: str
    name: str
    version: int
    digest: str

    @property
    def reference(self) -> str:
        return f"{self.domain}:{self.name}@{self.version}"

    def to_json(self) -> dict[str, Any]:
        return {"domain": self.domain, "name": self.name, "version": self.version, "digest": self.digest}


@dataclass
class Manifest:
    tasks: list[HeadSpec]
    base_model_name: str = ""
    base_model_fingerprint: str = ""
    description: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    files: dict[str, FileRecord] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    # each LoRA module's (rank, alpha), resolved at upload from the PEFT config (its patterns
    # included: adapters_registry/patterns.py); empty for versions stored before
    lora_modules: dict[str, tuple[int, float]] = field(default_factory=dict)
    base: BaseAdapter | None = None  # stacked on this domain adapter

    def task(self, name: str) -> HeadSpec | None:
        return next((t for t in self.tasks if t.task == name), None)

    def to_json(self) -> dict[str, Any]:
        base = {"base": self.base.to_json()} if self.base is not None else {}
        return base | {
            "format_version": self.format_version,
            "base_model": {
                "name": self.base_model_name,
                "fingerprint": self.base_model_fingerprint,
            },
            "tasks": [t.to_json() for t in self.tasks],
            "description": self.description,
            "metrics": self.metrics,
            "files": {p: asdict(r) for p, r in sorted(self.files.items())},
            **({"lora_modules": {m: {"rank": r, "alpha": a} for m, (r, a) in sorted(self.lora_modules.items())}}
               if self.lora_modules else {}),
        }  # fmt: skip

    def dumps(self) -> bytes:
        return json.dumps(self.to_json(), indent=2, sort_keys=True).encode()


def parse_manifest(data: dict[str, Any], problems: list[str]) -> Manifest | None:
    """Build a Manifest from JSON, appending every structural problem to ``problems``."""
    start = len(problems)
    if data.get("format_version", FORMAT_VERSION) != FORMAT_VERSION:
        problems.append(f"{MANIFEST_FILE}: unsupported format_version {data.get('format_version')!r}")
    base = data.get("base_model") or {}
    if not isinstance(base, dict):
        problems.append(f"{MANIFEST_FILE}: base_model must be an object")
        base = {}
    raw_tasks = data.get("tasks")
    if not isinstance(raw_tasks, list) or not raw_tasks:
        problems.append(f"{MANIFEST_FILE}: tasks must be a non-empty list")
        raw_tasks = []
    tasks = [t for i, raw in enumerate(raw_tasks) if (t := _parse_head(i, raw, problems))]
    metrics = data.get("metrics") or {}
    if not isinstance(metrics, dict):
        problems.append(f"{MANIFEST_FILE}: metrics must be an object")
        metrics = {}
    description = data.get("description") or ""
    if not isinstance(description, str):
        problems.append(f"{MANIFEST_FILE}: description must be a string")
        description = ""
    files = _parse_files(data.get("files") or {}, problems)
    lora_modules = _parse_lora_modules(data.get("lora_modules") or {}, problems)
    stacked = _parse_base(data.get("base"), problems)
    if len(problems) > start:
        return None
    return Manifest(
        tasks=tasks,
        base_model_name=str(base.get("name") or ""),
        base_model_fingerprint=str(base.get("fingerprint") or ""),
        description=description,
        metrics=metrics,
        files=files,
        base=stacked,
        lora_modules=lora_modules,
    )


def _parse_lora_modules(raw: object, problems: list[str]) -> dict[str, tuple[int, float]]:
    """What upload resolved (an uploaded manifest's own value is replaced at upload)."""
    modules: dict[str, tuple[int, float]] = {}
    if not isinstance(raw, dict):
        problems.append(f"{MANIFEST_FILE}: lora_modules must be an object")
        return modules
    for module, entry in raw.items():
        rank, alpha = (entry.get("rank"), entry.get("alpha")) if isinstance(entry, dict) else (None, None)
        if not (isinstance(rank, int) and rank > 0 and isinstance(alpha, int | float) and math.isfinite(alpha)):
            problems.append(f"{MANIFEST_FILE}: lora_modules[{str(module)[:80]!r}] needs a rank and a finite alpha")
            continue
        modules[str(module)] = (rank, float(alpha))
    return modules


_BASE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_BASE_DOMAIN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def _parse_base(raw: object, problems: list[str]) -> BaseAdapter | None:
    """``"base": {"domain", "name", "version", "digest"}``, or absent."""
    if raw is None:
        return None
    where = f"{MANIFEST_FILE}: base"
    if not isinstance(raw, dict):
        problems.append(f"{where} must be an object with domain, name, version and digest")
        return None
    domain, name, version, digest = (raw.get(k) for k in ("domain", "name", "version", "digest"))
    before = len(problems)
    if not isinstance(domain, str) or not _BASE_DOMAIN.match(domain):
        problems.append(f"{where}.domain must be a domain (a plugin namespace such as medical)")
    if not isinstance(name, str) or not _BASE_NAME.match(name):
        problems.append(f"{where}.name must be an adapter name")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.append(f"{where}.version must be a version number (an exact version, not an alias)")
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        problems.append(f"{where}.digest must be sha256:<64 hex digits>")
    if len(problems) > before:
        return None
    return BaseAdapter(str(domain), str(name), int(version), str(digest))  # type: ignore[arg-type]


def _parse_head(index: int, raw: object, problems: list[str]) -> HeadSpec | None:
    where = f"{MANIFEST_FILE}: tasks[{index}]"
    if not isinstance(raw, dict):
        problems.append(f"{where} must be an object")
        return None
    task, labels = raw.get("task"), raw.get("labels")
    before = len(problems)
    if not isinstance(task, str) or not task:
        problems.append(f"{where}.task must be a non-empty string")
    try:
        kind = HeadKind(str(raw.get("head_kind")))
    except ValueError:
        problems.append(f"{where}.head_kind must be one of {[k.value for k in HeadKind]}")
    try:
        pooling = Pooling(raw.get("pooling", Pooling.POOLER.value))
    except ValueError:
        problems.append(f"{where}.pooling must be one of {[p.value for p in Pooling]}")
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) and x for x in labels):
        problems.append(f"{where}.labels must be a non-empty list of strings")
    elif len(set(labels)) != len(labels):
        problems.append(f"{where}.labels has duplicates")
    threshold = raw.get("threshold", 0.5)
    if not isinstance(threshold, int | float) or not 0.0 < float(threshold) < 1.0:
        problems.append(f"{where}.threshold must be a number strictly between 0 and 1")
    layers = _parse_layers(where, raw.get("layers", []), problems)
    if len(problems) > before:
        return None
    return HeadSpec(str(task), kind, list(labels), pooling, float(threshold), layers)  # type: ignore[arg-type]


def _parse_layers(where: str, raw: object, problems: list[str]) -> tuple[HeadLayer, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_HEAD_LAYERS:
        problems.append(f"{where}.layers must be a list of at most {MAX_HEAD_LAYERS} layers")
        return ()
    layers = [layer for i, item in enumerate(raw) if (layer := _parse_layer(f"{where}.layers[{i}]", item, problems))]
    names = [layer.name for layer in layers if layer.has_tensors]
    if len(set(names)) != len(names):
        problems.append(f"{where}.layers: layer names must be distinct")
    return tuple(layers)


def _parse_layer(where: str, raw: object, problems: list[str]) -> HeadLayer | None:
    if not isinstance(raw, dict):
        problems.append(f"{where} must be an object")
        return None
    try:
        kind = LayerType(str(raw.get("type")))
    except ValueError:
        problems.append(f"{where}.type must be one of {[t.value for t in LayerType]}")
        return None
    if kind is LayerType.ACTIVATION:
        function = raw.get("function")
        if function not in ACTIVATIONS:
            problems.append(f"{where}.function must be one of {list(ACTIVATIONS)}")
            return None
        return HeadLayer(kind, function=str(function))
    name, module, eps = raw.get("name"), raw.get("module", ""), raw.get("eps", 1e-5)
    before = len(problems)
    if not isinstance(name, str) or not _LAYER_NAME.fullmatch(name) or name in ("weight", "bias"):
        problems.append(f"{where}.name must be an identifier (letters, digits, _), not 'weight' or 'bias'")
    if not isinstance(module, str):
        problems.append(f"{where}.module must be a module name")
    if not isinstance(eps, int | float) or isinstance(eps, bool) or not (math.isfinite(eps) and eps > 0):
        problems.append(f"{where}.eps must be a positive number")
    if len(problems) > before:
        return None
    return HeadLayer(kind, name=str(name), eps=float(eps), module=str(module))


def _parse_files(raw: object, problems: list[str]) -> dict[str, FileRecord]:
    if not isinstance(raw, dict):
        problems.append(f"{MANIFEST_FILE}: files must be an object")
        return {}
    files: dict[str, FileRecord] = {}
    for path, entry in raw.items():
        if isinstance(entry, dict) and isinstance(entry.get("sha256"), str) and isinstance(entry.get("size"), int):
            files[str(path)] = FileRecord(entry["sha256"], entry["size"])
        else:
            problems.append(f"{MANIFEST_FILE}: files[{path!r}] needs sha256 and size")
    return files
