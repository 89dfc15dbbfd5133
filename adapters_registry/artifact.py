"""Turn the files a tenant uploads into a validated, normalized adapter artifact.

Every check runs before any tensor is used; all problems are collected and raised once
(InvalidArtifact), except a pure backbone mismatch, which is IncompatibleAdapter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from adapters_registry import bounded_json, names
from adapters_registry import safetensors_io as st
from adapters_registry.heads import check_heads, head_linears
from adapters_registry.lora_config import (
    CLASSIFIER_MODULES,
    HEAD_TASK_TYPES,
    LoraSettings,
    module_settings,
    parse_lora_config,
)
from adapters_registry.manifest import (
    HEADS_FILE,
    MANIFEST_FILE,
    MODEL_CARD_FILE,
    PEFT_CONFIG_FILE,
    PEFT_WEIGHTS_FILE,
    BackboneSpec,
    FileRecord,
    HeadKind,
    HeadSpec,
    Manifest,
    Pooling,
    TaskContract,
    parse_manifest,
)
from adapters_registry.peft_heads import import_peft_head
from adapters_registry.weights import check_lora_tensors, full_tensors, split_lora_key
from hub.errors import IncompatibleAdapter, InvalidArgument, InvalidArtifact

ALLOWED_FILES = (PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE, MANIFEST_FILE, HEADS_FILE, MODEL_CARD_FILE)
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")

TaskLookup = Callable[[str], TaskContract | None]


@dataclass(frozen=True)
class ArtifactLimits:
    max_total_bytes: int = 64 << 20
    max_header_bytes: int = 1 << 20
    max_rank: int = 64
    max_labels: int = 1024
    allowed_dtypes: frozenset[str] = frozenset({"F32", "F16", "BF16"})
    max_card_bytes: int = 1 << 20


@dataclass(frozen=True)
class UploadInfo:
    """What the uploader said besides the files (needed for a plain PEFT directory)."""

    task: str = ""
    labels: tuple[str, ...] = ()
    description: str = ""


@dataclass
class Artifact:
    files: dict[str, bytes]
    manifest: Manifest
    lora: LoraSettings
    target_modules: list[str] = field(default_factory=list)

    @property
    def size_bytes(self) -> int:
        return sum(len(b) for b in self.files.values())


def _is_text(data: bytes) -> bool:
    try:
        return "\x00" not in data.decode("utf-8")
    except UnicodeDecodeError:
        return False


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_file_names(names: list[str], problems: list[str]) -> None:
    for name in names:
        if name.startswith("/") or "\\" in name or ".." in name.split("/"):
            problems.append(f"{name!r}: absolute paths and path traversal are refused")
        elif name.lower().endswith(PICKLE_SUFFIXES):
            problems.append(f"{name!r}: pickle files are refused; save with safetensors")
        elif name not in ALLOWED_FILES:
            problems.append(f"{name!r}: unexpected file (allowed: {', '.join(ALLOWED_FILES)})")
    for required in (PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE):
        if required not in names:
            problems.append(f"{required} is missing (save the adapter with PEFT's save_pretrained)")


def _load_json(files: dict[str, bytes], name: str, problems: list[str]) -> dict | None:
    try:
        data = bounded_json.loads(files[name])
    except bounded_json.JsonBoundsError as exc:
        problems.append(f"{name}: {exc}")
        return None
    if not isinstance(data, dict):
        problems.append(f"{name}: must be a JSON object")
        return None
    return data


def _load_safetensors(
    files: dict[str, bytes], name: str, limits: ArtifactLimits, problems: list[str]
) -> st.SafetensorsFile | None:
    data = files[name]
    try:
        parsed = st.parse(data, max_header_bytes=limits.max_header_bytes)
    except st.SafetensorsFormatError as exc:
        # Asked only once parsing failed: a safetensors header length of 128 + 256k bytes also
        # starts with 0x80, the pickle protocol mark.
        pickled = data[:1] == b"\x80" or data[:2] == b"PK"
        problems.append(
            f"{name}: this is a pickle/zip (torch.save) file, not safetensors" if pickled else f"{name}: {exc}"
        )
        return None
    bad = sorted({i.dtype for i in parsed.tensors.values()} - limits.allowed_dtypes)
    if bad:
        problems.append(f"{name}: dtypes {bad} not allowed (allowed: {sorted(limits.allowed_dtypes)})")
        return None
    non_finite = st.non_finite_tensors(parsed)
    if non_finite:
        problems.append(f"{name}: NaN or Inf in {', '.join(non_finite[:5])}")
    return parsed


def build_artifact(
    files: dict[str, bytes],
    upload: UploadInfo,
    backbone: BackboneSpec,
    tasks: TaskLookup,
    limits: ArtifactLimits | None = None,
) -> Artifact:
    """Validate uploaded files and return the artifact to store (raises on any problem)."""
    limits = limits or ArtifactLimits()
    problems: list[str] = []
    mismatches: list[str] = []
    check_file_names(sorted(files), problems)
    total = sum(len(b) for b in files.values())
    if total > limits.max_total_bytes:
        problems.append(f"adapter is {total} bytes; the limit is {limits.max_total_bytes}")
    if problems:
        raise InvalidArtifact(problems)

    card = files.get(MODEL_CARD_FILE)
    if card is not None and (len(card) > limits.max_card_bytes or not _is_text(card)):
        problems.append(f"{MODEL_CARD_FILE}: must be UTF-8 text of at most {limits.max_card_bytes} bytes")
    config = _load_json(files, PEFT_CONFIG_FILE, problems)
    lora = parse_lora_config(config, limits.max_rank, problems) if config is not None else None
    weights = _load_safetensors(files, PEFT_WEIGHTS_FILE, limits, problems)
    built = _build_manifest(files, upload, weights, lora, backbone, tasks, limits, problems, mismatches)
    manifest = built[0] if built is not None else None
    targets: list[str] = []
    if lora is not None and weights is not None and built is not None:
        targets = check_lora_tensors(weights, lora, backbone, limits.max_rank, problems, mismatches, built[1])
        built[0].lora_modules = _lora_modules(weights, lora, backbone, problems)
    if manifest is not None:
        _check_tasks(manifest, tasks, backbone, limits, problems, mismatches)
        _check_names(manifest, problems)
    if problems:
        raise InvalidArtifact(problems + mismatches)
    if mismatches:
        raise IncompatibleAdapter(mismatches)
    assert manifest is not None and lora is not None
    return _finalize(files, manifest, lora, targets)


Built = tuple[Manifest, dict[str, tuple[int, int] | None]]  # the manifest, and head Linears LoRA may target


def _build_manifest(
    files: dict[str, bytes],
    upload: UploadInfo,
    weights: st.SafetensorsFile | None,
    lora: LoraSettings | None,
    backbone: BackboneSpec,
    tasks: TaskLookup,
    limits: ArtifactLimits,
    problems: list[str],
    mismatches: list[str],
) -> Built | None:
    if MANIFEST_FILE in files:
        built = _hub_manifest(files, upload, weights, backbone, limits, problems, mismatches)
    else:
        built = _manifest_from_peft(files, upload, weights, lora, backbone, tasks, problems, mismatches)
    if built is None:
        return None
    manifest = built[0]
    if upload.description:
        manifest.description = upload.description
    recorded = manifest.base_model_fingerprint
    if recorded and recorded != backbone.fingerprint:
        mismatches.append(
            f"trained on backbone {recorded[:16]}..., this server runs "
            f"{backbone.fingerprint[:16]}... ({backbone.name}); retrain on this backbone "
            "or serve it from a matching server"
        )
    manifest.base_model_fingerprint = backbone.fingerprint
    manifest.base_model_name = manifest.base_model_name or backbone.name
    return built


def _hub_manifest(
    files: dict[str, bytes],
    upload: UploadInfo,
    weights: st.SafetensorsFile | None,
    backbone: BackboneSpec,
    limits: ArtifactLimits,
    problems: list[str],
    mismatches: list[str],
) -> Built | None:
    """hub_adapter.json + heads.safetensors: the heads as the manifest describes them."""
    raw = _load_json(files, MANIFEST_FILE, problems)
    manifest = parse_manifest(raw, problems) if raw is not None else None
    if manifest is None:
        return None
    if upload.task and not manifest.task(upload.task):
        problems.append(f"--task {upload.task!r} is not among the manifest's tasks")
    if HEADS_FILE not in files:
        problems.append(f"{HEADS_FILE} is missing (the manifest names tasks, each needs a head)")
        return None
    heads = _load_safetensors(files, HEADS_FILE, limits, problems)
    if heads is not None:
        check_heads(heads, manifest.tasks, backbone.hidden_size, problems, mismatches)
    if weights is not None:  # with a manifest, heads live in heads.safetensors
        _check_saved_modules(weights, manifest, problems)
    return manifest, head_linears(heads, manifest.tasks)


def _check_saved_modules(weights: st.SafetensorsFile, manifest: Manifest, problems: list[str]) -> None:
    """Besides LoRA, adapter_model.safetensors may hold only what PEFT saved of the task model's
    head (its classifier, or a module a head layer came from): heads.safetensors holds the copy
    that is served."""
    layers = {layer.module for spec in manifest.tasks for layer in spec.layers if layer.module}
    for module, params in sorted(full_tensors(weights).items()):
        if module in layers or module.split(".", 1)[0] in CLASSIFIER_MODULES:
            continue
        problems.append(f"{PEFT_WEIGHTS_FILE}: unsupported tensors {sorted(params.values())[:5]} (module {module!r})")


def _manifest_from_peft(
    files: dict[str, bytes],
    upload: UploadInfo,
    weights: st.SafetensorsFile | None,
    lora: LoraSettings | None,
    backbone: BackboneSpec,
    tasks: TaskLookup,
    problems: list[str],
    mismatches: list[str],
) -> Built | None:
    """A plain PEFT SEQ_CLS / TOKEN_CLS directory: its task model's head becomes the task's head."""
    if not upload.task or not upload.labels:
        problems.append(f"no {MANIFEST_FILE}: give --task and --labels so the PEFT classifier becomes a head")
        return None
    if lora is not None and lora.task_type not in HEAD_TASK_TYPES:
        problems.append(
            f"adapter_config.json: task_type {lora.task_type!r} has no classifier; "
            f"use {sorted(HEAD_TASK_TYPES)} or upload {HEADS_FILE} with {MANIFEST_FILE}"
        )
    if weights is None or lora is None:
        return None
    contract = tasks(upload.task)
    kind = contract.head_kind if contract else HeadKind.SEQUENCE
    pooled = contract.pools if contract else True
    imported = import_peft_head(
        weights, lora, backbone, upload.task, kind, list(upload.labels), pooled, problems, mismatches
    )
    if imported is None:
        return None
    files[HEADS_FILE] = st.write(imported.tensors)
    check_heads(st.parse(files[HEADS_FILE]), [imported.spec], backbone.hidden_size, problems, mismatches)
    return Manifest(tasks=[imported.spec], description=upload.description), imported.head_linears


def _lora_modules(
    weights: st.SafetensorsFile, lora: LoraSettings, backbone: BackboneSpec, problems: list[str]
) -> dict[str, tuple[int, float]]:
    """Each LoRA module's (rank, alpha), the config's patterns resolved here, once (what the
    engine scales by; nothing of the config is evaluated after upload). A module whose lora_A
    rank is not what the config gives it would not load in PEFT either."""
    ranks = {}
    for key, info in weights.tensors.items():
        split = split_lora_key(key)
        if split is not None and split[1] == "A" and len(info.shape) == 2:
            ranks[split[0]] = info.shape[0]
    resolved = module_settings(lora, sorted(ranks), backbone.base_model_prefix, problems)
    for path, (rank, _) in resolved.items():
        if ranks[path] != rank:
            problems.append(
                f"{path}: lora_A has rank {ranks[path]}, {PEFT_CONFIG_FILE} gives it rank {rank} (r or rank_pattern)"
            )
    return resolved


def _check_names(manifest: Manifest, problems: list[str]) -> None:
    """Task names and labels by the hub's one rules table (adapters_registry/names.py)."""
    for head in manifest.tasks:
        try:
            names.check("task", head.task)
            names.check_labels(head.labels, f"labels of task {head.task!r}")
        except InvalidArgument as exc:
            problems.append(exc.message)


def _check_tasks(
    manifest: Manifest,
    tasks: TaskLookup,
    backbone: BackboneSpec,
    limits: ArtifactLimits,
    problems: list[str],
    mismatches: list[str],
) -> None:
    for head in manifest.tasks:
        contract = tasks(head.task)
        if contract is None:
            problems.append(f"task {head.task!r} is not offered by this server (see ListTasks)")
            continue
        kind_fits = head.head_kind is contract.head_kind
        if not kind_fits:
            problems.append(
                f"task {head.task!r} needs a {contract.head_kind.value} head, "
                f"the manifest declares {head.head_kind.value}"
            )
        if contract.labels is not None and tuple(head.labels) != contract.labels:
            problems.append(f"task {head.task!r} needs labels {list(contract.labels)}, got {head.labels}")
        if len(head.labels) > limits.max_labels:
            problems.append(f"task {head.task!r}: {len(head.labels)} labels (limit {limits.max_labels})")
        if kind_fits:  # the kind's own rules, once the head is of that kind
            if contract.check_labels is not None:
                problems += [f"task {head.task!r}: {problem}" for problem in contract.check_labels(head.labels)]
            mismatches += head_backbone_problems(head, contract.pools, backbone)


def head_backbone_problems(head: HeadSpec, pools: bool, backbone: BackboneSpec) -> list[str]:
    """What a head needs from the backbone beyond its hidden size (checked at upload, and again
    when a stored adapter is packed for a backbone it was not validated on). ``pools``: the
    head's kind reads one pooled vector per text."""
    if pools and head.pooling is Pooling.POOLER and not backbone.has_pooler:
        return [
            f"task {head.task!r}: the head pools with the backbone's pooler, and {backbone.name} has none; "
            f"set the task's pooling to 'cls' or 'mean' in {MANIFEST_FILE} (the pooling the head was "
            "trained with), or serve it from a backbone with a pooler"
        ]
    return []


def _finalize(files: dict[str, bytes], manifest: Manifest, lora: LoraSettings, targets: list[str]) -> Artifact:
    stored = {k: v for k, v in files.items() if k != MANIFEST_FILE}
    manifest.files = {name: FileRecord(sha256_hex(data), len(data)) for name, data in stored.items()}
    stored[MANIFEST_FILE] = manifest.dumps()
    return Artifact(files=stored, manifest=manifest, lora=lora, target_modules=targets)
