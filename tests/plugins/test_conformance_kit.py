"""The conformance kit finds what breaks in production: clashes with installed plugins, offset
and determinism bugs on texts the author's samples lack, and it lists every problem it finds."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

from hub.plugin_api import (
    EntitySpan,
    HeadKind,
    Metric,
    OffsetMap,
    Prediction,
    Preprocessed,
    Preprocessor,
    Reader,
    Segmenter,
    Span,
    TaskSpec,
    TextExample,
    TokenExample,
    hookimpl,
    replace_patterns,
)
from hub.testing.conformance import PluginConformance, load_plugin
from tests.plugins.distributions import SitePackages

ROOT = Path(__file__).resolve().parents[2]

SAMPLES = ("Where is my order?", "Thanks, all good.")  # no e-mail, no number, no emoji
EMAIL = re.compile(r"\S+@\S+")


def same_length_mask(text: str) -> Preprocessed:
    """A classic bug: masks e-mails but claims every character was copied."""
    masked = EMAIL.sub(lambda m: "x" * len(m.group()), text)
    return Preprocessed(masked, OffsetMap.identity(len(masked)))


COUNTER = itertools.count()


def numbered(text: str) -> Preprocessed:
    """Another: numbers each mask with a process-wide counter (a second call answers otherwise)."""
    return replace_patterns(text, [(re.compile(r"\d+"), lambda m: f"[N{next(COUNTER)}]")])


def first_char_upper(text: str) -> Preprocessed:
    """And one that fails on an empty text."""
    return replace_patterns(text, [(re.compile("^."), text[0].upper())])


def nfc_sentences(text: str) -> list[Span]:
    """Splits the NFC-normalised text: offsets are off wherever combining marks were composed."""
    normal = unicodedata.normalize("NFC", text)
    return [Span(m.start(), m.end()) for m in re.finditer(r"[^.!?\n]+", normal) if m.group().strip()]


def shifted(prediction: Prediction, text: str) -> Prediction:
    """A postprocessor that moves every entity one character to the right."""
    moved = [
        EntitySpan(e.label, e.start + 1, e.end + 1, text[e.start + 1 : e.end + 1], e.score) for e in prediction.entities
    ]
    return Prediction(prediction.labels, moved, prediction.predicted)


class Support:
    """A support-desk plugin with the bugs above (only texts the samples lack trigger them)."""

    @hookimpl
    def register_preprocessors(self, register: Callable[[Preprocessor], None]) -> None:
        register(Preprocessor("support.emails", same_length_mask))
        register(Preprocessor("support.numbers", numbered))
        register(Preprocessor("support.upper", first_char_upper))

    @hookimpl
    def register_segmenters(self, register: Callable[[Segmenter], None]) -> None:
        register(Segmenter("support.sentences", nfc_sentences))

    @hookimpl
    def register_tasks(self, register: Callable[[TaskSpec], None]) -> None:
        register(
            TaskSpec("support.intent", HeadKind.SEQUENCE, labels=("ask", "thank"), preprocessors=("support.emails",))
        )
        register(
            TaskSpec(
                "support.spans", HeadKind.TOKEN, labels=("O", "B-Item", "I-Item"), segmenter="support.sentences",
                postprocessor=shifted,
            )
        )  # fmt: skip


def kit(plugin: object, **attributes: object) -> PluginConformance:
    """A kit instance for ``plugin`` named "support" (the class is not named Test*: not collected)."""
    cls = type("SupportKit", (PluginConformance,), {"plugin_name": "support", "plugin": plugin, **attributes})
    return cls()


def failure(check: Callable[..., None], *args: object) -> str:
    with pytest.raises(AssertionError) as caught:
        check(*args)
    return str(caught.value)


def test_the_kit_fuzzes_preprocessors_beyond_the_samples() -> None:
    checked = kit(Support(), sample_texts=SAMPLES, adversarial_texts=())
    plugins = load_plugin("support", Support())
    checked.test_preprocessors_round_trip(plugins)  # the samples alone hide every bug
    message = failure(kit(Support(), sample_texts=SAMPLES).test_preprocessors_round_trip, plugins)
    assert re.search(r"preprocessors: \d+ problem\(s\)", message)
    assert (
        "preprocessor 'support.emails' on 'contact jane.doe+tag@example.co.uk, J.SMITH@MAIL.EXAMPLE.ORG'... "
        "(70 characters): run 0-70 is marked copied but differs from input 0-70"
    ) in message
    assert "preprocessor 'support.numbers' is not deterministic: two calls on '$1,234,567.89" in message
    assert "preprocessor 'support.upper' raised IndexError: string index out of range on ''" in message


def test_the_kit_fuzzes_segmenters_and_pipelines() -> None:
    plugins = load_plugin("support", Support())
    checked = kit(Support(), sample_texts=SAMPLES)
    message = failure(checked.test_segmenters_cover, plugins)
    assert "segmenter 'support.sentences' found no segment in '.': the text would get no answer" in message
    assert "segmenter 'support.sentences' on 'combining: e" in message
    assert "lies in no segment; every word must lie in one (for a part that should get no answer, return " in message
    assert "offsets computed on another text" not in message  # the rule and the way out, no guess at the cause
    pipelines = failure(checked.test_pipelines_map_back_to_the_original, plugins)
    assert "task 'support.intent' on 'contact jane.doe+tag@example.co.uk" in pipelines
    assert "is marked copied from 'contact jane.doe+tag@example.co.uk" in pipelines


def test_the_kit_fuzzes_postprocessors() -> None:
    message = failure(
        kit(Support(), sample_texts=SAMPLES).test_postprocessors_keep_answers_in_the_text,
        load_plugin("support", Support()),
    )
    assert (
        "task 'support.spans': postprocessor on 'Where is my order?': entity 'Item' 13-18 leaves its segment 0-17"
    ) in message


def test_kit_failures_list_every_problem(tmp_path: Path) -> None:
    data = tmp_path / "support.jsonl"
    rows = [{"text": "Where is it?", "label": "ask"}, {"text": " ", "label": "ask"}, {"text": "Hi", "label": "bye"}]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))

    class Broken:
        @hookimpl
        def register_readers(self, register: Callable[[Reader], None]) -> None:
            def read(path: Path):
                for row in map(json.loads, path.read_text().splitlines()):
                    yield TextExample(row["text"], row["label"])  # one label may be a str

            register(Reader("support.jsonl", read))

        @hookimpl
        def register_metrics(self, register: Callable[[Metric], None]) -> None:
            register(Metric("support.score", HeadKind.SEQUENCE, lambda gold, predicted: {"acc": 2.0}, "accuracy"))

        @hookimpl
        def register_tasks(self, register: Callable[[TaskSpec], None]) -> None:
            register(TaskSpec("support.intent", HeadKind.SEQUENCE, labels=("ask", "thank"), reader="support.jsonl"))

    plugins = load_plugin("support", Broken())
    checked = kit(Broken(), reader_files={"support.jsonl": data})
    readers = failure(checked.test_readers_yield_valid_examples, plugins)
    assert readers.startswith("readers: 2 problem(s)\n")
    assert (
        f"- reader 'support.jsonl', example 1 of {data}, for task 'support.intent': example '': empty text" in readers
    )
    assert "example 2 of" in readers and "labels ['bye'] are not labels of the task; valid: ['ask', 'thank']" in readers
    metrics = failure(checked.test_metrics_score_gold_as_perfect, plugins)
    assert "metric 'support.score': acc=2.0 is not a float in [0, 1]" in metrics
    assert "metric 'support.score': the headline value 'accuracy' is missing (got ['acc'])" in metrics


def test_the_kit_loads_every_installed_plugin_so_clashes_show(site_packages: SitePackages) -> None:
    rival = """
from hub.plugin_api import hookimpl

@hookimpl
def register_namespaces(register):
    register("helpdesk")
"""
    site_packages.install("hub-rival", "rival", "hub_rival_k1", rival)

    class Helpdesk:
        @hookimpl
        def register_namespaces(self, register: Callable[[str], None]) -> None:
            register("helpdesk")

        @hookimpl
        def register_tasks(self, register: Callable[[TaskSpec], None]) -> None:
            register(TaskSpec("helpdesk.intent", HeadKind.SEQUENCE, labels=("a", "b")))

    kit(Helpdesk(), load_installed=False).test_loads_beside_the_installed_plugins()  # alone: nothing to see
    message = failure(kit(Helpdesk()).test_loads_beside_the_installed_plugins)
    assert message.startswith("a server with plugin 'support' installed would refuse to start: ")
    assert "namespace 'helpdesk' is declared by plugins 'rival' and 'support'" in message

    class Squat:  # takes a name in an installed plugin's namespace (the finance.sentiment case)
        @hookimpl
        def register_tasks(self, register: Callable[[TaskSpec], None]) -> None:
            register(TaskSpec("rival.sentiment", HeadKind.SEQUENCE, labels=("a", "b")))

    squat = failure(kit(Squat(), load_installed=False).test_loads_beside_the_installed_plugins)
    assert "task 'rival.sentiment' is in namespace 'rival', which belongs to plugin 'rival'" in squat
    assert "name it 'support.sentiment'" in squat


def test_requires_names_installed_plugins(site_packages: SitePackages) -> None:
    bank = """
from hub.plugin_api import HeadKind, Metric, classification_scores, hookimpl

@hookimpl
def register_metrics(register):
    register(Metric("bank.accuracy", HeadKind.SEQUENCE, classification_scores, "accuracy"))
"""
    site_packages.install("hub-bank", "bank", "hub_bank_k2", bank)

    class Uses:
        @hookimpl
        def register_tasks(self, register: Callable[[TaskSpec], None]) -> None:
            register(TaskSpec("support.intent", HeadKind.SEQUENCE, labels=("a", "b"), metric="bank.accuracy"))

    assert load_plugin("support", Uses(), ("bank",)).tasks.get("support.intent").metric == "bank.accuracy"
    kit(Uses(), requires=("bank",), load_installed=False).test_loads_beside_the_installed_plugins()
    alone = failure(kit(Uses(), load_installed=False).test_loads_beside_the_installed_plugins)
    assert "task 'support.intent' names metric 'bank.accuracy', which no enabled plugin registers" in alone
    missing = failure(kit(Uses(), requires=("bank", "nope")).test_loads_beside_the_installed_plugins)
    assert "plugin 'support' requires plugin 'nope', which is not installed here" in missing
    with pytest.raises(TypeError, match=r"requires must be a sequence of plugin names, got the string 'bank'"):
        load_plugin("support", Uses(), "bank")
    with pytest.raises(TypeError, match=r"requires holds \('bank',\): each entry is an installed plugin's name"):
        load_plugin("support", Uses(), [("bank",)])  # type: ignore[list-item]


def test_text_example_takes_one_label_as_a_string() -> None:
    assert TextExample("Where is it?", "ask").labels == ("ask",)
    assert TextExample("x", ["a", "b"]).labels == ("a", "b")
    with pytest.raises(TypeError, match=r"TextExample labels must be strings"):
        TextExample("x", ("a", 1))  # type: ignore[arg-type]
    assert TokenExample(("a",), ("O",)).text == "a"


KIT_MODULE = """
from hub.plugin_api import HeadKind, Preprocessor, TaskSpec, hookimpl, replace_patterns
from hub.testing.conformance import PluginConformance
import re


class Tiny:
    @hookimpl
    def register_preprocessors(self, register):
        register(Preprocessor("tiny.digits", lambda t: replace_patterns(t, [(re.compile(r"[0-9]+"), "0")])))

    @hookimpl
    def register_tasks(self, register):
        register(TaskSpec("tiny.mood", HeadKind.SEQUENCE, labels=("a", "b"), preprocessors=("tiny.digits",)))


class TestTinyConformance(PluginConformance):
    plugin_name = "tiny"
    plugin = Tiny()
    load_installed = False
"""


@pytest.mark.integration
def test_kit_fixtures_survive_pytest_10(tmp_path: Path) -> None:
    """The kit's class-scoped fixtures run under pytest with PytestRemovedIn10Warning as an error
    (instance-method fixtures would error at set-up). The entry-point check fails: not installed."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # not the hub's configuration
    (tmp_path / "test_tiny.py").write_text(KIT_MODULE)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "clients/python")]),
        "HF_HUB_OFFLINE": "1",
    }
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-W", "error::pytest.PytestRemovedIn10Warning"]
    done = subprocess.run(
        [*command, "test_tiny.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert "1 failed, 11 passed" in done.stdout, done.stdout + done.stderr
    assert "FAILED test_tiny.py::TestTinyConformance::test_entry_point_is_declared" in done.stdout
    assert "entry point: 1 problem(s)" in done.stdout and "warning" not in done.stdout.lower()
