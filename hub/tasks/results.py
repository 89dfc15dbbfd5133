"""What a prediction is, and how raw head scores become one (torch-free; each head kind in
hub.tasks.head_kinds picks its decoder here)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class LabelScore:
    """One label's score."""

    label: str
    """A label of the task (or of the adapter, for a task without fixed labels)."""
    score: float
    """Its probability: softmax over the labels (sequence), sigmoid (multi-label)."""


@dataclass(frozen=True)
class EntitySpan:
    """An entity a token head found."""

    label: str
    """The entity type (``Chemical`` for the tags ``B-Chemical``/``I-Chemical``)."""
    start: int
    """Character offset into the original text (what the client sent)."""
    end: int
    """Exclusive end offset: ``text == original[start:end]``."""
    text: str
    """The original characters, never the preprocessed ones."""
    score: float
    """The mean probability of its words' tags."""


@dataclass(frozen=True)
class SegmentPrediction:
    """The answer for one answered segment (e.g. a sentence, a customer's turn) of a text its
    task's segmenter split. Context segments get none."""

    start: int
    """Character offset of the segment into the original text."""
    end: int
    """Exclusive end offset."""
    text: str
    """``original[start:end]``."""
    labels: list[LabelScore] = field(default_factory=list)
    """The segment's labels, highest score first (sequence and multi-label tasks)."""
    entities: list[EntitySpan] = field(default_factory=list)
    """The segment's entities, offsets into the original text (token tasks)."""
    predicted: list[str] = field(default_factory=list)
    """The segment's predicted labels (the top one, or every one at or above the threshold)."""
    kind: str = ""
    """The segment's kind, as its segmenter gave it (``""``: none)."""


@dataclass(frozen=True)
class Prediction:
    """One text's answer, with offsets into the original text. A postprocessor receives and
    returns one per answered segment (the whole text when the task has no segmenter)."""

    labels: list[LabelScore] = field(default_factory=list)
    """Every label with its score, highest first (sequence and multi-label tasks)."""
    entities: list[EntitySpan] = field(default_factory=list)
    """The entities found, in text order (token tasks)."""
    predicted: list[str] = field(default_factory=list)
    """Sequence: the top label. Multi-label: every label at or above the head's threshold."""
    segments: list[SegmentPrediction] = field(default_factory=list)
    """Tasks with a segmenter: one answer per answered segment, in text order; the fields above
    then sum them up (each label's best segment score, every label some segment predicts, every
    segment's entities). Empty for tasks without one, and for a text with only context."""


@dataclass(frozen=True)
class HeadScores:
    """What the engine hands back for one row.

    Sequence kinds: ``probs`` is (labels,). Token kind: ``probs`` is (tokens, labels) and
    ``offsets`` / ``word_ids`` say which characters and which word each token covers
    (word id -1 for special tokens).
    """

    probs: np.ndarray
    offsets: np.ndarray | None = None
    word_ids: np.ndarray | None = None


def ranked_labels(probs: np.ndarray, labels: list[str]) -> list[LabelScore]:
    order = np.argsort(-probs, kind="stable")
    return [LabelScore(labels[i], float(probs[i])) for i in order]


def decode_sequence(scores: HeadScores, labels: list[str]) -> Prediction:
    ranked = ranked_labels(scores.probs, labels)
    return Prediction(labels=ranked, predicted=[ranked[0].label])


def decode_multi_label(scores: HeadScores, labels: list[str], threshold: float) -> Prediction:
    ranked = ranked_labels(scores.probs, labels)
    return Prediction(labels=ranked, predicted=[r.label for r in ranked if r.score >= threshold])


def decode_bio(scores: HeadScores, labels: list[str], text: str) -> Prediction:
    """Word-level BIO decoding: a word takes its first sub-token's tag.

    An I-X that does not continue an X entity starts one (the lenient conlleval reading).
    An entity's score is the mean probability of its words' tags.
    """
    assert scores.offsets is not None and scores.word_ids is not None
    words = _word_tags(scores, labels)
    entities: list[EntitySpan] = []
    current: list[tuple[int, int, float]] = []
    current_label = ""
    for tag, start, end, prob in words:
        kind, _, label = tag.partition("-")
        continues = kind == "I" and label == current_label and current
        if continues:
            current.append((start, end, prob))
            continue
        _close(entities, current, current_label, text)
        current, current_label = ([(start, end, prob)], label) if kind in ("B", "I") else ([], "")
    _close(entities, current, current_label, text)
    return Prediction(entities=entities)


def _word_tags(scores: HeadScores, labels: list[str]) -> list[tuple[str, int, int, float]]:
    """(tag, start, end, prob) per word, spanning all of the word's sub-tokens."""
    assert scores.offsets is not None and scores.word_ids is not None
    words: dict[int, list] = {}
    best = scores.probs.argmax(axis=-1)
    for token, word in enumerate(scores.word_ids.tolist()):
        if word < 0:
            continue
        start, end = (int(x) for x in scores.offsets[token])
        if word not in words:
            tag = int(best[token])
            words[word] = [labels[tag], start, end, float(scores.probs[token, tag])]
        else:
            words[word][2] = max(words[word][2], end)
    return [(str(w[0]), int(w[1]), int(w[2]), float(w[3])) for w in (words[k] for k in sorted(words))]


def _close(entities: list[EntitySpan], parts: list[tuple[int, int, float]], label: str, text: str) -> None:
    if not parts:
        return
    start, end = parts[0][0], parts[-1][1]
    score = sum(p for _, _, p in parts) / len(parts)
    entities.append(EntitySpan(label, start, end, text[start:end], score))
