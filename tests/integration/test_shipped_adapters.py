"""The adapters shipped in examples/adapters/ on a real server with the packaged backbone: each
uploads as it is, answers the README quickstart's questions as shown there, and `adapter-hub
eval` through the server reproduces the dev metrics its card records (needs ../shared/data)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from hub.cli.main import main
from tests.training.corpora import DATA

pytestmark = pytest.mark.integration
SHIPPED = Path(__file__).resolve().parents[2] / "examples" / "adapters"
for plugin in ("hub_medical", "hub_finance", "hub_legal"):
    pytest.importorskip(plugin, reason="the domain plugins are installed by scripts/bootstrap.sh")


@dataclass(frozen=True)
class Shipped:
    directory: str
    task: str
    dev: str  # under ../shared/data
    holdout: float  # 0: dev is its own file
    texts: tuple[str, ...]  # the README quickstart's examples
    expected: tuple[tuple[str, ...], ...]  # predicted labels, or entity texts, per text


SHIPPED_ADAPTERS = (
    Shipped(
        "finance-tweet-sentiment",
        "finance.sentiment",
        "finance/twitter-financial-news-sentiment/train.csv",
        0.2,
        (
            "Shares of $ACME plunge 12% after the company cuts its full-year guidance",
            "Chipmaker beats estimates, raises dividend; stock jumps 8% premarket",
        ),
        (("Bearish",), ("Bullish",)),
    ),
    Shipped(
        "ncbi-disease-ner",
        "medical.ner",
        "medical/ncbi-disease/devel.tsv",
        0.0,
        ("The patient developed acute renal failure and hypertension after cisplatin therapy.",),
        (("acute renal failure", "hypertension"),),
    ),
    Shipped(
        "unfair-tos",
        "legal.unfair_clause",
        "legal/unfair-tos/train.tsv",
        0.2,
        (
            "By using the service you agree to these terms. We may remove any content at our sole discretion. "
            "These terms are governed by the laws of the State of California. We are not liable for any "
            "indirect or consequential damages.",
            "Any dispute arising from these terms shall be resolved by binding arbitration in San Francisco.",
            "We use cookies to remember your preferences.",
        ),
        (("contract_by_using", "limitation_of_liability", "content_removal", "choice_of_law"), ("arbitration",), ()),
    ),
)
IDS = [s.directory for s in SHIPPED_ADAPTERS]


def cli_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> object:
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def serve(shipped: Shipped, start_hub, packaged_runtime) -> str:  # type: ignore[no-untyped-def]
    """A real server on the packaged backbone with the shipped directory pushed as it is."""
    server, client = start_hub(packaged_runtime)
    client.push(SHIPPED / shipped.directory, shipped.directory)
    return f"127.0.0.1:{server.port}"


@pytest.mark.parametrize("shipped", SHIPPED_ADAPTERS, ids=IDS)
def test_shipped_adapter_answers_the_quickstart_questions(
    shipped: Shipped, start_hub, packaged_runtime, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    target = serve(shipped, start_hub, packaged_runtime)
    argv = ["predict", "--adapter", shipped.directory, "--target", target, *shipped.texts]
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    predictions = [json.loads(line) for line in capsys.readouterr().out.splitlines()]  # JSON Lines
    assert len(predictions) == len(shipped.texts)
    for prediction, expected in zip(predictions, shipped.expected, strict=True):
        if "entities" in prediction:
            assert tuple(e["text"] for e in prediction["entities"]) == expected
        else:
            assert set(prediction["predicted"]) == set(expected)


@pytest.mark.skipif(not DATA.is_dir(), reason=f"the real corpora are not in {DATA} (see its README)")
@pytest.mark.parametrize("shipped", SHIPPED_ADAPTERS, ids=IDS)
def test_eval_through_the_server_reproduces_the_metrics_card(
    shipped: Shipped, start_hub, packaged_runtime, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    target = serve(shipped, start_hub, packaged_runtime)
    argv = ["eval", "--adapter", shipped.directory, "--task", shipped.task, "--data", str(DATA / shipped.dev)]
    argv += ["--target", target, *(["--holdout", str(shipped.holdout)] if shipped.holdout else [])]
    evaluated = cli_json(argv, capsys)
    assert isinstance(evaluated, dict) and evaluated["source"].startswith("server")
    summary = json.loads((SHIPPED / shipped.directory / "training" / "summary.json").read_text())
    assert evaluated["examples"] == summary["dev_examples"][shipped.task]
    recorded = summary["dev"][shipped.task]
    assert evaluated["metrics"] == pytest.approx(recorded, abs=2e-6)  # the card rounds to 6 places
