"""`adapter-hub train` / `adapter-hub eval` from the command line (tiny backbone, seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters_registry.safetensors_io import parse
from hub.cli.main import main

pytest.importorskip("hub_medical", reason="the medical plugin is installed by scripts/bootstrap.sh")
pytest.importorskip("hub_finance", reason="the finance plugin is installed by scripts/bootstrap.sh")

FAST = ["--max-steps", "6", "--batch-size", "8", "--rank", "2", "--lr", "5e-3"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_held_out_split_and_half_precision_weights_evaluate_as_recorded(
    tiny_backbone_dir: Path, corpora: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(corpora["fin_train"])
    backbone = ["--backbone", str(tiny_backbone_dir)]
    split = ["--holdout", "0.25", "--holdout-seed", "3"]
    out = str(tmp_path / "fin")
    trained = run(["train", "--task", "finance.sentiment", "--train", data, *split, "-o", out, *backbone, *FAST,
                   "--save-dtype", "float16", "--json"], capsys)  # fmt: skip
    assert trained["servable"] and trained["dev"][0]["examples"] == 12  # a quarter of 48 rows
    evaluated = run(["eval", "--adapter", out, "--task", "finance.sentiment", "--data", data, *split, *backbone,
                     "--json"], capsys)  # fmt: skip
    assert evaluated["examples"] == 12
    assert evaluated["metrics"] == trained["dev"][0]["metrics"]
    weights = parse((tmp_path / "fin" / "adapter_model.safetensors").read_bytes())
    assert {t.dtype for t in weights.tensors.values()} == {"F16"}
    card = (tmp_path / "fin" / "README.md").read_text()
    assert "finance.sentiment" in card and "adapter-hub train --task finance.sentiment" in card
    assert "--holdout 0.25 --holdout-seed 3" in card  # the card's command reproduces the split


def test_each_task_block_takes_the_files_that_follow_it(
    tiny_backbone_dir: Path, corpora: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "multi"
    argv = ["train", "--task", "medical.ner", "--train", str(corpora["ner_train"]), "--dev", str(corpora["ner_dev"]),
            "--task", "finance.sentiment", "--train", str(corpora["fin_train"]),
            "-o", str(out), "--backbone", str(tiny_backbone_dir), *FAST, "--json"]  # fmt: skip
    trained = run(argv, capsys)
    assert [d["task"] for d in trained["dev"]] == ["medical.ner"]  # finance has no dev set here
    manifest = json.loads((out / "hub_adapter.json").read_text())
    assert [t["task"] for t in manifest["tasks"]] == ["medical.ner", "finance.sentiment"]
    assert "--holdout" not in (out / "README.md").read_text()  # no split asked for, none recorded


def test_a_file_option_before_any_task_is_an_error(corpora: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--train", str(corpora["fin_train"]), "--task", "finance.sentiment", "-o", str(tmp_path)])
