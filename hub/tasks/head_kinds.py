"""The torch-free side of each head kind: one object per kind, one table keyed by HeadKind.

A head kind says how a head's scores become an answer (``decode``), which labels a head of the
kind may have, what its training examples look like and what a metric compares on each side
(``gold`` / ``predicted``), and what the built-in plugin offers for it (a generic task and its
metric). The engine's side of the same kinds (activation, loss, bias prior, token or pooled
layout) is hub/engine/head_kinds.py. Everything else looks kinds up here instead of testing
which kind it holds, so adding one is a HeadKind value, one entry in each table, and the wire
enum (docs/architecture.md, "Head kinds").
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar

from adapters_registry.manifest import HeadKind, HeadSpec
from hub.tasks.datasets import Example, TextExample, TokenExample
from hub.tasks.metrics import Metric, classification_scores, entity_scores, multi_label_scores
from hub.tasks.results import HeadScores, Prediction, decode_bio, decode_multi_label, decode_sequence


class TaskHeadKind(ABC):
    """One head kind, as tasks, datasets, metrics and decoding see it."""

    kind: ClassVar[HeadKind]
    per_token: ClassVar[bool] = False  # scores per token (offsets, word ids), not one vector per text
    example_type: ClassVar[type[TextExample] | type[TokenExample]] = TextExample
    sample_labels: ClassVar[tuple[str, ...]] = ("first", "second", "third")  # for test adapters
    synthetic_gold: ClassVar[tuple[Any, ...]]  # gold values a metric of this kind must score as perfect
    generic_task: ClassVar[str]  # the built-in task every server offers for the kind
    generic_description: ClassVar[str]
    metric: ClassVar[Metric]  # the built-in metric of the kind (the generic task's)

    @property
    def name(self) -> str:
        return self.kind.value

    @abstractmethod
    def decode(self, scores: HeadScores, head: HeadSpec, text: str) -> Prediction:
        """One row's scores -> its answer (offsets into ``text``, the text the model read)."""

    def label_problems(self, labels: Sequence[str], *, defining_task: bool = False) -> list[str]:
        """Problems with a head's label list (``defining_task``: a task's fixed list, which must
        be complete); empty when the kind takes any distinct labels."""
        return []

    def check_example(self, example: object, labels: Sequence[str] | None) -> list[str]:
        """Problems with one training or evaluation example for a task of this kind."""
        where = f"example {getattr(example, 'id', '')!r}"
        if not isinstance(example, self.example_type):
            return [f"{where}: a {self.name} task needs {self.example_type.__name__}, got {type(example).__name__}"]
        return self._example_problems(where, example, labels)

    def gold(self, example: Example) -> Any:
        """What a metric of this kind compares on the gold side for one example."""
        if not isinstance(example, self.example_type):
            raise TypeError(f"a {self.name} task needs {self.example_type.__name__} examples")
        return self._gold(example)

    @abstractmethod
    def predicted(self, example: Example, prediction: Prediction) -> Any:
        """What the metric compares on the predicted side (the counterpart of :meth:`gold`)."""

    def labels_from(self, examples: Sequence[Example]) -> list[str]:
        """A head's labels when the task fixes none: every label the training data uses, sorted."""
        return sorted({x for e in examples if isinstance(e, TextExample) for x in e.labels})

    @abstractmethod
    def _gold(self, example: Any) -> Any: ...

    def _example_problems(self, where: str, example: Any, labels: Sequence[str] | None) -> list[str]:
        problems = [] if example.text.strip() else [f"{where}: empty text"]
        problems += self._label_count_problems(where, example.labels)
        unknown = [x for x in example.labels if labels is not None and x not in labels]
        if unknown:
            problems.append(f"{where}: labels {unknown} are not labels of the task; valid: {list(labels or ())}")
        return problems

    def _label_count_problems(self, where: str, labels: tuple[str, ...]) -> list[str]:
        return []


class SequenceKind(TaskHeadKind):
    """One label per text: softmax over the labels, the top one predicted."""

    kind = HeadKind.SEQUENCE
    synthetic_gold = ("first", "second", "first")
    generic_task = "generic.sequence_classification"
    generic_description = "One label per text; probabilities from a softmax over the adapter's labels."
    metric = Metric(
        "generic.classification",
        HeadKind.SEQUENCE,
        classification_scores,
        headline="macro_f1",
        description="accuracy, macro-F1 over the labels seen, F1 per label",
    )

    def decode(self, scores: HeadScores, head: HeadSpec, text: str) -> Prediction:
        return decode_sequence(scores, head.labels)

    def predicted(self, example: Example, prediction: Prediction) -> Any:
        return prediction.predicted[0] if prediction.predicted else ""

    def _gold(self, example: TextExample) -> str:
        if len(example.labels) != 1:
            raise ValueError(f"example {example.id!r} has {len(example.labels)} labels; a sequence task needs one")
        return example.labels[0]

    def _label_count_problems(self, where: str, labels: tuple[str, ...]) -> list[str]:
        return [] if len(labels) == 1 else [f"{where}: a sequence task needs exactly one label, got {list(labels)}"]


class MultiLabelKind(TaskHeadKind):
    """Any number of labels per text: a sigmoid per label, predicted at or above the threshold."""

    kind = HeadKind.MULTI_LABEL
    synthetic_gold = (frozenset({"first"}), frozenset(), frozenset({"first", "second"}))
    generic_task = "generic.multi_label_classification"
    generic_description = (
        "Any number of labels per text; independent sigmoid scores, predicted at or above "
        "the head's threshold (default 0.5)."
    )
    metric = Metric(
        "generic.multi_label",
        HeadKind.MULTI_LABEL,
        multi_label_scores,
        headline="micro_f1",
        description="micro P/R/F1, macro-F1 over the labels seen, F1 per label, exact match",
    )

    def decode(self, scores: HeadScores, head: HeadSpec, text: str) -> Prediction:
        return decode_multi_label(scores, head.labels, head.threshold)

    def predicted(self, example: Example, prediction: Prediction) -> Any:
        return frozenset(prediction.predicted)

    def _gold(self, example: TextExample) -> frozenset[str]:
        return frozenset(example.labels)


class TokenKind(TaskHeadKind):
    """A BIO tag per token, decoded to entity spans with character offsets."""

    kind = HeadKind.TOKEN
    per_token = True
    example_type = TokenExample
    sample_labels = ("O", "B-X", "I-X")
    synthetic_gold = (("B-X", "I-X", "O"), ("O", "B-X", "O"))
    generic_task = "generic.token_classification"
    generic_description = "BIO tags per token, decoded to entity spans with character offsets into the text."
    metric = Metric(
        "generic.entities",
        HeadKind.TOKEN,
        entity_scores,
        headline="f1",
        description="strict entity-level P/R/F1 (exact boundaries and type), F1 per type",
    )

    def decode(self, scores: HeadScores, head: HeadSpec, text: str) -> Prediction:
        return decode_bio(scores, head.labels, text)

    def label_problems(self, labels: Sequence[str], *, defining_task: bool = False) -> list[str]:
        bad = [x for x in labels if not _bio(x)]
        if bad or (defining_task and "O" not in labels):
            need = "; O among them" if defining_task else ""
            got = list(bad or labels)[:5]
            return [f"token labels must be O, B-X and I-X tags (each one O, B-X or I-X{need}); got {got}"]
        return []

    def predicted(self, example: Example, prediction: Prediction) -> Any:
        assert isinstance(example, TokenExample)
        return word_tags(example, prediction)

    def labels_from(self, examples: Sequence[Example]) -> list[str]:
        """O first, then B- and I- of every entity type the data tags, sorted by type."""
        types = sorted({t[2:] for e in examples if isinstance(e, TokenExample) for t in e.tags if t != "O"})
        return ["O", *[f"{p}-{t}" for t in types for p in "BI"]]

    def _gold(self, example: TokenExample) -> tuple[str, ...]:
        return example.tags

    def _example_problems(self, where: str, example: Any, labels: Sequence[str] | None) -> list[str]:
        problems = []
        if not example.tokens or len(example.tokens) != len(example.tags):
            problems.append(f"{where}: {len(example.tokens)} tokens but {len(example.tags)} tags")
        if any(not t or any(c.isspace() for c in t) for t in example.tokens):
            problems.append(f"{where}: tokens must be non-empty and hold no whitespace")
        bad = [t for t in example.tags if not _bio(t)]
        bad += [t for t in example.tags if labels is not None and t not in labels]
        if bad:
            problems.append(f"{where}: tags {sorted(set(bad))[:5]} are not BIO tags of the task")
        return problems


def _bio(tag: str) -> bool:
    return tag == "O" or tag.startswith(("B-", "I-"))


def word_tags(example: TokenExample, prediction: Prediction) -> tuple[str, ...]:
    """Predicted entities (character spans) -> one BIO tag per word of the example."""
    tags = ["O"] * len(example.tokens)
    words = example.token_spans()
    for entity in sorted(prediction.entities, key=lambda e: (e.start, e.end)):
        inside = [
            i for i, (start, end) in enumerate(words) if start < entity.end and end > entity.start and tags[i] == "O"
        ]
        for n, i in enumerate(inside):
            tags[i] = ("B-" if n == 0 else "I-") + entity.label
    return tuple(tags)


HEAD_KINDS: Mapping[HeadKind, TaskHeadKind] = MappingProxyType(
    {k.kind: k for k in (SequenceKind(), MultiLabelKind(), TokenKind())}
)


def task_kind(kind: HeadKind) -> TaskHeadKind:
    """The table entry of ``kind`` (every HeadKind has one: tests/unit/test_head_kinds.py)."""
    return HEAD_KINDS[kind]


def gold(example: Example, head_kind: HeadKind) -> Any:
    """What a metric of ``head_kind`` compares for one example.

    sequence: the label; multi-label: the set of labels; token: the tag of each word.
    """
    return task_kind(head_kind).gold(example)


def check_example(example: object, head_kind: HeadKind, labels: Sequence[str] | None) -> list[str]:
    """Problems with one example for a task (empty when it is valid)."""
    return task_kind(head_kind).check_example(example, labels)


def predicted_value(example: Example, prediction: Prediction, head_kind: HeadKind) -> Any:
    """What the metric compares on the predicted side (the counterpart of :func:`gold`)."""
    return task_kind(head_kind).predicted(example, prediction)
