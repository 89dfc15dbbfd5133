"""Plugin code under a time budget: what the hop to a worker process costs per request.

For each shipped domain task (medical.ner, legal.unfair_clause, finance.sentiment), requests of
1, 8 and 32 ordinary texts (from ../shared/data when present, else the plugins' sample shapes)
are prepared (segmenter + preprocessors) and, for a task with a postprocessor, finished, two
ways in the same run, interleaved: in the server process (plugin_workers 0) and in the worker
pool (one hop per request carrying all its texts, one more for the postprocessor). Prints the
median microseconds per request and the added cost of the hop; then the fixed medical and legal
rules on the issue's pathological inputs, and the old ones for comparison, with the time the
pool takes to refuse the old one.

    .venv/bin/python benchmarks/bench_plugin_budget.py            # about a minute
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import statistics
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from hub.config.settings import Settings
from hub.plugins.manager import build_plugins
from hub.serving.plugin_work import PluginWork
from hub.tasks.answers import pieces
from hub.tasks.head_kinds import task_kind
from hub.tasks.results import HeadScores

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TASKS = ("medical.ner", "legal.unfair_clause", "finance.sentiment")


def texts_for(task: str, count: int) -> list[str]:
    """Ordinary texts for the task: the corpus's own when it is here."""
    try:
        if task == "medical.ner":
            words = [line.split("\t")[0] for line in (DATA / "medical/ncbi-disease/devel.tsv").open() if line.strip()]
            return [" ".join(words[i * 30 : i * 30 + 30]) for i in range(count)]
        if task == "legal.unfair_clause":
            rows = [line.split("\t")[1] for line in (DATA / "legal/unfair-tos/train.tsv").open()][1:]
            return [" ".join(rows[i * 6 : i * 6 + 6]) for i in range(count)]  # a paragraph of 6 sentences
        with (DATA / "finance/twitter-financial-news-sentiment/train.csv").open() as f:
            return [row["text"] for _, row in zip(range(count), csv.DictReader(f), strict=False)]
    except OSError:
        return [f"Patient {i} seen 03/14/2021, MRN: 00123456. We may end it. $ACME -8.5%" for i in range(count)]


def scores_for(work: PluginWork, task: str, prepared: list[Any]) -> tuple[Any, list[HeadScores]]:
    """A head spec and random-free scores of the right shape for each piece (decoding is cheap)."""
    from adapters_registry.manifest import HeadSpec

    spec = work.tasks.get(task)
    labels = list(spec.labels or task_kind(spec.head_kind).sample_labels)
    head = HeadSpec(task=task, head_kind=spec.head_kind, labels=labels)
    import numpy as np

    rows = []
    for piece in pieces(prepared):
        if spec.head_kind.value != "token":
            rows.append(HeadScores(np.full(len(labels), 1.0 / len(labels), dtype=np.float32)))
            continue
        spans = [m.span() for m in re.finditer(r"\S+", piece.text)] or [(0, 0)]
        probs = np.full((len(spans), len(labels)), 0.01, dtype=np.float32)
        probs[::3, 1] = 0.9  # an entity every third word
        offsets = np.asarray(spans, dtype=np.int64)
        rows.append(HeadScores(probs, offsets, np.arange(len(spans), dtype=np.int64)))
    return head, rows


def one_request(work: PluginWork, task: str, texts: list[str]) -> float:
    pipeline = work.tasks.pipeline(task)
    start = time.perf_counter()
    prepared = work.prepare([(pipeline, t) for t in texts])
    if pipeline.postprocessor is not None:
        head, scores = scores_for(work, task, prepared)
        work.answers(pipeline, head, prepared, scores)
    return time.perf_counter() - start


def hop_table(repeats: int) -> None:
    settings = Settings.from_env(environ={})
    plugins = build_plugins(settings)
    here = PluginWork(plugins.tasks, workers=0, budget_s=2.0)
    pool = PluginWork(plugins.tasks, workers=2, budget_s=2.0)
    print("| task | texts/request | in-process us | worker pool us | added us per request | ratio |")
    print("|---|---|---|---|---|---|")
    try:
        for task in TASKS:
            for count in (1, 8, 32):
                texts = texts_for(task, count)
                a, b = [], []
                for _ in range(repeats):  # interleaved, so both arms see the same machine
                    a.append(one_request(here, task, texts))
                    b.append(one_request(pool, task, texts))
                ma, mb = statistics.median(a) * 1e6, statistics.median(b) * 1e6
                print(f"| {task} | {count} | {ma:,.0f} | {mb:,.0f} | {mb - ma:,.0f} | {mb / ma:.2f} |")
    finally:
        pool.close()


def pathological() -> None:
    from hub_legal.sentences import split_sentences
    from hub_medical.deid import deidentify

    cases = [
        ("medical.deid, 'MRN' + 19,990 spaces + '!'", lambda: deidentify("MRN" + " " * 19_990 + "!")),
        ("legal.sentences, 8 texts of 20,000 newlines", lambda: [split_sentences("\n" * 20_000) for _ in range(8)]),
    ]
    print("\n| fixed rule, pathological input | CPU s |")
    print("|---|---|")
    for name, run in cases:
        start = time.process_time()
        run()
        print(f"| {name} | {time.process_time() - start:.4f} |")
    old = re.compile(r"\bMRN\s*[:#]?\s*(?P<mask>(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{3,})\b", re.IGNORECASE)
    from hub.plugins.workers import PluginTimeout, WorkerPool

    pool = WorkerPool({"old": lambda text: old.search(text) is not None}, workers=1, budget_s=2.0)
    start = time.perf_counter()
    try:
        pool.call("", "old", "MRN" + " " * 19_990 + "!")
        outcome = "answered"
    except PluginTimeout:
        outcome = "refused"
    finally:
        pool.close()
    print(f"\nthe OLD RECORD rule in the pool (budget 2 s): {outcome} after {time.perf_counter() - start:.2f} s wall")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=40, help="requests per arm and size (default 40)")
    args = p.parse_args()
    hop_table(args.repeats)
    pathological()


if __name__ == "__main__":
    main()
