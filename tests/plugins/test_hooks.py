"""One test per hook (test_hook_<name>); test_meta.py fails when a hookspec has none."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from hub.errors import InvalidArtifact
from hub.plugin_api import (
    AdapterEvent,
    HeadKind,
    Manifest,
    Metric,
    Preprocessor,
    Reader,
    Segmenter,
    Span,
    TaskSpec,
    TextExample,
    classification_scores,
    hookimpl,
    replace_patterns,
)
from hub.plugins.catalog import PluginError
from hub.serving.auth import Caller
from hub.serving.service import Target
from hub.serving.upload import UploadHeader
from hub.tasks.pipeline import PluginFault
from hub.testing.artifacts import random_adapter_files
from tests.plugins.conftest import load, service_with

CALLER = Caller("hooks")
DIGITS = re.compile(r"\d+")


class Demo:
    """A plugin with one of everything."""

    @hookimpl
    def register_preprocessors(self, register: Callable[[Preprocessor], None]) -> None:
        register(Preprocessor("demo.digits", lambda text: replace_patterns(text, [(DIGITS, "#")])))

    @hookimpl
    def register_segmenters(self, register: Callable[[Segmenter], None]) -> None:
        register(Segmenter("demo.lines", lambda text: [Span(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]))

    @hookimpl
    def register_readers(self, register: Callable[[Reader], None]) -> None:
        def read(path: Path):
            for i, line in enumerate(path.read_text().splitlines()):
                text, _, label = line.rpartition(",")
                yield TextExample(text, (label,), id=str(i))

        register(Reader("demo.lines", read))

    @hookimpl
    def register_metrics(self, register: Callable[[Metric], None]) -> None:
        register(Metric("demo.accuracy", HeadKind.SEQUENCE, classification_scores, headline="accuracy"))

    @hookimpl
    def register_tasks(self, register: Callable[[TaskSpec], None]) -> None:
        register(
            TaskSpec(
                "demo.mood",
                HeadKind.SEQUENCE,
                labels=["calm", "loud"],  # type: ignore[arg-type]  # a list is accepted and frozen
                preprocessors=("demo.digits",),
                segmenter="demo.lines",
                metric="demo.accuracy",
                reader="demo.lines",
            )
        )


def one_hook(hook: str, body: Callable[..., object]) -> object:
    """A plugin object implementing just ``hook`` with ``body``."""
    return type("One", (), {hook: hookimpl(staticmethod(body))})()


class Tools:
    """The plugin "acme_tools" also owns the namespace "acme"."""

    @hookimpl
    def register_namespaces(self, register: Callable[[str], None]) -> None:
        register("acme")

    @hookimpl
    def register_tasks(self, register: Callable[[TaskSpec], None]) -> None:
        register(TaskSpec("acme.intent", HeadKind.SEQUENCE, labels=("a", "b")))
        register(TaskSpec("acme_tools.intent", HeadKind.SEQUENCE, labels=("a", "b")))


def test_hook_register_namespaces() -> None:
    plugins = load(("acme_tools", Tools()))
    assert plugins.tasks.get("acme.intent").plugin == "acme_tools"
    assert plugins.catalog.namespaces.of("acme_tools") == ("acme", "acme_tools")
    assert next(p for p in plugins.plugins() if p.name == "acme_tools").namespaces == ("acme", "acme_tools")

    def bad(register: Callable[[object], None]) -> None:
        register("Acme-Corp")
        register(("acme",))

    with pytest.raises(PluginError) as caught:
        load(("x", one_hook("register_namespaces", bad)))
    assert "plugin 'x': register_namespaces passed 'Acme-Corp'; a namespace is a str" in str(caught.value)
    assert "plugin 'x': register_namespaces passed ('acme',)" in str(caught.value)
    with pytest.raises(PluginError, match="namespace 'acme' is declared by plugins 'acme_tools' and 'copy'"):
        load(("acme_tools", Tools()), ("copy", one_hook("register_namespaces", lambda register: register("acme"))))


def test_hook_register_tasks() -> None:
    plugins = load(("demo", Demo()))
    spec = plugins.tasks.get("demo.mood")
    assert spec.plugin == "demo" and spec.labels == ("calm", "loud")
    assert plugins.tasks.contract("demo.mood") is not None
    assert "demo.mood" in [t.name for t in plugins.tasks.all()]
    assert plugins.catalog.registered_by("demo")["tasks"] == ("demo.mood",)

    def bad(register: Callable[[object], None]) -> None:
        register(TaskSpec("Mood", HeadKind.SEQUENCE))
        register("demo.not_a_spec")
        register(TaskSpec("bad.tokens", HeadKind.TOKEN, labels=("B-X", "Z")))
        register(TaskSpec("bad.ref", HeadKind.SEQUENCE, preprocessors=("nowhere.x",), metric="generic.entities"))

    with pytest.raises(PluginError) as caught:
        load(("bad", one_hook("register_tasks", bad)))
    text = str(caught.value)
    assert "plugin 'bad': task name 'Mood' is not namespaced" in text
    assert "register_tasks passed a str to register(); it takes a TaskSpec" in text
    assert "token labels must be O, B-X and I-X tags" in text
    assert "names preprocessor 'nowhere.x', which no enabled plugin registers" in text
    assert "metric 'generic.entities' scores token tasks, the task is sequence" in text


def test_hook_register_preprocessors() -> None:
    plugins = load(("demo", Demo()))
    assert plugins.catalog.preprocessors["demo.digits"].apply("a 12 b").text == "a # b"
    prepared = plugins.tasks.pipeline("demo.mood").prepare("room 101\nfloor 7")
    assert [p.text for p in prepared.pieces] == ["room #", "floor #"]
    second = prepared.pieces[1]
    start, end = second.offsets.span(6, 7)  # the "#" maps back to "7" in the original
    assert "room 101\nfloor 7"[second.start + start : second.start + end] == "7"

    upper = Preprocessor("x.y", str.upper)  # type: ignore[arg-type]  # returns a str: a broken contract
    broken = one_hook("register_preprocessors", lambda register: register(upper))
    task = one_hook(
        "register_tasks", lambda register: register(TaskSpec("t.t", HeadKind.SEQUENCE, preprocessors=("x.y",)))
    )
    pipeline = load(("x", broken), ("t", task)).tasks.pipeline("t.t")
    with pytest.raises(PluginFault, match=r"preprocessor 'x.y' returned no Preprocessed"):
        pipeline.prepare("secret text")


def test_hook_register_segmenters() -> None:
    plugins = load(("demo", Demo()))
    spans = plugins.catalog.segmenters["demo.lines"].split("one\n\ntwo")
    assert spans == [Span(0, 3), Span(5, 8)]
    prepared = plugins.tasks.pipeline("demo.mood").prepare("one\n\ntwo")
    assert prepared.segmented and [(p.start, p.end) for p in prepared.pieces] == [(0, 3), (5, 8)]

    overlapping = one_hook(
        "register_segmenters", lambda register: register(Segmenter("x.s", lambda t: [Span(0, 3), Span(2, 4)]))
    )
    task = one_hook("register_tasks", lambda register: register(TaskSpec("t.t", HeadKind.SEQUENCE, segmenter="x.s")))
    with pytest.raises(PluginFault, match=r"segmenter 'x.s': segment 1"):
        load(("x", overlapping), ("t", task)).tasks.pipeline("t.t").prepare("abcdef")


def test_hook_register_readers(tmp_path: Path) -> None:
    plugins = load(("demo", Demo()))
    data = tmp_path / "mood.txt"
    data.write_text("so quiet,calm\nSTOP IT,loud\n")
    examples = list(plugins.catalog.readers["demo.lines"].read(data))
    assert examples == [TextExample("so quiet", ("calm",), "0"), TextExample("STOP IT", ("loud",), "1")]

    with pytest.raises(PluginError, match="register_readers passed a function to register"):
        load(("x", one_hook("register_readers", lambda register: register(lambda path: iter(())))))


def test_hook_register_metrics() -> None:
    plugins = load(("demo", Demo()))
    metric = plugins.catalog.metrics["demo.accuracy"]
    assert metric.compute(["calm", "loud"], ["calm", "calm"])["accuracy"] == 0.5
    assert set(plugins.catalog.metrics) >= {"generic.classification", "generic.multi_label", "generic.entities"}

    clash = one_hook(
        "register_metrics",
        lambda register: register(Metric("demo.accuracy", HeadKind.SEQUENCE, len, "x")),  # type: ignore[arg-type]
    )
    with pytest.raises(PluginError) as caught:
        load(("demo", Demo()), ("other", clash))
    assert (
        "plugin 'other': metric 'demo.accuracy' is in namespace 'demo', which belongs to plugin 'demo': "
        "name it 'other.accuracy'"
    ) in str(caught.value)


def _upload(service, name: str, task: str, labels: list[str], kind: HeadKind = HeadKind.SEQUENCE):
    files = random_adapter_files(service.runtime.spec, [(task, kind, labels)], seed=len(name))
    return service.upload(CALLER, UploadHeader(name), files)


class StrictDemo(Demo):
    """Demo with a validator: an adapter for its task needs a description starting "ok"."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    @hookimpl
    def validate_adapter(self, manifest: Manifest, task: TaskSpec) -> list[str]:
        self.seen.append((task.name, task.plugin))
        return [] if manifest.description.startswith("ok") else [f"{task.name} needs a description"]


class BrokenValidator:
    @hookimpl
    def register_tasks(self, register: Callable[[TaskSpec], None]) -> None:
        register(TaskSpec("broken.task", HeadKind.SEQUENCE, labels=("a", "b")))

    @hookimpl
    def validate_adapter(self, manifest: Manifest, task: TaskSpec) -> list[str]:
        raise RuntimeError("bug in a plugin")


def test_hook_validate_adapter(tiny_runtime) -> None:
    strict = StrictDemo()
    service = service_with(load(("demo", strict)), tiny_runtime, "validate")
    with pytest.raises(InvalidArtifact, match=r"demo.mood needs a description"):
        _upload(service, "mood", "demo.mood", ["calm", "loud"])
    assert strict.seen == [("demo.mood", "demo")]
    files = random_adapter_files(service.runtime.spec, [("demo.mood", HeadKind.SEQUENCE, ["calm", "loud"])])
    assert service.upload(CALLER, UploadHeader("mood", description="ok: trained on tickets"), files).version == 1

    service = service_with(load(("demo", Demo())), tiny_runtime, "v3")
    assert _upload(service, "mood", "demo.mood", ["calm", "loud"]).version == 1


def test_a_validator_sees_only_its_own_plugins_tasks(tiny_runtime) -> None:
    strict = StrictDemo()
    service = service_with(load(("demo", strict), ("broken", BrokenValidator())), tiny_runtime, "own-tasks")
    with pytest.raises(InvalidArtifact, match=r"demo.mood needs a description") as caught:
        _upload(service, "mood", "demo.mood", ["calm", "loud"])
    assert "broken" not in str(caught.value)  # the raising validator of 'broken' was not asked
    with pytest.raises(InvalidArtifact, match="plugin 'broken' could not check this adapter"):
        _upload(service, "b", "broken.task", ["a", "b"])
    assert _upload(service, "plain", "generic.sequence_classification", ["x", "y"]).version == 1
    assert strict.seen == [("demo.mood", "demo")]  # nor did StrictDemo see the others' tasks


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, AdapterEvent]] = []

    @hookimpl
    def adapter_loaded(self, event: AdapterEvent) -> None:
        self.events.append(("loaded", event))

    @hookimpl
    def adapter_evicted(self, event: AdapterEvent) -> None:
        self.events.append(("evicted", event))


class Raiser:
    @hookimpl(tryfirst=True)
    def adapter_loaded(self, event: AdapterEvent) -> None:
        raise RuntimeError("observer bug")

    @hookimpl(tryfirst=True)
    def adapter_evicted(self, event: AdapterEvent) -> None:
        raise RuntimeError("observer bug")


def _events_service(tiny_runtime, name: str):
    recorder = Recorder()
    plugins = load(("recorder", recorder), ("raiser", Raiser()))
    # room on the device tier for one of these tiny adapters (about 1.3 kB packed), not two
    service = service_with(plugins, tiny_runtime, name, device_cache_bytes=2000)
    for adapter in ("a", "b"):
        _upload(service, adapter, "generic.sequence_classification", ["x", "y"])
    return service, recorder


def test_hook_adapter_loaded(tiny_runtime, caplog: pytest.LogCaptureFixture) -> None:
    service, recorder = _events_service(tiny_runtime, "loaded")
    service.predict(CALLER, Target("a"), ["first text"])  # the raising observer runs first
    service.predict(CALLER, Target("a"), ["cached now"])
    loaded = [e for kind, e in recorder.events if kind == "loaded"]
    assert loaded == [AdapterEvent("hooks", "a", 1, "loaded", ("generic.sequence_classification",))]
    assert "plugin 'raiser': adapter_loaded raised; ignored" in caplog.text


def test_hook_adapter_evicted(tiny_runtime) -> None:
    service, recorder = _events_service(tiny_runtime, "evicted")
    service.predict(CALLER, Target("a"), ["first"])
    service.predict(CALLER, Target("b"), ["second"])  # no room for both: "a" leaves memory
    service.delete_adapter(CALLER, "b", "")
    evicted = [e for kind, e in recorder.events if kind == "evicted"]
    assert evicted == [AdapterEvent("hooks", "a", 1, "capacity"), AdapterEvent("hooks", "b", 1, "deleted")]
