"""A trained artifact through the real gRPC server: it uploads, serves its tasks by name, and
`adapter-hub eval` gives the same numbers in-process, through the server, and as recorded by
training. Tiny runs on the packaged MiniLM (seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.cli.main import main
from hub.config.settings import Settings
from hub.engine.train.types import TrainOptions
from hub.plugins.manager import HubPlugins
from hub.training.data import TaskInput
from hub.training.inprocess import EVAL_NAME, adapter_files, local_service
from hub.training.run import TrainRequest, train
from tests.helpers import PACKAGED_BACKBONE
from tests.training.corpora import DATA

pytestmark = pytest.mark.integration
pytest.importorskip("hub_medical", reason="the medical plugin is installed by scripts/bootstrap.sh")
pytest.importorskip("hub_finance", reason="the finance plugin is installed by scripts/bootstrap.sh")

TEXTS = {
    "medical.ner": [
        "Mutations in the BRCA1 gene cause hereditary breast cancer .",
        "Risk of type 2 diabetes rose with obesity .",
    ],
    "finance.sentiment": [
        "$TSLA shares jump after strong earnings https://t.co/abc",
        "$XOM stock falls on downgrade",
    ],
}


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def trained(plugins: HubPlugins, tmp_path_factory: pytest.TempPathFactory, corpora: dict[str, Path]) -> Path:
    out = tmp_path_factory.mktemp("trained") / "adapter"
    inputs = [
        TaskInput("medical.ner", corpora["ner_train"], corpora["ner_dev"]),
        TaskInput("finance.sentiment", corpora["fin_train"], corpora["fin_dev"]),
    ]
    options = TrainOptions(backbone=PACKAGED_BACKBONE, max_steps=16, eval_every=16, batch_size=8, lr=3e-3)
    train(TrainRequest(inputs, options, out), plugins.catalog)
    return out


def test_server_predictions_equal_in_process_predictions(
    trained: Path, plugins: HubPlugins, start_hub, packaged_runtime
) -> None:
    server, client = start_hub(packaged_runtime)
    client.push(trained, "trained")
    # float32 as the server's runtime: the default dtype `auto` is bfloat16 on a bf16 CPU
    settings = Settings.from_env(environ={}, backbone=PACKAGED_BACKBONE, device="cpu", dtype="float32")
    service = local_service(plugins, settings)
    from hub.serving.auth import LOCAL_TENANT, Caller
    from hub.serving.service import Target
    from hub.serving.upload import UploadHeader

    caller = Caller(LOCAL_TENANT, admin=True)
    service.upload(caller, UploadHeader(EVAL_NAME), adapter_files(trained))
    for task, texts in TEXTS.items():  # one adapter, two heads: the request names the task
        remote = client.predict("trained", texts, task=task)
        local = service.predict(caller, Target(EVAL_NAME, task=task), texts).predictions
        assert remote[0].task == task
        for r, p in zip(remote, local, strict=True):
            assert list(r.predicted) == p.predicted
            assert [(x.label, round(x.score, 5)) for x in r.labels] == [(x.label, round(x.score, 5)) for x in p.labels]
            assert [(e.label, e.start, e.end) for e in r.entities] == [(e.label, e.start, e.end) for e in p.entities]


def test_eval_gives_the_same_numbers_in_process_through_the_server_and_in_training(
    trained: Path, corpora: dict[str, Path], start_hub, packaged_runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    server, client = start_hub(packaged_runtime)
    client.push(trained, "served")
    recorded = json.loads((trained / "hub_adapter.json").read_text())["metrics"]["dev"]
    for task, data in (("medical.ner", corpora["ner_dev"]), ("finance.sentiment", corpora["fin_dev"])):
        common = ["--task", task, "--data", str(data), "--json"]
        local = run_cli(["eval", "--adapter", str(trained), "--backbone", PACKAGED_BACKBONE, *common], capsys)
        remote = run_cli(["eval", "--adapter", "served", "--target", f"127.0.0.1:{server.port}", *common], capsys)
        assert local["source"] == "in-process" and remote["source"].startswith("server")
        assert local["metrics"] == remote["metrics"]
        assert local["metrics"] == recorded[task]
        assert local["examples"] == (16 if task == "medical.ner" else 24)


@pytest.mark.skipif(not DATA.is_dir(), reason=f"the real corpora are not in {DATA} (see its README)")
def test_tiny_run_on_the_real_corpora_learns(plugins: HubPlugins, tmp_path: Path) -> None:
    inputs = [
        TaskInput("medical.ner", DATA / "medical/ncbi-disease/train.tsv"),
        TaskInput("finance.sentiment", DATA / "finance/twitter-financial-news-sentiment/train.csv"),
    ]
    options = TrainOptions(backbone=PACKAGED_BACKBONE, max_steps=24, batch_size=16, lr=2e-3)
    report = train(TrainRequest(inputs, options, tmp_path / "out"), plugins.catalog)
    losses = [s.loss for s in report.outcome.history.steps]
    assert sum(losses[-6:]) / 6 < sum(losses[:6]) / 6, losses
    assert report.servable


def test_rare_multi_label_categories_are_learned_not_collapsed(
    plugins: HubPlugins, corpora: dict[str, Path], tmp_path: Path
) -> None:
    """Regression: with heads starting at zero bias, the shared 'every label is rare' gradient
    collapsed the LoRA-adapted features to one point and nothing was ever predicted."""
    pytest.importorskip("hub_legal", reason="the legal plugin is installed by scripts/bootstrap.sh")
    inputs = [TaskInput("legal.unfair_clause", corpora["tos"])]
    options = TrainOptions(backbone=PACKAGED_BACKBONE, max_steps=40, eval_every=40, batch_size=16, lr=2e-3)
    report = train(TrainRequest(inputs, options, tmp_path / "tos", holdout=0.3), plugins.catalog)
    assert report.evaluations[0].metrics["micro_f1"] > 0.5, report.evaluations[0].metrics
