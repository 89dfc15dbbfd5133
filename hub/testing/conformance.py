"""The plugin conformance kit: pytest tests any plugin package runs against itself.

    from hub.testing.conformance import PluginConformance
    import hub_acme

    class TestAcmeConformance(PluginConformance):
        plugin = hub_acme          # what the entry point loads
        plugin_name = "acme"       # the entry-point name
        sample_texts = ("A text your tasks expect ...",)
        reader_files = {"acme.csv": Path(__file__).parent / "data" / "tiny.csv"}

It loads the plugin next to the built-in one (alone: list others it needs in ``requires``)
and checks: names are namespaced, preprocessors' offset maps round-trip, segmenters cover,
every task's head builds on a tiny random backbone and answers through the full request path
with offsets into the original text, readers yield valid examples, metrics score gold as
perfect, and the installed distribution declares the entry point.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from importlib import metadata
from itertools import islice
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from hub.plugins.catalog import NAME
from hub.plugins.hookspecs import ENTRY_POINT_GROUP
from hub.plugins.manager import HubPlugins, build_plugins
from hub.serving.app import build_service
from hub.serving.auth import Caller
from hub.serving.service import HubService, Target
from hub.serving.settings import Settings
from hub.serving.upload import UploadHeader
from hub.tasks.head_kinds import check_example, gold, task_kind
from hub.tasks.metrics import check_scores
from hub.tasks.results import Prediction
from hub.tasks.text import check_preprocessed, check_segments
from hub.testing.artifacts import random_adapter_files

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

READ_LIMIT = 200  # examples checked per reader file


def load_plugin(name: str, plugin: object, requires: Sequence[tuple[str, object]] = ()) -> HubPlugins:
    """The plugin, what it requires and the built-in plugin, loaded as the server would (no entry points)."""
    return build_plugins(Settings.from_env(environ={}), extra=[*requires, (name, plugin)], entry_points=False)


class PluginConformance:
    """Subclass as ``Test<Something>`` and set the class attributes below."""

    plugin: object
    plugin_name: str
    sample_texts: Sequence[str] = (
        "A short plain sentence.",
        "Two sentences here. And a second one, with numbers 12.5% and an e-mail a@b.example!",
    )
    reader_files: Mapping[str, Path] = MappingProxyType({})
    requires: Sequence[tuple[str, object]] = ()  # other plugins this one builds on

    # ---- fixtures -------------------------------------------------------------------------
    @pytest.fixture(scope="class")
    def plugins(self) -> HubPlugins:
        return load_plugin(self.plugin_name, self.plugin, self.requires)

    @pytest.fixture(scope="class")
    def tiny_runtime(self, tmp_path_factory: pytest.TempPathFactory) -> Any:
        from hub.engine.runtime import Runtime
        from hub.engine.tiny import save_tiny_backbone

        directory = save_tiny_backbone(tmp_path_factory.mktemp("tiny-backbone"))
        return Runtime.load(str(directory), device="cpu")

    @pytest.fixture(scope="class")
    def service(self, plugins: HubPlugins, tiny_runtime: Any) -> HubService:
        settings = Settings.from_env(environ={}, store=f"memory://conformance-{self.plugin_name}")
        service = build_service(settings, plugins)
        service.attach_runtime(tiny_runtime)
        return service

    def owned(self, plugins: HubPlugins, kind: str) -> tuple[str, ...]:
        return tuple(plugins.catalog.registered_by(self.plugin_name).get(kind, ()))

    # ---- the checks -----------------------------------------------------------------------
    def test_registers_something(self, plugins: HubPlugins) -> None:
        registered = plugins.catalog.registered_by(self.plugin_name)
        assert any(registered.values()), f"plugin {self.plugin_name!r} registered nothing"

    def test_names_are_namespaced(self, plugins: HubPlugins) -> None:
        for kind, names in plugins.catalog.registered_by(self.plugin_name).items():
            for name in names:
                assert NAME.match(name), f"{kind}: {name!r} is not '<domain>.<name>'"
                assert not name.startswith("generic."), f"{name!r}: the generic namespace is the hub's"

    def test_entry_point_is_declared(self) -> None:
        found = [ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.name == self.plugin_name]
        assert found, (
            f"no entry point {self.plugin_name!r} in group {ENTRY_POINT_GROUP!r}: declare it in "
            "pyproject.toml [project.entry-points] and install the package (pip install -e)"
        )
        assert found[0].load() is self.plugin, f"entry point {found[0].value} loads something else"

    def test_preprocessors_round_trip(self, plugins: HubPlugins) -> None:
        for name in self.owned(plugins, "preprocessors"):
            pre = plugins.catalog.preprocessors[name]
            for text in self.sample_texts:
                out = pre.apply(text)
                assert check_preprocessed(text, out) == [], f"{name} on {text!r}"
                assert pre.apply(text) == out, f"{name} is not deterministic"

    def test_segmenters_cover(self, plugins: HubPlugins) -> None:
        for name in self.owned(plugins, "segmenters"):
            segmenter = plugins.catalog.segmenters[name]
            for text in self.sample_texts:
                spans = list(segmenter.split(text))
                assert check_segments(text, spans) == [], f"{name} on {text!r}"
                assert spans or not text.strip(), f"{name} found no segment in {text!r}"

    def test_pipelines_map_back_to_the_original(self, plugins: HubPlugins) -> None:
        for name in self.owned(plugins, "tasks"):
            pipeline = plugins.tasks.pipeline(name)
            for text in self.sample_texts:
                prepared = pipeline.prepare(text)
                for piece in prepared.pieces:
                    for run in piece.offsets.runs:
                        original = text[piece.start + run.src_start : piece.start + run.src_end]
                        if run.copied:
                            assert piece.text[run.out_start : run.out_end] == original, f"{name} on {text!r}"
                    assert piece.offsets.source_length == piece.end - piece.start

    def test_heads_build_on_a_tiny_backbone(self, plugins: HubPlugins, service: HubService) -> None:
        caller = Caller("conformance")
        for i, name in enumerate(self.owned(plugins, "tasks")):
            spec = plugins.tasks.get(name)
            labels = list(spec.labels) if spec.labels is not None else list(task_kind(spec.head_kind).sample_labels)
            files = random_adapter_files(service.runtime.spec, [(name, spec.head_kind, labels)], seed=i)
            adapter = f"conformance-{i}"
            service.upload(caller, UploadHeader(adapter), files)
            served = service.predict(caller, Target(adapter), list(self.sample_texts))
            assert served.head_kind is spec.head_kind
            for text, prediction in zip(self.sample_texts, served.predictions, strict=True):
                _check_prediction(name, text, prediction, labels, spec.segmenter != "")

    def test_readers_yield_valid_examples(self, plugins: HubPlugins) -> None:
        for name in self.owned(plugins, "readers"):
            path = self.reader_files.get(name)
            assert path is not None, f"set reader_files[{name!r}] to a small file in its format"
            examples = list(islice(plugins.catalog.readers[name].read(Path(path)), READ_LIMIT))
            assert examples, f"{name} read no example from {path}"
            for spec in [t for t in plugins.tasks.all() if t.reader == name]:
                for example in examples:
                    assert check_example(example, spec.head_kind, spec.labels) == [], f"{name} for {spec.name}"

    def test_metrics_score_gold_as_perfect(self, plugins: HubPlugins) -> None:
        for name in self.owned(plugins, "metrics"):
            metric = plugins.catalog.metrics[name]
            golds = list(self._gold_for(plugins, name)) or list(task_kind(metric.head_kind).synthetic_gold)
            scores = metric.compute(golds, golds)
            assert check_scores(scores, metric.headline) == [], name
            assert scores[metric.headline] == pytest.approx(1.0), f"{name}: gold against itself"

    def _gold_for(self, plugins: HubPlugins, metric: str) -> Iterator[Any]:
        for spec in plugins.tasks.all():
            path = self.reader_files.get(spec.reader)
            if spec.metric == metric and path is not None:
                examples = islice(plugins.catalog.readers[spec.reader].read(Path(path)), READ_LIMIT)
                yield from (gold(e, spec.head_kind) for e in examples)
                return


def _check_prediction(task: str, text: str, p: Prediction, labels: list[str], segmented: bool) -> None:
    where = f"{task} on {text!r}"
    names = {x.removeprefix("B-").removeprefix("I-") for x in labels}
    for e in p.entities:
        assert 0 <= e.start < e.end <= len(text), f"{where}: entity {e} leaves the text"
        assert e.text == text[e.start : e.end], f"{where}: entity text is not the original's"
        assert e.label in names, f"{where}: entity label {e.label!r}"
    assert {x.label for x in p.labels} <= set(labels), f"{where}: unknown labels"
    assert set(p.predicted) <= set(labels), f"{where}: unknown predicted labels"
    if segmented:
        assert p.segments, f"{where}: a segmented task answered no segment"
        previous = 0
        for s in p.segments:
            assert previous <= s.start < s.end <= len(text) and s.text == text[s.start : s.end], where
            previous = s.end
