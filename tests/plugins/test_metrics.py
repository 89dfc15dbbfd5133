"""Metrics and examples: the API training code scores and reads data with."""

from __future__ import annotations

import pytest

from adapters_registry.manifest import HeadKind
from hub.tasks.datasets import TextExample, TokenExample, bio_chunks
from hub.tasks.head_kinds import check_example, gold
from hub.tasks.metrics import check_scores, classification_scores, entity_scores, multi_label_scores


def test_classification_scores() -> None:
    scores = classification_scores(["a", "b", "b", "c"], ["a", "b", "c", "c"], labels=["a", "b", "c", "d"])
    assert scores["accuracy"] == 0.75
    assert scores["f1.b"] == pytest.approx(2 / 3) and scores["f1.d"] == 1.0
    assert scores["macro_f1"] == pytest.approx((1 + 2 / 3 + 2 / 3 + 1) / 4)
    with pytest.raises(ValueError, match="2 gold examples but 1 predictions"):
        classification_scores(["a", "b"], ["a"])


def test_multi_label_scores() -> None:
    scores = multi_label_scores([{"x"}, {"x", "y"}, set()], [{"x"}, {"y"}, {"z"}])
    assert (scores["micro_precision"], scores["micro_recall"]) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert scores["exact_match"] == pytest.approx(1 / 3)
    assert scores["f1.z"] == 0.0 and scores["macro_f1"] == pytest.approx((2 / 3 + 1 + 0) / 3)


def test_entity_scores_are_strict() -> None:
    gold_tags = [("B-D", "I-D", "O", "B-C")]
    assert entity_scores(gold_tags, gold_tags)["f1"] == 1.0
    partial = entity_scores(gold_tags, [("B-D", "O", "O", "B-C")])  # a boundary off: wrong, not half right
    assert (partial["precision"], partial["recall"]) == (0.5, 0.5) and partial["f1.C"] == 1.0
    retyped = entity_scores(gold_tags, [("B-C", "I-C", "O", "B-C")])
    assert retyped["f1.D"] == 0.0
    with pytest.raises(ValueError, match="example 0: 4 gold tags but 3"):
        entity_scores(gold_tags, [("O", "O", "O")])


def test_bio_chunks_follow_conlleval() -> None:
    assert bio_chunks(["B-D", "I-D", "I-C", "O", "I-D"]) == [("D", 0, 2), ("C", 2, 3), ("D", 4, 5)]


def test_token_example_text_and_entities() -> None:
    example = TokenExample(("Aspirin", "causes", "colon", "cancer", "."), ("B-C", "O", "B-D", "I-D", "O"))
    assert example.text == "Aspirin causes colon cancer ."
    assert [(label, example.text[s:e]) for label, s, e in example.entities()] == [
        ("C", "Aspirin"),
        ("D", "colon cancer"),
    ]


def test_gold_and_check_example() -> None:
    text = TextExample("We may terminate.", ("ter", "ch"))
    assert gold(text, HeadKind.MULTI_LABEL) == frozenset({"ter", "ch"})
    assert check_example(text, HeadKind.SEQUENCE, None) == [
        "example '': a sequence task needs exactly one label, got ['ter', 'ch']"
    ]
    tokens = TokenExample(("a", "b"), ("B-X", "Q"))
    assert "not BIO tags" in check_example(tokens, HeadKind.TOKEN, None)[0]
    assert check_scores({"f1": 1.5}, "macro") == [
        "f1=1.5 is not a float in [0, 1]",
        "the headline value 'macro' is missing (got ['f1'])",
    ]
