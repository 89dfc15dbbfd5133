"""The request path around the model: segments, preprocessing, mapping back, summing up."""

from __future__ import annotations

import re
from collections.abc import Callable

from hub.plugin_api import (
    EntitySpan,
    LabelScore,
    Prediction,
    Preprocessor,
    Segmenter,
    Span,
    replace_patterns,
)
from hub.serving.auth import Caller
from hub.serving.service import Target
from hub.serving.upload import UploadHeader
from hub.tasks.pipeline import TaskPipeline
from hub.testing.artifacts import random_adapter_files
from tests.plugins.conftest import load, service_with

MASK = Preprocessor("t.mask", lambda text: replace_patterns(text, [(re.compile(r"\d+"), "<n>")]))
LINES = Segmenter("t.lines", lambda text: [Span(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)])


def test_entities_map_back_to_the_original_text() -> None:
    pipeline = TaskPipeline("t.ner", (MASK,))
    text = "Took 400 mg aspirin"
    prepared = pipeline.prepare(text)
    assert prepared.pieces[0].text == "Took <n> mg aspirin"
    found = Prediction(entities=[EntitySpan("Chemical", 12, 19, "aspirin", 0.9), EntitySpan("Dose", 5, 8, "<n>", 0.8)])
    answer = pipeline.finish(prepared, [found])
    assert [(e.label, e.start, e.end, e.text) for e in answer.entities] == [
        ("Chemical", 12, 19, "aspirin"),
        ("Dose", 5, 8, "400"),
    ]


def test_segments_answer_one_by_one_and_sum_up() -> None:
    pipeline = TaskPipeline("t.clauses", (MASK,), LINES)
    text = "We may end it in 30 days.\n\nYou agree."
    prepared = pipeline.prepare(text)
    assert [(p.start, p.end, p.text) for p in prepared.pieces] == [
        (0, 25, "We may end it in <n> days."),
        (27, 37, "You agree."),
    ]
    answers = [
        Prediction(labels=[LabelScore("ter", 0.9), LabelScore("use", 0.1)], predicted=["ter"]),
        Prediction(labels=[LabelScore("use", 0.7), LabelScore("ter", 0.2)], predicted=["use"]),
    ]
    summary = pipeline.finish(prepared, answers)
    assert [(s.start, s.end, s.text, s.predicted) for s in summary.segments] == [
        (0, 25, "We may end it in 30 days.", ["ter"]),
        (27, 37, "You agree.", ["use"]),
    ]
    assert [(x.label, x.score) for x in summary.labels] == [("ter", 0.9), ("use", 0.7)]
    assert summary.predicted == ["ter", "use"]


def test_the_postprocessor_sees_original_offsets() -> None:
    seen: list[tuple[int, int, str]] = []

    def post(p: Prediction, text: str) -> Prediction:
        seen.extend((e.start, e.end, text[e.start : e.end]) for e in p.entities)
        return Prediction(entities=[e for e in p.entities if e.label != "Dose"])

    pipeline = TaskPipeline("t.ner", (MASK,), LINES, post)
    prepared = pipeline.prepare("a\n12 b")
    answers = [
        Prediction(),
        Prediction(entities=[EntitySpan("Dose", 0, 3, "<n>", 0.5), EntitySpan("X", 4, 5, "b", 0.5)]),
    ]
    summary = pipeline.finish(prepared, answers)
    assert seen == [(2, 4, "12"), (5, 6, "b")]
    assert [e.text for e in summary.entities] == ["b"] and summary.segments[1].entities[0].start == 5


def _register(**items: object) -> object:
    """A plugin whose register_<kind> hook registers items[kind], for each kind given."""
    from hub.plugin_api import hookimpl

    def hook(item: object) -> object:
        def register_one(register: Callable[[object], None]) -> None:
            register(item)

        return hookimpl(staticmethod(register_one))

    return type("P", (), {f"register_{kind}": hook(item) for kind, item in items.items()})()


def test_the_service_runs_the_pipeline_and_checks_tokens_per_segment(tiny_runtime) -> None:
    from hub.plugin_api import HeadKind, TaskSpec

    task = TaskSpec(
        "t.clauses", HeadKind.MULTI_LABEL, labels=("ter", "use"), preprocessors=("t.mask",), segmenter="t.lines"
    )
    plugins = load(("t", _register(preprocessors=MASK, segmenters=LINES, tasks=task)))
    service = service_with(plugins, tiny_runtime, "pipeline", max_tokens_per_text=40)
    caller = Caller("pipe")
    files = random_adapter_files(service.runtime.spec, [("t.clauses", HeadKind.MULTI_LABEL, ["ter", "use"])])
    service.upload(caller, UploadHeader("clauses"), files)
    document = "\n".join(f"Clause {i} says that we may change it within {i * 10} days." for i in range(30))
    served = service.predict(caller, Target("clauses"), [document, "short one"])
    first = served.predictions[0]
    assert len(first.segments) == 30 and all(document[s.start : s.end] == s.text for s in first.segments)
    assert len(served.predictions[1].segments) == 1
    fanned = service.fan_out(caller, document, [Target("clauses"), Target("clauses")])
    assert [len(s.predictions[0].segments) for s in fanned] == [30, 30]
