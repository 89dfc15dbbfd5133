"""Plain PEFT adapters of eight encoder families upload as saved and answer as PEFT does.

Per family, a tiny random backbone saved as its public checkpoints are (hub.engine.tiny) and three
adapters made as a tenant makes them (AutoModelFor*Classification + LoraConfig + save_pretrained):
sequence classification with ``target_modules="all-linear"`` (LoRA reaches head layers such as
DeBERTa's pooler.dense and ModernBERT's head.dense), sequence classification with the family's
default targets, and token classification with ``"all-linear"`` (LoRA on ModernBERT's per-token
head), and the sequence adapter once more as a multi-label task. The four are served in ONE mixed
engine batch; every row must be within 1e-4 of PEFT's own probabilities, token spans identical.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import numpy as np
import pytest

from adapters_registry import safetensors_io as st
from adapters_registry.artifact import Artifact, UploadInfo, build_artifact
from adapters_registry.families import family_of
from adapters_registry.manifest import PEFT_WEIGHTS_FILE, BackboneSpec, HeadSpec, LayerType, Manifest
from hub.engine.backbone import Backbone
from hub.engine.engine import Row
from hub.engine.packing import pack_adapter
from hub.engine.runtime import Runtime
from hub.engine.tiny import FAMILIES, save_tiny_family
from hub.errors import IncompatibleAdapter, InvalidArtifact
from hub.tasks.results import HeadScores, decode_bio
from hub.tasks.specs import default_task_registry
from hub.transport.status import status_for
from tests.helpers import make_family_adapter, peft_probabilities, read_dir

SEQ, TOKEN = "generic.sequence_classification", "generic.token_classification"
MULTI = "generic.multi_label_classification"
SEQ_LABELS, TOKEN_LABELS = ("neg", "neu", "pos"), ("O", "B-X", "I-X")
TEXTS = [
    "Aspirin reduced the risk of colorectal cancer.",
    "short",
    "Shares of $TSLA jumped 5% after earnings; the CEO of Tesla Inc. said more.",
]
# PEFT 0.21 cannot put LoRA on a Linear it also saves (modules_to_save matches "classifier" by
# suffix): "all-linear" needs DistilBERT's pre_classifier, and every token model's classifier,
# excluded, or PEFT itself raises.
ALL_LINEAR_EXCLUDE = {("distilbert", "SEQ_CLS"): ["pre_classifier"]}
TOKEN_EXCLUDE = ["classifier"]


@dataclass
class Case:
    name: str
    task_type: str
    task: str
    labels: tuple[str, ...]
    directory: Path
    artifact: Artifact

    @property
    def sigmoid(self) -> bool:
        return self.task == MULTI

    def peft(self, backbone: Path, texts: list[str]) -> list[np.ndarray]:
        return peft_probabilities(backbone, self.directory, self.task_type, len(self.labels), texts, self.sigmoid)


@dataclass
class FamilySetup:
    model_type: str
    directory: Path
    runtime: Runtime
    cases: list[Case]

    @property
    def backbone(self) -> Backbone:
        return self.runtime.backbone

    def case(self, name: str) -> Case:
        return next(c for c in self.cases if c.name == name)


def upload(files: dict[str, bytes], spec: BackboneSpec, task: str, labels: tuple[str, ...]) -> Artifact:
    return build_artifact(files, UploadInfo(task, labels), spec, default_task_registry().contract)


@pytest.fixture(scope="module", params=FAMILIES)
def family(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> FamilySetup:
    model_type = str(request.param)
    root = tmp_path_factory.mktemp(model_type)
    directory = save_tiny_family(root / "backbone", model_type)
    runtime = Runtime.load(str(directory), device="cpu")
    defaults = list(family_of(model_type).peft_targets)  # type: ignore[union-attr]
    cases = []
    kinds = [("seq-all-linear", "SEQ_CLS", "all-linear"), ("seq-default", "SEQ_CLS", defaults)]
    for i, (name, task_type, targets) in enumerate([*kinds, ("token", "TOKEN_CLS", "all-linear")]):
        token = task_type == "TOKEN_CLS"
        labels = TOKEN_LABELS if token else SEQ_LABELS
        exclude = TOKEN_EXCLUDE if task_type == "TOKEN_CLS" else ALL_LINEAR_EXCLUDE.get((model_type, task_type))
        exclude = exclude if targets == "all-linear" else None
        path = make_family_adapter(
            directory, root / name, task_type=task_type, num_labels=len(labels), target_modules=targets,
            seed=i, exclude_modules=exclude,
        )  # fmt: skip
        task = TOKEN if token else SEQ
        cases.append(Case(name, task_type, task, labels, path, upload(read_dir(path), runtime.spec, task, labels)))
    seq = cases[1]  # a SEQ_CLS adapter serves multi-label tasks too: the same head, a sigmoid per label
    multi = upload(read_dir(seq.directory), runtime.spec, MULTI, SEQ_LABELS)
    cases.append(Case("multi-label", "SEQ_CLS", MULTI, SEQ_LABELS, seq.directory, multi))
    return FamilySetup(model_type, directory, runtime, cases)


def test_every_case_uploads_as_saved_and_answers_as_peft_in_one_mixed_batch(
    family: FamilySetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    packed = [pack_adapter(c.name, c.artifact.files, c.artifact.manifest, family.backbone) for c in family.cases]
    rows = [(k, text) for text in TEXTS for k in range(len(family.cases))]
    engine = family.runtime.engine
    monkeypatch.setattr(engine, "split_overhead", 1 << 30)  # no split by length: one forward for all rows
    forwards = engine.forwards
    results = engine.run([Row(text, packed[k], packed[k].heads[family.cases[k].task]) for k, text in rows])
    assert (
        len({id(p) for p in packed}) == 4 and engine.forwards - forwards == 1
    )  # rows of four adapters and their heads, one forward
    expected = {k: c.peft(family.directory, TEXTS) for k, c in enumerate(family.cases)}
    for (k, text), got in zip(rows, results, strict=True):
        want = expected[k][TEXTS.index(text)]
        assert got.probs.shape == want.shape, family.cases[k].name
        np.testing.assert_allclose(got.probs, want, atol=1e-4, err_msg=f"{family.model_type} {family.cases[k].name}")
        assert float(np.abs(want - 1.0 / len(family.cases[k].labels)).max()) > 0.05  # far from uniform
        if family.cases[k].task_type == "TOKEN_CLS":
            head = HeadSpec(TOKEN, family.cases[k].artifact.manifest.tasks[0].head_kind, list(TOKEN_LABELS))
            ours = decode_bio(got, head.labels, text).entities
            theirs = decode_bio(HeadScores(want, got.offsets, got.word_ids), head.labels, text).entities
            assert [(e.label, e.start, e.end) for e in ours] == [(e.label, e.start, e.end) for e in theirs]


def test_head_layers_are_the_family_task_models(family: FamilySetup) -> None:
    """What the manifest records is what the family's task model runs (and what the README says)."""
    layers = {
        c.name: [(x.type, x.function or x.module) for x in c.artifact.manifest.tasks[0].layers] for c in family.cases
    }
    linear, act, norm = LayerType.LINEAR, LayerType.ACTIVATION, LayerType.LAYER_NORM
    sequence = {
        "bert": [],
        "distilbert": [(linear, "pre_classifier"), (act, "relu")],
        "roberta": [(linear, "classifier.dense"), (act, "tanh")],
        "xlm-roberta": [(linear, "classifier.dense"), (act, "tanh")],
        "electra": [(linear, "classifier.dense"), (act, "gelu")],
        "mpnet": [(linear, "classifier.dense"), (act, "tanh")],
        "deberta-v2": [(linear, "pooler.dense"), (act, "gelu")],
        "modernbert": [(linear, "head.dense"), (act, "gelu"), (norm, "head.norm")],
    }[family.model_type]
    assert layers["seq-all-linear"] == layers["seq-default"] == sequence
    assert layers["token"] == (sequence if family.model_type == "modernbert" else [])
    # "all-linear" puts LoRA on the head Linears PEFT does not save; they are applied to the head
    head_lora = {"deberta-v2": {"pooler.dense"}, "modernbert": {"head.dense"}}.get(family.model_type, set())
    for name in ("seq-all-linear", "token"):
        case = family.case(name)
        saved = st.parse(case.artifact.files[PEFT_WEIGHTS_FILE]).tensors
        linears = {x.module for x in case.artifact.manifest.tasks[0].layers if x.type is LayerType.LINEAR}
        on_head = {m for m in linears if f"base_model.model.{m}.lora_A.weight" in saved}
        assert on_head == (head_lora if name == "seq-all-linear" or family.model_type == "modernbert" else set())


def test_a_stored_artifact_with_head_layers_uploads_again_unchanged(family: FamilySetup) -> None:
    contracts = default_task_registry().contract
    for case in family.cases:
        again = build_artifact(dict(case.artifact.files), UploadInfo(), family.backbone.spec, contracts)
        assert again.manifest.to_json() == case.artifact.manifest.to_json()


# ---- what cannot be served as the tenant trained it is refused at upload, saying what to do ----


def without(files: dict[str, bytes], modules: set[str]) -> dict[str, bytes]:
    """The upload as if PEFT had not saved these modules."""
    parsed = st.parse(files[PEFT_WEIGHTS_FILE])
    kept = {
        k: (i.dtype, i.shape, parsed.raw(k))
        for k, i in parsed.tensors.items()
        if k.removeprefix("base_model.model.").rpartition(".")[0] not in modules
    }
    return {**files, PEFT_WEIGHTS_FILE: st.write(kept)}


def with_tensor(files: dict[str, bytes], key: str) -> dict[str, bytes]:
    parsed = st.parse(files[PEFT_WEIGHTS_FILE])
    tensors = {k: (i.dtype, i.shape, parsed.raw(k)) for k, i in parsed.tensors.items()}
    tensors[key] = ("F32", (2,), b"\0" * 8)
    return {**files, PEFT_WEIGHTS_FILE: st.write(tensors)}


def test_a_head_module_saved_nowhere_is_refused_naming_it(family: FamilySetup) -> None:
    """Neither the adapter nor the backbone checkpoint holds it: PEFT itself would load it at random."""
    case = family.case("seq-default")
    bare = replace(family.backbone.spec, checkpoint_tensors={})
    modules = {x.module for x in case.artifact.manifest.tasks[0].layers if x.module}
    files = without(read_dir(case.directory), modules)
    if not modules:  # BERT's head is the classifier on the backbone's pooler: nothing else to miss
        assert upload(files, bare, case.task, case.labels).manifest.tasks[0].layers == ()
        return
    with pytest.raises(IncompatibleAdapter) as caught:
        upload(files, bare, case.task, case.labels)
    assert status_for(caught.value) is grpc.StatusCode.FAILED_PRECONDITION
    for module in modules:
        assert f"runs {module} before its classifier" in caught.value.message
        assert f"modules_to_save=[{module.split('.')[0]!r}]" in caught.value.message


def test_what_peft_did_not_save_comes_from_the_checkpoint_or_the_adapter(family: FamilySetup, tmp_path: Path) -> None:
    """DeBERTa's pooler and ModernBERT's head are not saved by PEFT: served from a checkpoint that
    holds them (above), refused on one that does not, and served from the adapter once saved."""
    case = family.case("seq-all-linear")
    bare = replace(family.backbone.spec, checkpoint_tensors={})
    if not family.backbone.spec.checkpoint_tensors:
        assert upload(read_dir(case.directory), bare, case.task, case.labels).manifest == case.artifact.manifest
        return
    with pytest.raises(IncompatibleAdapter, match="modules_to_save"):
        upload(read_dir(case.directory), bare, case.task, case.labels)
    top = sorted({name.split(".")[0] for name in family.backbone.spec.checkpoint_tensors})
    path = make_family_adapter(
        family.directory, tmp_path / "saved", task_type="SEQ_CLS", num_labels=3,
        target_modules=list(family_of(family.model_type).peft_targets), seed=7, modules_to_save=top,  # type: ignore[union-attr]
    )  # fmt: skip
    artifact = upload(read_dir(path), bare, SEQ, SEQ_LABELS)
    packed = pack_adapter("saved", artifact.files, artifact.manifest, family.backbone)
    got = family.runtime.engine.run([Row(t, packed, packed.heads[SEQ]) for t in TEXTS])
    want = peft_probabilities(family.directory, path, "SEQ_CLS", 3, TEXTS)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.probs, w, atol=1e-4)


def test_an_adapter_of_the_other_task_model_is_refused(family: FamilySetup) -> None:
    token, seq = family.case("token"), family.case("seq-default")
    with pytest.raises(InvalidArtifact, match="train it through AutoModelForSequenceClassification"):
        upload(read_dir(token.directory), family.backbone.spec, SEQ, SEQ_LABELS)
    with pytest.raises(InvalidArtifact, match="train it through AutoModelForTokenClassification"):
        upload(read_dir(seq.directory), family.backbone.spec, TOKEN, TOKEN_LABELS)


def test_every_tensor_is_accounted_for(family: FamilySetup) -> None:
    case, spec = family.case("seq-default"), family.backbone.spec
    files = read_dir(case.directory)
    stray = with_tensor(files, "base_model.model.extra.weight")
    with pytest.raises(InvalidArtifact, match=r"'extra' is not part of \w+ForSequenceClassification's head"):
        upload(stray, spec, case.task, case.labels)
    layer_norm = f"base_model.model.{spec.base_model_prefix}.embeddings.LayerNorm.weight"
    with pytest.raises(InvalidArtifact, match=r"replaces part of the backbone .*adapt it with LoRA"):
        upload(with_tensor(files, layer_norm), spec, case.task, case.labels)


def test_a_family_the_hub_does_not_know_is_refused(family: FamilySetup) -> None:
    case = family.case("token")
    unknown = replace(family.backbone.spec, model_type="fnet")
    with pytest.raises(IncompatibleAdapter, match="'fnet' model, whose task-model heads the hub does not know"):
        upload(read_dir(case.directory), unknown, case.task, case.labels)


# ---- the whole path: push over gRPC, one FanOut across the three adapters ----


def test_pushed_as_saved_and_fanned_out_over_grpc(family: FamilySetup, start_hub) -> None:  # type: ignore[no-untyped-def]
    _, client = start_hub(family.runtime)
    for case in family.cases:
        client.push(case.directory, case.name, task=case.task, labels=list(case.labels))
    text = TEXTS[2]
    answer = client.fan_out(text, [(case.name, "") for case in family.cases])
    for case, result in zip(family.cases, answer, strict=True):
        want = case.peft(family.directory, [text])[0]
        if case.task_type == "SEQ_CLS":
            got = {score.label: score.score for score in result.labels}
            np.testing.assert_allclose([got[label] for label in case.labels], want, atol=1e-4)
            continue
        encoded = family.runtime.encode([text])[0]
        offsets, words = encoded.layout()
        theirs = decode_bio(HeadScores(want, offsets, words), list(case.labels), text).entities
        assert [(e.label, e.start, e.end) for e in result.entities] == [(e.label, e.start, e.end) for e in theirs]


def test_refused_over_grpc_with_its_status(family: FamilySetup, start_hub, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The adapter of the other task model: INVALID_ARGUMENT. A head module saved nowhere (here:
    the checkpoint's head tensors hidden, PEFT's copies removed): FAILED_PRECONDITION. Nothing stored."""
    monkeypatch.setattr(family.backbone, "spec", replace(family.backbone.spec, checkpoint_tensors={}))
    _, client = start_hub(family.runtime)
    token, seq = family.case("token"), family.case("seq-default")
    with pytest.raises(grpc.RpcError) as caught:
        client.push(token.directory, "wrong-model", task=SEQ, labels=list(SEQ_LABELS))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "AutoModelForSequenceClassification" in caught.value.details()
    modules = {x.module for x in seq.artifact.manifest.tasks[0].layers if x.module}
    if modules:  # BERT's head has no module but its classifier
        stripped = tmp_path / "stripped"
        stripped.mkdir()
        for name, data in without(read_dir(seq.directory), modules).items():
            (stripped / name).write_bytes(data)
        with pytest.raises(grpc.RpcError) as caught:
            client.push(stripped, "unreproducible", task=seq.task, labels=list(seq.labels))
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "modules_to_save" in caught.value.details()
    assert len(client.list_adapters()) == 0


def test_the_packaged_backbone_answers_as_peft(packaged_runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The real MiniLM (a BERT): all-linear reaches its pooler, the sequence head reads the pooler."""
    from tests.helpers import packaged_model_dir

    directory = packaged_model_dir()
    cases = [("SEQ_CLS", "all-linear", SEQ, SEQ_LABELS), ("TOKEN_CLS", ["query", "value"], TOKEN, TOKEN_LABELS)]
    packed, rows, expected = [], [], []
    for i, (task_type, targets, task, labels) in enumerate(cases):
        path = make_family_adapter(
            directory, tmp_path / task_type, task_type=task_type, num_labels=3, target_modules=targets, seed=i,
            spread=0.05,
        )  # fmt: skip
        artifact = upload(read_dir(path), packaged_runtime.spec, task, labels)
        packed.append(packaged_runtime.pack(task_type, artifact.files, artifact.manifest))
        expected.append(peft_probabilities(directory, path, task_type, 3, TEXTS))
    rows = [Row(text, packed[k], packed[k].heads[cases[k][2]]) for text in TEXTS for k in range(len(cases))]
    results = packaged_runtime.engine.run(rows)
    for n, got in enumerate(results):
        np.testing.assert_allclose(got.probs, expected[n % len(cases)][n // len(cases)], atol=1e-4)


def test_an_import_stored_without_its_head_layers_is_refused_when_packed(family: FamilySetup) -> None:
    """Stored by a hub that did not know the family's head (ModernBERT's token head was served
    without it): refused with a request to upload again, never served differently."""
    for case in family.cases:
        manifest = Manifest(
            tasks=[replace(head, layers=()) for head in case.artifact.manifest.tasks],
            base_model_fingerprint=case.artifact.manifest.base_model_fingerprint,
        )
        layered = bool(case.artifact.manifest.tasks[0].layers)
        if not layered:
            assert pack_adapter("old", case.artifact.files, manifest, family.backbone).heads
            continue
        with pytest.raises(IncompatibleAdapter, match="upload the adapter again"):
            pack_adapter("old", case.artifact.files, manifest, family.backbone)
