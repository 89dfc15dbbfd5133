"""A support-domain plugin, written only through the documented ``hub.plugin_api``
(tests/plugins/support_plugin): chat transcripts split into turns, one intent per customer turn
with the agent's turns as context, e-mail addresses, phone numbers and order numbers masked,
a CSV reader. It is installed like the other test plugins (a distribution on sys.path), passes
the conformance kit, is trained with `adapter-hub train` on a tiny CSV, and a real hub answers
its customer turns only."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.cli.main import main
from hub.plugin_api import AnsweredSegment, LabelScore, Prediction, Segment
from hub.testing.conformance import PluginConformance, load_plugin
from tests.plugins.distributions import SitePackages

PLUGIN = Path(__file__).parent / "support_plugin"
DATA = PLUGIN / "data" / "intents.csv"
LABELS = ["order_status", "refund", "account", "thanks"]
CHAT = (
    "Customer: Hi, where is my order #48213?\n"
    "Agent: Let me check. Can I have your e-mail?\n"
    "Customer: jane.doe@example.com, or call +44 20 7946 0958\n"
    "Agent: Thanks! It ships today.\n"
    "Customer: Thanks a lot!"
)
CUSTOMER_TURNS = ["Hi, where is my order #48213?", "jane.doe@example.com, or call +44 20 7946 0958", "Thanks a lot!"]
FAST = ["--max-steps", "6", "--batch-size", "8", "--rank", "2", "--lr", "5e-3"]


@pytest.fixture(scope="module", autouse=True)
def support_installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The plugin's distribution on sys.path for this module, as pip would leave it."""
    root = tmp_path_factory.mktemp("support-site")
    SitePackages(root).install_package("hub-support-chat", "support", PLUGIN / "hub_support_chat", version="0.1.0")
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    try:
        yield root
    finally:
        sys.path.remove(str(root))
        sys.modules.pop("hub_support_chat", None)
        importlib.invalidate_caches()


class TestSupportConformance(PluginConformance):
    plugin_name = "support"
    sample_texts = (
        CHAT,
        "Where is my order #48213? Write to jane.doe@example.com",
        "Agent: a transcript where only the agent speaks",
        "   customer:   my phone is 030 1234567, order AB1234567   ",
    )
    reader_files = {"support.csv": DATA}


def test_customer_turns_are_answered_and_agent_turns_are_context() -> None:
    plugins = load_plugin("support")
    segments = plugins.catalog.segmenters["support.turns"].split(CHAT)
    assert all(isinstance(s, Segment) for s in segments)
    answered = [(CHAT[s.start : s.end], s.kind) for s in segments if not s.context]
    assert answered == [(turn, "customer") for turn in CUSTOMER_TURNS]
    context = {CHAT[s.start : s.end] for s in segments if s.context}
    assert {"Customer:", "Agent:", "Thanks! It ships today."} <= context
    pieces = plugins.tasks.pipeline("support.intent").prepare(CHAT).pieces
    assert [p.text for p in pieces] == ["Hi, where is my order [ORDER]?", "[EMAIL], or call [PHONE]", "Thanks a lot!"]


def test_the_postprocessor_sees_the_turn_it_answers() -> None:
    pipeline = load_plugin("support").tasks.pipeline("support.intent")
    thanks = Prediction(labels=[LabelScore("thanks", 0.6), LabelScore("refund", 0.3)], predicted=["thanks"])
    question = AnsweredSegment(0, 11, "Any update?", "customer")
    assert pipeline.postprocess(thanks, "Any update?", question).predicted == ["refund"]
    statement = AnsweredSegment(0, 7, "Thanks!", "customer")
    assert pipeline.postprocess(thanks, "Thanks!", statement).predicted == ["thanks"]


@pytest.mark.integration
def test_trained_with_the_cli_then_a_real_hub_answers_customer_turns_only(
    tiny_backbone_dir: Path, tiny_runtime, start_hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    trained_dir = tmp_path / "intent"
    capsys.readouterr()
    argv = ["train", "--task", "support.intent", "--train", str(DATA), "-o", str(trained_dir),
            "--backbone", str(tiny_backbone_dir), *FAST, "--json"]  # fmt: skip
    assert main(argv) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["servable"]
    assert json.loads((trained_dir / "hub_adapter.json").read_text())["tasks"][0]["labels"] == LABELS

    server, client = start_hub(tiny_runtime)
    assert "support.intent" in {t.name for t in client.list_tasks()}
    client.push(trained_dir, "intent")
    only_agent = "Agent: Hello, how can I help?"
    chat, agent = client.predict("intent", [CHAT, only_agent])
    assert [(s.text, s.kind) for s in chat.segments] == [(turn, "customer") for turn in CUSTOMER_TURNS]
    assert all(CHAT[s.start : s.end] == s.text for s in chat.segments)
    assert all(len(s.predicted) == 1 and s.predicted[0] in LABELS for s in chat.segments)
    assert set(chat.predicted) == {s.predicted[0] for s in chat.segments}
    assert (agent.segments, agent.predicted, agent.labels) == ([], [], [])  # nothing to answer

    target = ["--target", f"127.0.0.1:{server.port}"]
    capsys.readouterr()
    assert main(["predict", "--adapter", "intent", "--json", *target, CHAT, only_agent]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2  # JSON Lines: one object per text
    shown = json.loads(lines[0])
    assert [(s["kind"], s["text"]) for s in shown["segments"]] == [("customer", t) for t in CUSTOMER_TURNS]
    assert json.loads(lines[1])["predicted"] == []

    # | head -1: the reader goes away before the answers are printed
    command = [sys.executable, "-m", "hub.cli.main", "predict", "--adapter", "intent", "--json", *target, CHAT]
    reader = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.close()
    errors = reader.stderr.read().decode()
    assert reader.wait(timeout=120) in (0, 141) and "Traceback" not in errors and "BrokenPipe" not in errors, errors


@pytest.mark.integration
def test_training_data_without_a_label_trains_with_a_warning_and_the_card_marks_it(
    tiny_backbone_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "no-thanks.csv"
    rows = DATA.read_text().splitlines()
    data.write_text("\n".join(row for row in rows if not row.endswith(",thanks")) + "\n")
    out = tmp_path / "intent"
    capsys.readouterr()
    argv = ["train", "--task", "support.intent", "--train", str(data), "-o", str(out),
            "--backbone", str(tiny_backbone_dir), *FAST, "--json"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr()
    warning = (
        f"task 'support.intent': labels ['thanks'] have no example in {data}: the head never learns them "
        "(add examples of them, or train on data that has them)"
    )
    assert f"warning: {warning}\n" in printed.err
    assert json.loads(printed.out)["warnings"] == [warning]
    card = (out / "README.md").read_text()
    assert "| order_status, refund, account, thanks (no examples) |" in card
    assert "- `support.intent`: thanks" in card
    summary = json.loads((out / "training" / "summary.json").read_text())
    assert summary["labels_without_examples"] == {"support.intent": ["thanks"]}
