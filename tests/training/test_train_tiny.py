"""Tiny training runs on a 2-layer random backbone: seconds each, no server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters_registry.artifact import Artifact, UploadInfo, build_artifact
from adapters_registry.manifest import HEADS_FILE, MANIFEST_FILE, PEFT_WEIGHTS_FILE, BackboneSpec, HeadKind, Pooling
from hub.engine.train.types import Mode, TrainOptions
from hub.plugins.manager import HubPlugins
from hub.training.data import TaskInput
from hub.training.run import TRAINING_DIR, TrainReport, TrainRequest, train
from tests.helpers import read_dir

pytest.importorskip("hub_medical", reason="the medical plugin is installed by scripts/bootstrap.sh")
pytest.importorskip("hub_finance", reason="the finance plugin is installed by scripts/bootstrap.sh")


def tiny(
    plugins: HubPlugins,
    backbone: Path,
    out: Path,
    inputs: list[TaskInput],
    **options: object,
) -> TrainReport:
    settings: dict[str, object] = {"batch_size": 8, "max_steps": 24, "eval_every": 12, "lr": 5e-3, "rank": 4}
    settings.update(options)
    request = TrainRequest(inputs, TrainOptions(backbone=str(backbone), **settings), out)  # type: ignore[arg-type]
    return train(request, plugins.catalog)


def validated(plugins: HubPlugins, directory: Path, spec: BackboneSpec) -> Artifact:
    """The checks an upload runs, against the tasks the plugins offer."""
    return build_artifact(read_dir(directory), UploadInfo(), spec, plugins.catalog.tasks.contract)


def ner_and_finance(corpora: dict[str, Path]) -> list[TaskInput]:
    return [
        TaskInput("medical.ner", corpora["ner_train"], corpora["ner_dev"]),
        TaskInput("finance.sentiment", corpora["fin_train"], corpora["fin_dev"]),
    ]


def test_multi_task_run_loss_falls_and_writes_a_valid_artifact(
    plugins: HubPlugins, tiny_backbone_dir: Path, tiny_runtime, corpora: dict[str, Path], tmp_path: Path
) -> None:
    report = tiny(plugins, tiny_backbone_dir, tmp_path / "out", ner_and_finance(corpora), max_steps=48)
    losses = [s.loss for s in report.outcome.history.steps]
    assert sum(losses[-8:]) / 8 < sum(losses[:8]) / 8, losses
    artifact = validated(plugins, tmp_path / "out", tiny_runtime.spec)
    heads = {h.task: h for h in artifact.manifest.tasks}
    assert heads["medical.ner"].head_kind is HeadKind.TOKEN
    assert heads["finance.sentiment"].labels == ["Bearish", "Bullish", "Neutral"]
    assert heads["finance.sentiment"].pooling is Pooling.MEAN
    metrics = artifact.manifest.metrics
    assert set(metrics["dev"]) == {"medical.ner", "finance.sentiment"}
    assert metrics["training"]["trainable_parameters"] == report.outcome.trainable_parameters
    assert {p.name for p in (tmp_path / "out" / TRAINING_DIR).iterdir()} >= {"curves.png", "history.json"}
    assert (tmp_path / "out" / TRAINING_DIR / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_same_seed_same_weights_other_seed_other_weights(
    plugins: HubPlugins, tiny_backbone_dir: Path, corpora: dict[str, Path], tmp_path: Path
) -> None:
    inputs = ner_and_finance(corpora)
    runs = [tiny(plugins, tiny_backbone_dir, tmp_path / name, inputs, seed=seed) for name, seed in
            (("a", 7), ("b", 7), ("c", 8))]  # fmt: skip
    files = [read_dir(r.output) for r in runs]
    for name in (PEFT_WEIGHTS_FILE, HEADS_FILE):
        assert files[0][name] == files[1][name], name
        assert files[0][name] != files[2][name], name
    assert runs[0].outcome.history.steps == runs[1].outcome.history.steps


def test_early_stopping_keeps_the_best_evaluation(
    plugins: HubPlugins, tiny_backbone_dir: Path, corpora: dict[str, Path], tmp_path: Path
) -> None:
    inputs = [TaskInput("finance.sentiment", corpora["fin_train"], corpora["fin_dev"])]
    report = tiny(plugins, tiny_backbone_dir, tmp_path / "out", inputs, lr=0.0, eval_every=2, patience=2, max_steps=40)
    # nothing learns at lr 0: the first evaluation stays the best and two more end the run
    assert report.outcome.stopped_early
    assert [e.step for e in report.outcome.history.evals] == [2, 4, 6]
    assert report.outcome.best is not None and report.outcome.best.step == 2


def test_head_only_baseline_serves_with_a_zero_update(
    plugins: HubPlugins, tiny_backbone_dir: Path, tiny_runtime, corpora: dict[str, Path], tmp_path: Path
) -> None:
    import torch
    from safetensors.torch import load

    inputs = [TaskInput("finance.sentiment", corpora["fin_train"], corpora["fin_dev"])]
    report = tiny(plugins, tiny_backbone_dir, tmp_path / "out", inputs, mode=Mode.HEAD_ONLY)
    assert report.servable
    assert report.outcome.trainable_parameters == 3 * 32 + 3  # one Linear(hidden 32 -> 3 labels)
    lora = load((tmp_path / "out" / PEFT_WEIGHTS_FILE).read_bytes())
    assert all(torch.count_nonzero(t) == 0 for k, t in lora.items() if "lora_B" in k)
    validated(plugins, tmp_path / "out", tiny_runtime.spec)


def test_full_finetune_baseline_reports_but_writes_no_adapter(
    plugins: HubPlugins, tiny_backbone_dir: Path, corpora: dict[str, Path], tmp_path: Path
) -> None:
    inputs = [TaskInput("finance.sentiment", corpora["fin_train"], corpora["fin_dev"])]
    report = tiny(plugins, tiny_backbone_dir, tmp_path / "out", inputs, mode=Mode.FULL, lr=1e-3)
    assert not report.servable
    assert report.outcome.trainable_parameters == report.outcome.backbone_parameters + 3 * 32 + 3
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert names == {"README.md", TRAINING_DIR}
    summary = json.loads((tmp_path / "out" / TRAINING_DIR / "summary.json").read_text())
    assert summary["training"]["mode"] == "full"
    assert "finance.sentiment" in summary["dev"]


def test_output_directory_is_not_overwritten_by_accident(
    plugins: HubPlugins, tiny_backbone_dir: Path, corpora: dict[str, Path], tmp_path: Path
) -> None:
    from hub.errors import InvalidArgument

    inputs = [TaskInput("finance.sentiment", corpora["fin_train"], corpora["fin_dev"])]
    tiny(plugins, tiny_backbone_dir, tmp_path / "out", inputs, max_steps=2)
    with pytest.raises(InvalidArgument, match="--overwrite"):
        tiny(plugins, tiny_backbone_dir, tmp_path / "out", inputs, max_steps=2)
    assert (tmp_path / "out" / MANIFEST_FILE).is_file()
