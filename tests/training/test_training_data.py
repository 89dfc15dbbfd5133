"""Training data plumbing: held-out splits, BIO targets per token, predictions as metric input."""

from __future__ import annotations

import random

import pytest

from adapters_registry.manifest import HeadKind
from hub.engine.train.types import Span
from hub.errors import InvalidArgument
from hub.tasks.datasets import TextExample, TokenExample
from hub.tasks.head_kinds import predicted_value
from hub.tasks.results import EntitySpan, Prediction
from hub.tasks.specs import TaskSpec
from hub.training.data import head_labels, holdout_split


def documents(n: int) -> list[TextExample]:
    return [TextExample(f"sentence {d}.{i}", (), id=f"{d}:{i}", group=f"doc{d}") for d in range(n) for i in range(5)]


def test_holdout_keeps_documents_whole_and_does_not_depend_on_file_order() -> None:
    examples = documents(20)
    kept, held = holdout_split(examples, 0.2, seed=0)
    assert len({e.group for e in held}) == 4 and len(kept) + len(held) == len(examples)
    assert not {e.group for e in kept} & {e.group for e in held}
    shuffled = examples[:]
    random.Random(1).shuffle(shuffled)
    assert {e.id for e in holdout_split(shuffled, 0.2, seed=0)[1]} == {e.id for e in held}
    assert {e.id for e in holdout_split(examples, 0.2, seed=1)[1]} != {e.id for e in held}


def test_holdout_without_groups_splits_by_example() -> None:
    examples = [TextExample(f"t{i}", ("a",), id=str(i)) for i in range(50)]
    kept, held = holdout_split(examples, 0.1, seed=3)
    assert (len(kept), len(held)) == (45, 5)
    assert holdout_split(examples, 0.1, seed=3)[1] == held
    with pytest.raises(InvalidArgument):
        holdout_split(examples, 1.5, seed=0)


def test_head_labels_fixed_by_the_task_or_taken_from_the_data() -> None:
    fixed = TaskSpec("x.y", HeadKind.SEQUENCE, labels=("b", "a"))
    assert head_labels(fixed, []) == ["b", "a"]
    free = TaskSpec("x.z", HeadKind.TOKEN)
    tagged = [TokenExample(("a", "b"), ("B-Gene", "O")), TokenExample(("c",), ("I-Drug",))]
    assert head_labels(free, tagged) == ["O", "B-Drug", "I-Drug", "B-Gene", "I-Gene"]


def test_token_targets_tag_each_tokenizer_word_on_its_first_piece(packaged_runtime) -> None:
    from hub.engine.train.encode import IGNORE, encode_task
    from hub.engine.train.types import TaskData, TrainExample

    labels = ["O", "B-Disease", "I-Disease"]
    text = "TGF-beta1 deficiency causes colitis ."  # the tokenizer splits TGF-beta1 into 3 words
    example = TrainExample(text, spans=(Span(0, 20, "Disease"), Span(28, 35, "Disease")))
    data = TaskData("medical.ner", HeadKind.TOKEN, labels, [example])
    tokenizer = packaged_runtime.backbone.tokenizer
    encoded = encode_task(tokenizer, data, max_length=64)
    pieces = tokenizer.convert_ids_to_tokens(encoded.input_ids[0])
    tagged = [(p, labels[t]) for p, t in zip(pieces, encoded.targets[0], strict=True) if t != IGNORE]
    assert tagged == [
        ("t", "B-Disease"),
        ("-", "I-Disease"),
        ("beta", "I-Disease"),
        ("deficiency", "I-Disease"),
        ("causes", "O"),
        ("coli", "B-Disease"),
        (".", "O"),
    ]


def test_predicted_entities_become_word_tags_for_the_metric() -> None:
    example = TokenExample(("Hereditary", "breast", "cancer", "and", "asthma"), ("O",) * 5)
    prediction = Prediction(
        entities=[EntitySpan("Disease", 11, 24, "breast cancer", 0.9), EntitySpan("Disease", 29, 35, "asthma", 0.8)]
    )
    assert predicted_value(example, prediction, HeadKind.TOKEN) == ("O", "B-Disease", "I-Disease", "O", "B-Disease")
    labels = Prediction(predicted=["ltd", "ter"])
    assert predicted_value(TextExample("x", ()), labels, HeadKind.MULTI_LABEL) == frozenset({"ltd", "ter"})
    assert predicted_value(TextExample("x", ("a",)), Prediction(predicted=["a"]), HeadKind.SEQUENCE) == "a"


def test_heads_start_at_the_training_label_prior(tiny_backbone_dir) -> None:
    import math

    from hub.engine.backbone import load_backbone
    from hub.engine.train.encode import encode_task, label_frequencies
    from hub.engine.train.model import TrainModel
    from hub.engine.train.types import TaskData, TrainExample, TrainOptions

    examples = [TrainExample("a", ("x",)), TrainExample("b", ("x", "y")), TrainExample("c", ()), TrainExample("d", ())]
    data = TaskData("t.multi", HeadKind.MULTI_LABEL, ["x", "y"], examples)
    backbone = load_backbone(str(tiny_backbone_dir), device="cpu")
    frequencies = label_frequencies(encode_task(backbone.tokenizer, data, 16))
    assert frequencies == [0.5, 0.25]
    model = TrainModel(backbone, [data], TrainOptions(backbone=str(tiny_backbone_dir)))
    model.init_head_bias(data, frequencies)
    bias = model.heads["t__multi"].classifier.bias.tolist()
    assert bias == pytest.approx([0.0, math.log(0.25 / 0.75)], abs=1e-6)
