"""The legal plugin: conformance kit, sentence segmenter, CLAUDETTE reader, metrics, upload check."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import hub_legal
import pytest
from hub_legal.claudette import LABELS, labels_of, read_tsv
from hub_legal.sentences import split_sentences

from hub.plugin_api import HeadKind, HeadSpec, Manifest
from hub.testing.conformance import PluginConformance, load_plugin

HERE = Path(__file__).parent
CORPUS = HERE.parents[2].parent / "shared" / "data" / "legal" / "unfair-tos" / "train.tsv"
TOS = (
    "Terms of Service\n"
    "Last updated on 11 August, 2021. By using Acme Inc. services you agree to these terms. "
    "We may change them at any time, e.g. when the law changes!\n"
    "1. Termination\n"
    "We may suspend your account without notice; see Sec. 4 for details."
)


class TestLegalConformance(PluginConformance):
    plugin = hub_legal
    plugin_name = "legal"
    sample_texts = (TOS, "One clause without a full stop", "You agree. We decide.")
    reader_files = {"legal.claudette": HERE / "data" / "sample.tsv"}


def test_a_document_splits_into_sentences() -> None:
    assert [TOS[s.start : s.end] for s in split_sentences(TOS)] == [
        "Terms of Service",
        "Last updated on 11 August, 2021.",
        "By using Acme Inc. services you agree to these terms.",
        "We may change them at any time, e.g. when the law changes!",
        "1. Termination",
        "We may suspend your account without notice; see Sec. 4 for details.",
    ]


def test_labels_are_categories_at_level_two_or_more() -> None:
    assert labels_of("ltd1 ter3 a2 countrym") == ("arbitration", "unilateral_termination")
    assert labels_of("") == () and len(LABELS) == 9


def test_the_reader_parses_quoted_fields_and_groups_by_document() -> None:
    examples = list(read_tsv(HERE / "data" / "sample.tsv"))
    assert [e.labels for e in examples] == [
        (),
        ("unilateral_termination",),
        ("arbitration", "jurisdiction"),
        (),
        ("contract_by_using",),
        (),
    ]
    assert examples[3].text == "Quoted heading with a tab" and examples[4].group == "Beta"


def test_micro_and_macro_f1() -> None:
    scores = hub_legal.unfair_f1([{"arbitration"}, set()], [{"arbitration"}, {"jurisdiction"}])
    assert scores["micro_precision"] == 0.5 and scores["micro_recall"] == 1.0
    assert scores["macro_f1"] == 0.5  # arbitration 1.0, jurisdiction 0.0; unseen categories left out


def test_validate_adapter_refuses_extreme_thresholds() -> None:
    plugins = load_plugin("legal", hub_legal)
    spec = plugins.tasks.get(hub_legal.TASK)

    def manifest(threshold: float) -> Manifest:
        return Manifest([HeadSpec(hub_legal.TASK, HeadKind.MULTI_LABEL, list(LABELS), threshold=threshold)])

    assert plugins.validate_adapter(manifest(0.5)) == []
    assert "threshold 0.99 is outside [0.05, 0.95]" in plugins.validate_adapter(manifest(0.99))[0]
    assert hub_legal.validate_adapter(manifest(0.99), plugins.tasks.get("generic.multi_label_classification")) == []
    assert spec.segmenter == "legal.sentences"


def _documents() -> dict[str, list[str]]:
    if not CORPUS.is_file():
        pytest.skip(f"corpus not found at {CORPUS} (see ../shared/data/README.md)")
    documents: dict[str, list[str]] = defaultdict(list)
    for example in read_tsv(CORPUS):
        documents[example.group].append(example.text)
    return documents


def test_the_real_corpus_reads_cleanly() -> None:
    examples = [e for sentences in _documents().values() for e in sentences]
    assert len(_documents()) == 40 and len(examples) == 13567
    tagged = [e for e in read_tsv(CORPUS) if e.labels]
    assert 1000 < len(tagged) < 1201  # 1,201 carry any tag; fewer at level >= 2


def test_the_segmenter_recovers_the_corpus_sentences() -> None:
    """Documents rebuilt one sentence per line: at least 90% of sentences come back exactly."""
    found = total = spurious = 0
    for sentences in _documents().values():
        text = "\n".join(sentences)
        gold, position = set(), 0
        for sentence in sentences:
            gold.add((position, position + len(sentence)))
            position += len(sentence) + 1
        spans = {(s.start, s.end) for s in split_sentences(text)}
        found, total, spurious = found + len(spans & gold), total + len(gold), spurious + len(spans - gold)
    assert found / total >= 0.9 and found / (found + spurious) >= 0.9
