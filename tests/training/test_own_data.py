"""Tenants' own data and their backbone's family: `adapter-hub train` on CSV and CoNLL files for
the generic tasks, heads built as the family's task models build them, evaluated as served;
every user error is one `error: ...` line and exit status 2."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from hub.cli.main import main
from hub.engine.tiny import save_tiny_family

FAST = ["--max-steps", "6", "--batch-size", "8", "--rank", "2", "--lr", "5e-3", "--json", "--no-progress"]
WORDS = ["rates", "markets", "growth", "losses", "quiet", "strong", "weak", "shares", "bonds", "profit"]


def write_csv(path: Path, rows: int, seed: int) -> Path:
    rng = random.Random(seed)
    lines = ["id,review,sentiment"]
    for i in range(rows):
        label = rng.choice(["pos", "neg"])
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9)))
        lines.append(f'{i},"{words}, {"good" if label == "pos" else "bad"}",{label}')
    path.write_text("\n".join(lines) + "\n")
    return path


def write_conll(path: Path, sentences: int, seed: int) -> Path:
    rng = random.Random(seed)
    blocks = []
    for _ in range(sentences):
        lines = [f"{rng.choice(WORDS)}\tO" for _ in range(rng.randint(2, 5))]
        lines.insert(rng.randint(0, len(lines)), "BRCA1\tB-Gene")
        blocks.append("\n".join(lines))
    path.write_text("\n\n".join(blocks) + "\n")
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    assert main(argv) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("model_type", "task", "suffix", "layers"),
    [
        ("roberta", "generic.sequence_classification", ".csv", ["linear", "activation"]),
        ("modernbert", "generic.token_classification", ".conll", ["linear", "activation", "layer_norm"]),
    ],
)
def test_own_files_train_a_family_head_that_evaluates_as_served(
    model_type: str, task: str, suffix: str, layers: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backbone = save_tiny_family(tmp_path / "backbone", model_type)
    token = suffix == ".conll"
    write = write_conll if token else write_csv
    train, dev = write(tmp_path / f"train{suffix}", 24, 1), write(tmp_path / f"dev{suffix}", 12, 2)
    columns = [] if token else ["--text-column", "review", "--label-column", "sentiment"]
    out = tmp_path / "adapter"
    trained = run(["train", "--task", task, "--train", str(train), "--dev", str(dev), *columns, "-o", str(out),
                   "--backbone", str(backbone), "--head-layers", "family", *FAST], capsys)  # fmt: skip
    manifest = json.loads((out / "hub_adapter.json").read_text())
    head = manifest["tasks"][0]
    assert [layer["type"] for layer in head["layers"]] == layers
    config = json.loads((out / "adapter_config.json").read_text())
    expected_targets = {"query", "key", "value", "dense"} if model_type == "roberta" else {"Wqkv", "Wo", "Wi"}
    assert set(config["target_modules"]) == expected_targets  # the family's own Linear names
    assert "--text-column review" in (out / "README.md").read_text() or token
    evaluated = run(["eval", "--adapter", str(out), "--task", task, "--data", str(dev), *columns,
                     "--backbone", str(backbone), "--json"], capsys)  # fmt: skip
    assert evaluated["metrics"] == trained["dev"][0]["metrics"]


@pytest.fixture
def data(tmp_path: Path) -> dict[str, Path]:
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nfine,a\nno label\n")
    return {"good": write_csv(tmp_path / "good.csv", 8, 1), "bad": bad, "xlsx": bad.with_suffix(".xlsx")}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--task", "nope.task", "--train", "{good}"], "error: task 'nope.task' is not offered"),
        (["--task", "generic.sequence_classification", "--train", "{missing}"], "missing.csv: no such file"),
        (["--task", "generic.sequence_classification", "--train", "{bad}"], "bad.csv:3: 1 fields, the header has 2"),
        (["--task", "generic.sequence_classification", "--train", "{xlsx}"], "is not a format the hub reads"),
        (["--task", "generic.sequence_classification", "--train", "{good}", "--reader", "x.y"], "no reader 'x.y'"),
        (
            ["--task", "generic.sequence_classification", "--train", "{good}", "--head-layers", "linaer"],
            "--head-layers: 'linaer' is not a layer",
        ),
        (
            ["--task", "generic.sequence_classification", "--train", "{good}", "--text-column", "body"],
            "good.csv:1: no column 'body'",
        ),
    ],
)
def test_a_user_error_is_one_line_and_status_2(
    argv: list[str], message: str, data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = {**{k: str(v) for k, v in data.items()}, "missing": str(tmp_path / "missing.csv")}
    capsys.readouterr()
    code = main(["train", *[a.format(**paths) for a in argv], "-o", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and message in err, err
    assert "Traceback" not in err


def test_eval_reports_a_malformed_file_the_same_way(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    code = main(["eval", "--adapter", str(tmp_path), "--task", "generic.sequence_classification",
                 "--data", str(data["bad"])])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "bad.csv:3: 1 fields" in err, err


def test_head_layer_lists_name_their_layers() -> None:
    from adapters_registry.manifest import LayerType
    from hub.engine.train.types import parse_head_layers

    layers = parse_head_layers("linear, tanh, layer_norm, linear")
    assert isinstance(layers, tuple)
    assert [(x.type, x.name or x.function) for x in layers] == [
        (LayerType.LINEAR, "dense"),
        (LayerType.ACTIVATION, "tanh"),
        (LayerType.LAYER_NORM, "norm"),
        (LayerType.LINEAR, "dense_2"),
    ]
    assert parse_head_layers("family") == "family" and parse_head_layers("") == ""


def test_an_unwritable_output_is_an_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    csv = write_csv(tmp_path / "good.csv", 8, 1)
    capsys.readouterr()
    code = main(["train", "--task", "generic.sequence_classification", "--train", str(csv),
                 "-o", str(blocker / "out"), "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err, err
