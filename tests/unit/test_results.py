"""Scores -> answers: ranking, thresholds, and BIO decoding to character spans."""

import numpy as np

from hub.tasks.results import HeadScores, decode_bio, decode_multi_label, decode_sequence

LABELS = ["O", "B-Disease", "I-Disease", "B-Chemical", "I-Chemical"]


def token_scores(tags: list[int], offsets: list[tuple[int, int]], words: list[int]) -> HeadScores:
    probs = np.full((len(tags), len(LABELS)), 0.01, dtype=np.float32)
    for i, tag in enumerate(tags):
        probs[i, tag] = 0.96
    return HeadScores(probs, np.array(offsets), np.array(words))


def test_sequence_is_sorted_with_top_prediction() -> None:
    p = decode_sequence(HeadScores(np.array([0.2, 0.7, 0.1])), ["a", "b", "c"])
    assert [x.label for x in p.labels] == ["b", "a", "c"] and p.predicted == ["b"]


def test_multi_label_uses_the_threshold() -> None:
    p = decode_multi_label(HeadScores(np.array([0.9, 0.4, 0.5])), ["a", "b", "c"], threshold=0.5)
    assert p.predicted == ["a", "c"]


def test_bio_spans_follow_words_and_offsets() -> None:
    text = "Aspirin causes colorectal cancer."
    # [CLS] as ##pirin causes colorectal cancer . [SEP]
    offsets = [(0, 0), (0, 2), (2, 7), (8, 14), (15, 25), (26, 32), (32, 33), (0, 0)]
    words = [-1, 0, 0, 1, 2, 3, 4, -1]
    tags = [0, 3, 1, 0, 1, 2, 0, 0]  # second sub-token's tag is ignored: a word takes its first
    p = decode_bio(token_scores(tags, offsets, words), LABELS, text)
    assert [(e.label, e.start, e.end, e.text) for e in p.entities] == [
        ("Chemical", 0, 7, "Aspirin"),
        ("Disease", 15, 32, "colorectal cancer"),
    ]
    assert all(abs(e.score - 0.96) < 1e-6 for e in p.entities)


def test_dangling_inside_tag_starts_an_entity_and_type_change_splits() -> None:
    text = "a b c"
    offsets = [(0, 0), (0, 1), (2, 3), (4, 5), (0, 0)]
    p = decode_bio(token_scores([0, 2, 4, 4, 0], offsets, [-1, 0, 1, 2, -1]), LABELS, text)
    assert [(e.label, e.text) for e in p.entities] == [("Disease", "a"), ("Chemical", "b c")]
