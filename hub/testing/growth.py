"""The conformance kit's running-time check: a plugin's text code must be linear in the text.

A backtracking regex is correct on every ordinary text and quadratic (or worse) on one shape:
``\\s*[:#]?\\s*`` after "MRN" took 27 s on "MRN" + 19,990 spaces + "!". Such shapes are long
runs of one character (blanks, newlines, punctuation) after a word the rule looks for, ended
by a character the rule does not expect. This check builds them from the words of the author's
samples and the kit's adversarial texts: every word followed by a run of ``m`` copies of the
filler and a stop, for each filler, at ``m = n`` and ``m = 8n``, and times each preprocessor,
segmenter and postprocessor the plugin registers on both (CPU time of the thread that runs it,
the least of a few runs, in a worker process so that a catastrophic pattern cannot hang the
kit). Linear code takes about 8x as long on the longer text; a component whose time grows by
more than ``RATIO_LIMIT`` (plus ``SLACK_S``, for components too fast to time) fails, named with
the filler, the sizes and both times. Quadratic code grows 64x.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from hub.errors import InvalidArgument
from hub.plugins.manager import HubPlugins
from hub.plugins.workers import WorkerPool
from hub.tasks.head_kinds import task_kind
from hub.tasks.pipeline import AnsweredSegment, TaskPipeline
from hub.tasks.specs import TaskSpec
from hub.testing.fuzz import synthetic_prediction

FILLERS = (" ", "\n", "\t", "\r\n", " \n", ".", "!", "?", ",", ";", ":", "-", "#", "*", "/", "(", ")", "'", '"', "0")
RUN = 512  # n: characters in each run of the shorter text
FACTOR = 8  # the longer text's runs are FACTOR times as long
RATIO_LIMIT = 20.0  # linear code: ~8x; quadratic: ~64x
SLACK_S = 0.005  # CPU seconds a component may add on top, whatever its ratio (timer and cache noise)
REPEATS = 3  # runs per text; the least time counts
WORDS = 24  # distinct words from the samples, each followed by a run
TIME_LIMIT_S = 20.0  # one timing; past it the component fails without waiting longer


@dataclass(frozen=True)
class Component:
    what: str  # "preprocessor 'x.y'", as problems name it
    run: Callable[[str], Any]


def components(plugins: HubPlugins, plugin: str) -> list[Component]:
    """The plugin's preprocessors, segmenters and its tasks' postprocessors."""
    catalog = plugins.catalog
    owned = catalog.registered_by(plugin)
    found = [Component(f"preprocessor {n!r}", catalog.preprocessors[n].apply) for n in owned.get("preprocessors", ())]
    found += [Component(f"segmenter {n!r}", catalog.segmenters[n].split) for n in owned.get("segmenters", ())]
    for name in owned.get("tasks", ()):
        spec = plugins.tasks.get(name)
        if spec.postprocessor is not None:
            found.append(Component(f"task {name!r}: postprocessor", _postprocess(spec, plugins.tasks.pipeline(name))))
    return found


def _postprocess(spec: TaskSpec, pipeline: TaskPipeline) -> Callable[[str], Any]:
    """The postprocessor on an answer for the whole text, called as the request path calls it."""
    labels = list(spec.labels) if spec.labels is not None else list(task_kind(spec.head_kind).sample_labels)

    def run(text: str) -> Any:
        answer = synthetic_prediction(spec, labels, text, 0, len(text))
        return pipeline.postprocess(answer, text, AnsweredSegment(0, len(text), text))

    return run


def words_of(texts: Iterable[str], limit: int = WORDS) -> list[str]:
    """Distinct words of the texts in order (letters and digits runs), at most ``limit``."""
    seen: dict[str, None] = {}
    for text in texts:
        for word in re.findall(r"\w+", text):
            seen.setdefault(word, None)
            if len(seen) >= limit:
                return list(seen)
    return list(seen) or ["word"]


def shaped(words: Sequence[str], filler: str, run: int) -> str:
    """Each word, then ``run`` fillers, then a stop the filler is not."""
    stop = "?" if filler == "!" else "!"
    return "".join(word + filler * run + stop for word in words)


def growth_problems(plugins: HubPlugins, plugin: str, texts: Iterable[str]) -> list[str]:
    """Every component of ``plugin`` whose time grows faster than linearly, with the numbers."""
    found = components(plugins, plugin)
    if not found:
        return []
    words = words_of(texts)
    pool = WorkerPool({"time": lambda i, text: _least_time(found[i].run, text)}, workers=1, budget_s=TIME_LIMIT_S)
    try:
        return [p for i, c in enumerate(found) if (p := _check(pool, i, c, words))]
    finally:
        pool.close()


def _check(pool: WorkerPool, index: int, component: Component, words: Sequence[str]) -> str:
    """The first problem of one component (its other shapes are not timed once one fails)."""
    for filler in FILLERS:
        short, long = shaped(words, filler, RUN), shaped(words, filler, RUN * FACTOR)
        times = []
        for text in (short, long):
            try:
                times.append(pool.call("", "time", index, text))
            except InvalidArgument:  # ran past TIME_LIMIT_S (its worker was replaced)
                times.append(float("inf"))
                break
            except Exception as exc:  # noqa: BLE001 - the kit's other checks name exceptions
                return f"{component.what} raised {type(exc).__name__} on runs of {filler!r}"
        if len(times) < 2 or times[1] > RATIO_LIMIT * times[0] + SLACK_S:
            return _slower(component, filler, words, (short, long), times)
    return ""


def _least_time(run: Callable[[str], Any], text: str) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        start = time.thread_time()
        run(text)
        best = min(best, time.thread_time() - start)
    return best


def _slower(component: Component, filler: str, words: Sequence[str], texts: Sequence[str], times: list[float]) -> str:
    sample = ", ".join(repr(w) for w in words[:4])
    shape = f"runs of {filler!r} after each of {len(words)} words ({sample}, ...), each run ended by a stop"
    if len(times) < 2:
        return (
            f"{component.what} is slower than linear on {shape}: {times[0]:.4f} s CPU at {RUN}-character runs "
            f"({len(texts[0]):,} characters), more than {TIME_LIMIT_S:g} s at {RUN * FACTOR} ({len(texts[1]):,})"
        )
    return (
        f"{component.what} is slower than linear on {shape}: {times[0]:.4f} s CPU at {RUN}-character runs "
        f"({len(texts[0]):,} characters), {times[1]:.4f} s at {RUN * FACTOR} ({len(texts[1]):,}): "
        f"x{times[1] / max(times[0], 1e-9):.0f} for x{FACTOR} the input (linear code: about x{FACTOR}; "
        f"the limit is x{RATIO_LIMIT:g} + {SLACK_S * 1000:g} ms). A regex with adjacent or nested "
        "quantifiers over the same characters backtracks: see docs/plugins.md, 'Time budget'"
    )
