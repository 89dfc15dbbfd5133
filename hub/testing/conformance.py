"""The plugin conformance kit: pytest tests any plugin package runs against itself.

    from hub.testing.conformance import PluginConformance

    class TestAcmeConformance(PluginConformance):
        plugin_name = "acme"       # the entry-point name (the kit loads it as the server does)
        sample_texts = ("A text your tasks expect ...",)
        reader_files = {"acme.csv": Path(__file__).parent / "data" / "tiny.csv"}

It loads the plugin as a server with default settings would: beside EVERY installed plugin and
the built-in one, so that a namespace or name clash with another installed plugin fails here,
before a deploy does. It checks that the distribution declares the entry point; that
preprocessors, segmenters, task pipelines and postprocessors behave on the author's samples AND
on the kit's adversarial texts (hub.testing.fuzz: e-mails, URLs, numbers, emoji, combining marks,
other scripts, empty, very long): no exception, offsets that map back to the original
characters, the same answer twice; that a preprocessor rewrites a text padded with spaces or a
prefix as it rewrites the text alone (hub.testing.differential); that segments cover every word
and the answers cover exactly the segments not marked as context; that every task's head builds
on a tiny random backbone and answers through the real upload and request path; that readers
yield valid examples and metrics score gold as perfect. Each failure lists every problem found
(this module is not assertion-rewritten by pytest, so messages are built explicitly).
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

from hub.config.settings import Settings
from hub.errors import DomainError
from hub.plugins.catalog import PluginError
from hub.plugins.hookspecs import ENTRY_POINT_GROUP
from hub.plugins.manager import HubPlugins, build_plugins
from hub.serving.app import build_service
from hub.serving.auth import Caller
from hub.serving.service import HubService, Target
from hub.serving.upload import UploadHeader
from hub.tasks.head_kinds import check_example, gold, task_kind
from hub.tasks.metrics import check_scores
from hub.tasks.specs import TaskSpec
from hub.testing import differential, fuzz, growth
from hub.testing.artifacts import random_adapter_files

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

READ_LIMIT = 200  # examples checked per reader file
SHOWN = 25  # problems listed in one failure; the count says how many more there were

# What ``requires`` holds: an installed plugin's entry-point name, or a (name, plugin object)
# pair for a plugin that is not installed (a plugin object defined in the test itself).
Requirement = str | tuple[str, object]


def fail_on(problems: Sequence[str], what: str) -> None:
    """Raise one AssertionError listing every problem (the first SHOWN of them), or nothing."""
    if not problems:
        return
    lines = [f"- {p}" for p in problems[:SHOWN]]
    if len(problems) > SHOWN:
        lines.append(f"- ... and {len(problems) - SHOWN} more")
    raise AssertionError(f"{what}: {len(problems)} problem(s)\n" + "\n".join(lines))


def installed_plugins() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def load_plugin(
    name: str, plugin: object | None = None, requires: Sequence[Requirement] = (), *, installed: bool = False
) -> HubPlugins:
    """The plugin ``name`` loaded as the server would, with the built-in plugin and ``requires``.

    ``plugin``: the object the entry point loads (None: load the installed entry point).
    ``installed``: also load every other installed plugin, as a server with default settings
    does. Raises PluginError naming every problem, a missing requirement included.
    """
    found = installed_plugins()
    named, given = _split(requires)
    problems = [
        f"plugin {name!r} requires plugin {n!r}, which is not installed here (installed: "
        f"{', '.join(sorted(found)) or 'none'}): install it, or give requires=[({n!r}, its plugin object)]"
        for n in named
        if n not in found
    ]
    if plugin is None and name not in found:
        problems.append(
            f"plugin {name!r} is not installed (no entry point {name!r} in group {ENTRY_POINT_GROUP!r}): "
            "install your package (pip install -e .), or set `plugin` to the object the entry point names"
        )
    if problems:
        raise PluginError(problems)
    extra = [*given, *([] if plugin is None else [(name, plugin)])]
    others = (set(found) if installed else set(named)) - {n for n, _ in extra}
    allow = others | {"generic"} | ({name} if plugin is None else set())
    settings = Settings.from_env(environ={}, plugins_allow=",".join(sorted(allow)))
    return build_plugins(settings, extra=extra)


def _split(requires: Sequence[Requirement]) -> tuple[list[str], list[tuple[str, object]]]:
    if isinstance(requires, str):
        raise TypeError(
            f"requires must be a sequence of plugin names, got the string {requires!r}: write ({requires!r},)"
        )
    named: list[str] = []
    given: list[tuple[str, object]] = []
    for r in requires:
        if isinstance(r, str):
            named.append(r)
        elif isinstance(r, tuple) and len(r) == 2 and isinstance(r[0], str):
            given.append(r)
        else:
            raise TypeError(
                f"requires holds {r!r}: each entry is an installed plugin's name ('finance') or a "
                "(name, plugin object) pair for one that is not installed"
            )
    return named, given


class PluginConformance:
    """Subclass as ``Test<Something>`` and set the class attributes below."""

    plugin_name: str  # the entry-point name: the plugin's name and its own namespace
    plugin: object | None = None  # what the entry point loads; None: load the installed entry point
    sample_texts: Sequence[str] = (
        "A short plain sentence.",
        "Two sentences here. And a second one, with numbers 12.5% and an e-mail a@b.example!",
    )
    reader_files: Mapping[str, Path] = MappingProxyType({})  # reader name -> a small file in its format
    requires: Sequence[Requirement] = ()  # plugins whose names this one's tasks refer to
    load_installed: bool = True  # load every installed plugin beside this one, as a server does
    adversarial_texts: Sequence[str] = fuzz.ADVERSARIAL_TEXTS  # extend, do not shrink

    # ---- fixtures (class-scoped, so classmethods: pytest 10 refuses instance methods) -----------
    @pytest.fixture(scope="class")
    @classmethod
    def plugins(cls) -> HubPlugins:
        return load_plugin(cls.plugin_name, cls.plugin, cls.requires, installed=cls.load_installed)

    @pytest.fixture(scope="class")
    @classmethod
    def tiny_runtime(cls, tmp_path_factory: pytest.TempPathFactory) -> Any:
        from hub.engine.runtime import Runtime
        from hub.engine.tiny import save_tiny_backbone

        directory = save_tiny_backbone(tmp_path_factory.mktemp("tiny-backbone"))
        return Runtime.load(str(directory), device="cpu")

    @pytest.fixture(scope="class")
    @classmethod
    def service(cls, plugins: HubPlugins, tiny_runtime: Any) -> HubService:
        settings = Settings.from_env(environ={}, store=f"memory://conformance-{cls.plugin_name}")
        service = build_service(settings, plugins)
        service.attach_runtime(tiny_runtime)
        return service

    def owned(self, plugins: HubPlugins, kind: str) -> tuple[str, ...]:
        return tuple(plugins.catalog.registered_by(self.plugin_name).get(kind, ()))

    def texts(self) -> list[str]:
        return [*self.sample_texts, *self.adversarial_texts]

    # ---- the checks -----------------------------------------------------------------------
    def test_loads_beside_the_installed_plugins(self) -> None:
        """What the server's start-up would refuse (names outside the plugin's namespaces,
        clashes with installed plugins, names nobody registers, a missing requirement)."""
        try:
            load_plugin(self.plugin_name, self.plugin, self.requires, installed=self.load_installed)
        except PluginError as exc:
            fail_on(exc.problems, f"a server with plugin {self.plugin_name!r} installed would refuse to start")

    def test_registers_something(self, plugins: HubPlugins) -> None:
        registered = plugins.catalog.registered_by(self.plugin_name)
        if not any(registered.values()):
            fail_on([f"plugin {self.plugin_name!r} registered nothing (implement a register_* hook)"], "registry")

    def test_entry_point_is_declared(self) -> None:
        found = installed_plugins().get(self.plugin_name)
        problems = []
        if found is None:
            problems.append(
                f"no entry point {self.plugin_name!r} in group {ENTRY_POINT_GROUP!r}: declare it in pyproject.toml "
                "[project.entry-points] and install the package (pip install -e .)"
            )
        elif self.plugin is not None and found.load() is not self.plugin:
            problems.append(f"entry point {self.plugin_name!r} = {found.value} loads something else than `plugin`")
        fail_on(problems, "entry point")

    def test_preprocessors_round_trip(self, plugins: HubPlugins) -> None:
        problems = []
        for name in self.owned(plugins, "preprocessors"):
            problems += fuzz.preprocessor_problems(plugins.catalog.preprocessors[name], self.texts())
        fail_on(problems, "preprocessors")

    def test_preprocessors_rewrite_padded_texts_alike(self, plugins: HubPlugins) -> None:
        """Each text's core, padded with spaces or a prefix, is rewritten as the core alone is."""
        problems = []
        for name in self.owned(plugins, "preprocessors"):
            problems += differential.padded_problems(plugins.catalog.preprocessors[name], self.texts())
        fail_on(problems, "preprocessors on padded texts")

    def test_segmenters_cover(self, plugins: HubPlugins) -> None:
        problems = []
        for name in self.owned(plugins, "segmenters"):
            problems += fuzz.segmenter_problems(plugins.catalog.segmenters[name], self.texts())
        fail_on(problems, "segmenters")

    def test_pipelines_map_back_to_the_original(self, plugins: HubPlugins) -> None:
        problems = []
        for name in self.owned(plugins, "tasks"):
            problems += fuzz.pipeline_problems(name, plugins.tasks.pipeline(name), self.texts())
        fail_on(problems, "task pipelines")

    def test_postprocessors_keep_answers_in_the_text(self, plugins: HubPlugins) -> None:
        problems = []
        for name in self.owned(plugins, "tasks"):
            spec = plugins.tasks.get(name)
            problems += fuzz.postprocessor_problems(spec, plugins.tasks.pipeline(name), _labels(spec), self.texts())
        fail_on(problems, "postprocessors")

    def test_text_code_runs_in_linear_time(self, plugins: HubPlugins) -> None:
        fail_on(growth.growth_problems(plugins, self.plugin_name, self.texts()), "running time (hub/testing/growth.py)")

    def test_heads_build_on_a_tiny_backbone(self, plugins: HubPlugins, service: HubService) -> None:
        """Every task through the real upload and request path, on every text a request may hold."""
        caller = Caller("conformance")
        limit = service.settings.max_text_chars
        texts = [t for t in self.texts() if t.strip() and len(t) <= limit]
        problems: list[str] = []
        for i, name in enumerate(self.owned(plugins, "tasks")):
            spec = plugins.tasks.get(name)
            labels = _labels(spec)
            files = random_adapter_files(service.runtime.spec, [(name, spec.head_kind, labels)], seed=i)
            adapter = f"conformance-{i}"
            try:
                service.upload(caller, UploadHeader(adapter), files)
            except Exception as exc:  # noqa: BLE001 - reported with the others
                problems.append(f"task {name!r}: a well-formed adapter was refused: {type(exc).__name__}: {exc}")
                continue
            pipeline = plugins.tasks.pipeline(name)
            for text, answer in _answers(service, caller, adapter, texts, problems, name):
                where = f"task {name!r} on {fuzz.show(text)}"
                answered = [(x.start, x.end, x.kind) for x in pipeline.prepare(text).pieces] if spec.segmenter else None
                problems += fuzz.answer_problems(where, text, answer, labels, segments=answered)
        fail_on(problems, "answers through the request path")

    def test_readers_yield_valid_examples(self, plugins: HubPlugins) -> None:
        problems = []
        for name in self.owned(plugins, "readers"):
            path = self.reader_files.get(name)
            if path is None:
                problems.append(f"reader {name!r}: set reader_files[{name!r}] to a small file in its format")
                continue
            try:
                examples = list(islice(plugins.catalog.readers[name].read(Path(path)), READ_LIMIT))
            except Exception as exc:  # noqa: BLE001 - reported with the others
                problems.append(f"reader {name!r} raised {type(exc).__name__}: {exc} reading {path}")
                continue
            if not examples:
                problems.append(f"reader {name!r} read no example from {path}")
            for spec in [t for t in plugins.tasks.all() if t.reader == name]:
                for n, example in enumerate(examples):
                    found = check_example(example, spec.head_kind, spec.labels)
                    problems += [f"reader {name!r}, example {n} of {path}, for task {spec.name!r}: {p}" for p in found]
        fail_on(problems, "readers")

    def test_metrics_score_gold_as_perfect(self, plugins: HubPlugins) -> None:
        problems = []
        for name in self.owned(plugins, "metrics"):
            metric = plugins.catalog.metrics[name]
            golds = list(self._gold_for(plugins, name)) or list(task_kind(metric.head_kind).synthetic_gold)
            try:
                scores = metric.compute(golds, golds)
            except Exception as exc:  # noqa: BLE001 - reported with the others
                problems.append(f"metric {name!r} raised {type(exc).__name__}: {exc} scoring gold against itself")
                continue
            found = check_scores(scores, metric.headline)
            problems += [f"metric {name!r}: {p}" for p in found]
            if not found and scores[metric.headline] != pytest.approx(1.0):
                problems.append(
                    f"metric {name!r}: gold against itself scores {metric.headline} {scores[metric.headline]}"
                )
        fail_on(problems, "metrics")

    def _gold_for(self, plugins: HubPlugins, metric: str) -> Iterator[Any]:
        for spec in plugins.tasks.all():
            path = self.reader_files.get(spec.reader)
            if spec.metric == metric and path is not None:
                examples = islice(plugins.catalog.readers[spec.reader].read(Path(path)), READ_LIMIT)
                yield from (gold(e, spec.head_kind) for e in examples)
                return


def _labels(spec: TaskSpec) -> list[str]:
    return list(spec.labels) if spec.labels is not None else list(task_kind(spec.head_kind).sample_labels)


def _answers(
    service: HubService, caller: Caller, adapter: str, texts: list[str], problems: list[str], task: str
) -> list[tuple[str, Any]]:
    """(text, answer) for each text that gets one: one call for all, or, when that fails, text
    by text, naming the texts the request fails on. A text the hub refuses as the client's
    mistake (a DomainError: too many tokens for a task without a segmenter) is no plugin's fault."""
    try:
        return list(zip(texts, service.predict(caller, Target(adapter), texts).predictions, strict=True))
    except Exception:  # noqa: BLE001 - retried one by one below, to name the texts
        pass
    answered = []
    for text in texts:
        try:
            answered.append((text, service.predict(caller, Target(adapter), [text]).predictions[0]))
        except DomainError:
            continue
        except Exception as exc:  # noqa: BLE001 - reported with the others
            problems.append(f"task {task!r}: the request failed with {type(exc).__name__}: {exc} on {fuzz.show(text)}")
    return answered
