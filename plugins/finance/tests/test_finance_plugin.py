"""The finance plugin: conformance kit, social/number preprocessing, CSV reader, metrics."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import hub_finance
import pytest
from hub_finance.data import LABELS, read_csv
from hub_finance.text import numbers, social

from hub.testing.conformance import PluginConformance, load_plugin

HERE = Path(__file__).parent
CORPUS = HERE.parents[2].parent / "shared" / "data" / "finance" / "twitter-financial-news-sentiment" / "train.csv"
TWEET = "$ACME - Analyst cuts target, shares -8.5% after 1,250,000 sold https://t.co/abc123 via @news"


class TestFinanceConformance(PluginConformance):
    plugin = hub_finance
    plugin_name = "finance"
    sample_texts = (TWEET, "Chipmaker posts record quarter (+12%)", "Quarterly Service Report")
    reader_files = {"finance.csv": HERE / "data" / "sample.csv"}


def test_links_and_cashtags() -> None:
    assert social(TWEET).text == "TICKER - Analyst cuts target, shares -8.5% after 1,250,000 sold URL via @news"
    assert social("Qatar's $320 Billion Fund").text == "Qatar's $320 Billion Fund"  # an amount, not a ticker


def test_signed_percentages_and_thousands() -> None:
    assert numbers("shares -8.5% after 1,250,000 sold (+3 %)").text == "shares down 8.5% after 1250000 sold (up 3 %)"
    assert numbers("range 10-12% and 3.5%").text == "range 10-12% and 3.5%"


def test_the_task_runs_both_preprocessors_in_order() -> None:
    pipeline = load_plugin("finance", hub_finance).tasks.pipeline("finance.sentiment")
    piece = pipeline.prepare(TWEET).pieces[0]
    assert piece.text == "TICKER - Analyst cuts target, shares down 8.5% after 1250000 sold URL via @news"
    start = piece.text.index("down 8.5%")
    s, e = piece.offsets.span(start, start + len("down 8.5%"))
    assert TWEET[s:e] == "-8.5%"


def test_the_reader_maps_ids_to_names() -> None:
    examples = list(read_csv(HERE / "data" / "sample.csv"))
    assert [e.labels for e in examples] == [("Bearish",), ("Bullish",), ("Neutral",)]
    assert examples[0].text.startswith("$ACME") and examples[0].id == "2"


def test_the_metric_counts_every_class() -> None:
    scores = hub_finance.accuracy_macro_f1(["Bearish", "Neutral"], ["Bearish", "Bearish"])
    assert scores["accuracy"] == 0.5 and scores["f1.Bullish"] == 1.0 and scores["f1.Neutral"] == 0.0
    assert scores["macro_f1"] == pytest.approx((2 / 3 + 1 + 0) / 3)


def test_the_real_corpus_reads_cleanly() -> None:
    if not CORPUS.is_file():
        pytest.skip(f"corpus not found at {CORPUS} (see ../shared/data/README.md)")
    counts = Counter(e.labels[0] for e in read_csv(CORPUS))
    assert sum(counts.values()) == 9543
    assert counts == {"Bearish": 1442, "Bullish": 1923, "Neutral": 6178} and set(counts) == set(LABELS)
