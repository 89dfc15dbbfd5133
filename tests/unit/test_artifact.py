"""Upload validation: plain PEFT directories become artifacts; every problem is reported at once."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from adapters_registry import safetensors_io as st
from adapters_registry.artifact import ArtifactLimits, UploadInfo, build_artifact
from adapters_registry.manifest import HEADS_FILE, MANIFEST_FILE, HeadKind
from hub.errors import IncompatibleAdapter, InvalidArtifact
from hub.tasks.specs import default_task_registry
from tests.helpers import make_peft_adapter, read_dir

SEQ = "generic.sequence_classification"
TOKEN = "generic.token_classification"


@pytest.fixture(scope="module")
def spec(tiny_runtime):  # type: ignore[no-untyped-def]
    return tiny_runtime.spec


@pytest.fixture(scope="module")
def seq_dir(tiny_backbone_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("seq")
    return make_peft_adapter(tiny_backbone_dir, out, task_type="SEQ_CLS", num_labels=3, rank=4, seed=1)


def build(files: dict[str, bytes], spec, task: str = SEQ, labels=("a", "b", "c"), limits=None):  # type: ignore[no-untyped-def]
    return build_artifact(files, UploadInfo(task, tuple(labels)), spec, default_task_registry().contract, limits)


def test_plain_peft_directory_becomes_an_artifact(seq_dir: Path, spec) -> None:  # type: ignore[no-untyped-def]
    artifact = build(read_dir(seq_dir), spec)
    head = artifact.manifest.tasks[0]
    assert (head.task, head.head_kind, head.labels) == (SEQ, HeadKind.SEQUENCE, ["a", "b", "c"])
    assert artifact.manifest.base_model_fingerprint == spec.fingerprint
    heads = st.parse(artifact.files[HEADS_FILE])
    assert heads.tensors[f"{SEQ}.weight"].shape == (3, spec.hidden_size)
    stored = json.loads(artifact.files[MANIFEST_FILE])
    assert set(stored["files"]) == set(artifact.files) - {MANIFEST_FILE}
    assert artifact.lora.rank == 4 and "encoder.layer.0.attention.self.query" in artifact.target_modules


def test_a_stored_artifact_uploads_again_unchanged(seq_dir: Path, spec) -> None:  # type: ignore[no-untyped-def]
    first = build(read_dir(seq_dir), spec)
    again = build(dict(first.files), spec, task="", labels=())
    assert again.manifest.to_json() == first.manifest.to_json()


def test_plain_peft_needs_task_and_labels(seq_dir: Path, spec) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidArtifact, match="give --task and --labels"):
        build(read_dir(seq_dir), spec, task="", labels=())


def test_every_problem_is_reported_at_once(seq_dir: Path, spec) -> None:  # type: ignore[no-untyped-def]
    files = read_dir(seq_dir)
    files["model.bin"] = b"\x80\x02pickle"
    files["../escape.json"] = b"{}"
    files["notes.txt"] = b"hi"
    with pytest.raises(InvalidArtifact) as caught:
        build(files, spec)
    text = "\n".join(caught.value.problems)
    assert "pickle files are refused" in text
    assert "path traversal" in text
    assert "unexpected file" in text
    assert len(caught.value.problems) == 3


def test_label_count_must_match_the_classifier(seq_dir: Path, spec) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidArtifact, match="has 2 labels"):
        build(read_dir(seq_dir), spec, labels=("a", "b"))


def test_unknown_task_and_bad_config_are_both_reported(seq_dir: Path, spec) -> None:  # type: ignore[no-untyped-def]
    files = read_dir(seq_dir)
    config = json.loads(files["adapter_config.json"])
    config.update(use_dora=True, r=500)
    files["adapter_config.json"] = json.dumps(config).encode()
    with pytest.raises(InvalidArtifact) as caught:
        build(files, spec, task="nope.task")
    text = "\n".join(caught.value.problems)
    assert "use_dora" in text and "r must be an integer" in text


def test_pickle_disguised_as_safetensors_is_refused(seq_dir: Path, spec) -> None:  # type: ignore[no-untyped-def]
    files = read_dir(seq_dir)
    files["adapter_model.safetensors"] = b"\x80\x04\x95" + b"\0" * 64
    with pytest.raises(InvalidArtifact, match="pickle"):
        build(files, spec)


def test_nan_weights_are_refused(seq_dir: Path, spec) -> None:  # type: ignore[no-untyped-def]
    files = read_dir(seq_dir)
    parsed = st.parse(files["adapter_model.safetensors"])
    tensors = {k: (i.dtype, i.shape, parsed.raw(k)) for k, i in parsed.tensors.items()}
    name = next(k for k in tensors if "lora_A" in k)
    values = parsed.as_float32(name).copy()
    values.flat[0] = np.nan
    tensors[name] = ("F32", values.shape, values.astype("<f4").tobytes())
    files["adapter_model.safetensors"] = st.write(tensors)
    with pytest.raises(InvalidArtifact, match="NaN or Inf"):
        build(files, spec)


def test_rank_above_the_cap_is_refused(seq_dir: Path, spec) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidArtifact, match="from 1 to 2"):
        build(read_dir(seq_dir), spec, limits=ArtifactLimits(max_rank=2))


def test_other_backbone_is_a_failed_precondition(seq_dir: Path, spec) -> None:  # type: ignore[no-untyped-def]
    other = replace(spec, fingerprint="sha256:" + "0" * 64)
    artifact = build(read_dir(seq_dir), spec)
    with pytest.raises(IncompatibleAdapter, match="trained on backbone"):
        build(dict(artifact.files), other, task="", labels=())
    smaller = replace(spec, linear_modules={k: (v[0] * 2, v[1]) for k, v in spec.linear_modules.items()})
    with pytest.raises(IncompatibleAdapter, match="the backbone module maps"):
        build(read_dir(seq_dir), smaller)


def test_token_labels_must_be_bio(tiny_backbone_dir: Path, tmp_path: Path, spec) -> None:  # type: ignore[no-untyped-def]
    path = make_peft_adapter(tiny_backbone_dir, tmp_path, task_type="TOKEN_CLS", num_labels=3, rank=2, seed=3)
    with pytest.raises(InvalidArtifact, match="O, B-X or I-X"):
        build(read_dir(path), spec, task=TOKEN, labels=("O", "Disease", "X"))
    artifact = build(read_dir(path), spec, task=TOKEN, labels=("O", "B-Disease", "I-Disease"))
    assert artifact.manifest.tasks[0].head_kind is HeadKind.TOKEN


def test_disallowed_dtypes_and_binary_model_cards_are_refused(seq_dir: Path, spec) -> None:  # type: ignore[no-untyped-def]
    files = read_dir(seq_dir)
    parsed = st.parse(files["adapter_model.safetensors"])
    tensors = {k: (i.dtype, i.shape, parsed.raw(k)) for k, i in parsed.tensors.items()}
    tensors["base_model.model.extra.lora_A.weight"] = ("I8", (2,), b"\x01\x02")
    files["adapter_model.safetensors"] = st.write(tensors)
    files["README.md"] = b"\x00\xff binary"
    with pytest.raises(InvalidArtifact) as caught:
        build(files, spec)
    text = "\n".join(caught.value.problems)
    assert "dtypes ['I8'] not allowed" in text and "README.md: must be UTF-8 text" in text


def test_oversized_safetensors_header_is_refused(seq_dir: Path, spec) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidArtifact, match="exceeds the cap"):
        build(read_dir(seq_dir), spec, limits=ArtifactLimits(max_header_bytes=64))


def test_upload_over_the_total_size_limit_is_refused(seq_dir: Path, spec) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidArtifact, match="the limit is 1000"):
        build(read_dir(seq_dir), spec, limits=ArtifactLimits(max_total_bytes=1000))


def test_a_manifest_without_fingerprint_gets_it_recorded(seq_dir: Path, spec) -> None:  # type: ignore[no-untyped-def]
    files = dict(build(read_dir(seq_dir), spec).files)
    manifest = json.loads(files[MANIFEST_FILE])
    manifest["base_model"] = {}
    files[MANIFEST_FILE] = json.dumps(manifest).encode()
    assert build(files, spec, task="", labels=()).manifest.base_model_fingerprint == spec.fingerprint
