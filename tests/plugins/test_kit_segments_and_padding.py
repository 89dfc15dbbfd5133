"""The kit's second round: preprocessors checked on padded texts (edits found on a stripped copy
and applied to the original fail, showing the text, the expected and the produced output), and
segments with roles (context segments are allowed to be left unanswered, answers must cover
exactly the others, postprocessors see the segment they answer)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import pytest

from hub.plugin_api import (
    AnsweredSegment,
    Edit,
    HeadKind,
    LabelScore,
    Prediction,
    Preprocessed,
    Preprocessor,
    Segment,
    Segmenter,
    Span,
    TaskSpec,
    apply_edits,
    hookimpl,
    replace_patterns,
)
from hub.plugins.catalog import PluginError
from hub.tasks.pipeline import TaskPipeline
from hub.testing import differential
from hub.testing.conformance import PluginConformance, load_plugin

EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
SAMPLES = ("write to jane.doe@example.com today", "Thanks, all good.")


def stripped_edits(text: str) -> Preprocessed:
    """The bug: edits found on text.strip(), applied to the original text."""
    found = replace_patterns(text.strip(), [(EMAIL, "[EMAIL]")])
    edits = [
        Edit(r.src_start, r.src_end, found.text[r.out_start : r.out_end]) for r in found.offsets.runs if not r.copied
    ]
    return apply_edits(text, edits)


def masked(text: str) -> Preprocessed:
    return replace_patterns(text, [(EMAIL, "[EMAIL]")])


class Strip:
    def __init__(self, apply: Callable[[str], Preprocessed]) -> None:
        self.apply = apply

    @hookimpl
    def register_preprocessors(self, register: Callable[[Preprocessor], None]) -> None:
        register(Preprocessor("strip.emails", self.apply))


def kit(plugin: object, **attributes: object) -> PluginConformance:
    """A kit instance (the class is not named Test*: not collected)."""
    cls = type("Kit", (PluginConformance,), {"plugin_name": "strip", "plugin": plugin, **attributes})
    return cls()


def test_edits_found_on_a_stripped_copy_fail_the_kit_with_text_expected_and_produced() -> None:
    assert stripped_edits("   write to jane.doe@example.com today") == stripped_edits(
        "   write to jane.doe@example.com today"
    )
    assert stripped_edits("   write to jane.doe@example.com today").text == "   write [EMAIL]com today"
    plugin = Strip(stripped_edits)
    plugins = load_plugin("strip", plugin)
    checked = kit(plugin, sample_texts=SAMPLES)
    checked.test_preprocessors_round_trip(plugins)  # every one-text check passes it
    with pytest.raises(AssertionError) as caught:
        checked.test_preprocessors_rewrite_padded_texts_alike(plugins)
    message = str(caught.value)
    assert message.startswith("preprocessors on padded texts: ")
    assert (
        "- preprocessor 'strip.emails' on '   write to jane.doe@example.com today   ' (41 characters, 3 of them "
        "before 'write to jane.doe@example.com today'): expected '   write to [EMAIL] today   ', produced "
        "'   write [EMAIL]com today   ' (the characters of the text itself must be rewritten the same"
    ) in message


def test_a_preprocessor_that_rewrites_what_it_is_given_passes() -> None:
    plugin = Strip(masked)
    kit(plugin, sample_texts=SAMPLES).test_preprocessors_rewrite_padded_texts_alike(load_plugin("strip", plugin))


def test_whitespace_rewrites_in_the_padding_are_no_problem() -> None:
    """Collapsing spaces (the padding changes) is fine: only the core is compared."""
    collapse = Preprocessor("x.spaces", lambda t: replace_patterns(t, [(re.compile(r"\s+"), " ")]))
    assert differential.padded_problems(collapse, SAMPLES) == []


CHAT = "Customer: where is it?\nAgent: checking.\nCustomer: thanks"


def turns(text: str) -> Sequence[Span]:
    out: list[Span] = []
    for m in re.finditer(r"[^\n]+", text):
        agent = m.group().startswith("Agent:")
        out.append(Segment(m.start(), m.end(), kind="agent" if agent else "customer", context=agent))
    return out


def customer_only(text: str) -> Sequence[Span]:
    return [s for s in turns(text) if not getattr(s, "context", False)]


def test_context_segments_are_not_answered_and_kinds_come_back() -> None:
    pipeline = TaskPipeline("t.intent", segmenter=Segmenter("t.turns", turns))
    prepared = pipeline.prepare(CHAT)
    assert [(p.start, p.end, p.kind) for p in prepared.pieces] == [(0, 22, "customer"), (40, 56, "customer")]
    answers = [
        Prediction([LabelScore("ask", 0.9)], predicted=["ask"]),
        Prediction([LabelScore("thank", 0.8)], predicted=["thank"]),
    ]
    summary = pipeline.finish(prepared, answers)
    assert [(s.text, s.kind, s.predicted) for s in summary.segments] == [
        ("Customer: where is it?", "customer", ["ask"]),
        ("Customer: thanks", "customer", ["thank"]),
    ]
    assert summary.predicted == ["ask", "thank"]
    only_agent = pipeline.prepare("Agent: hello")
    assert only_agent.pieces == () and pipeline.finish(only_agent, []) == Prediction()


def test_postprocessors_receive_the_segment_and_old_ones_still_work() -> None:
    seen: list[AnsweredSegment] = []

    def new_style(p: Prediction, text: str, segment: AnsweredSegment) -> Prediction:
        seen.append(segment)
        return p

    def old_style(p: Prediction, text: str) -> Prediction:
        return Prediction(p.labels, p.entities, [*p.predicted, "seen"])

    answers = [Prediction(predicted=["a"]), Prediction(predicted=["b"])]
    pipeline = TaskPipeline("t.intent", segmenter=Segmenter("t.turns", turns), postprocessor=new_style)
    pipeline.finish(pipeline.prepare(CHAT), answers)
    assert seen == [
        AnsweredSegment(0, 22, "Customer: where is it?", "customer"),
        AnsweredSegment(40, 56, "Customer: thanks", "customer"),
    ]
    plain = TaskPipeline("t.intent", postprocessor=new_style)
    plain.finish(plain.prepare("whole"), [Prediction()])
    assert seen[-1] == AnsweredSegment(0, 5, "whole", "")  # no segmenter: the whole text, no kind
    old = TaskPipeline("t.intent", segmenter=Segmenter("t.turns", turns), postprocessor=old_style)
    assert [s.predicted for s in old.finish(old.prepare(CHAT), answers).segments] == [["a", "seen"], ["b", "seen"]]


class Turns:
    def __init__(self, split: Callable[[str], Sequence[Span]], post: object = None) -> None:
        self.split, self.post = split, post

    @hookimpl
    def register_segmenters(self, register: Callable[[Segmenter], None]) -> None:
        register(Segmenter("chat.turns", self.split))

    @hookimpl
    def register_tasks(self, register: Callable[[TaskSpec], None]) -> None:
        register(TaskSpec("chat.intent", HeadKind.SEQUENCE, labels=("ask", "thank"), segmenter="chat.turns",
                          postprocessor=self.post))  # fmt: skip


def test_the_kit_accepts_context_segments_and_says_how_to_leave_a_part_unanswered() -> None:
    samples = (CHAT,)
    plugin = Turns(turns)
    kit(plugin, plugin_name="chat", sample_texts=samples).test_segmenters_cover(load_plugin("chat", plugin))
    dropped = Turns(customer_only)
    with pytest.raises(AssertionError) as caught:
        kit(dropped, plugin_name="chat", sample_texts=samples).test_segmenters_cover(load_plugin("chat", dropped))
    message = str(caught.value)
    assert (
        "'Agent' lies in no segment; every word must lie in one (for a part that should get no answer, return "
        "Segment(start, end, context=True))"
    ) in message
    assert "normalised" not in message and "computed on another text" not in message


def test_a_postprocessor_of_the_wrong_shape_is_refused_at_start_up() -> None:
    with pytest.raises(PluginError, match=r"postprocessor must be a function \(prediction, text\) or \(prediction, "):
        load_plugin("chat", Turns(turns, post=lambda prediction: prediction))
