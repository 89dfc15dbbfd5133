"""Adapter Hub plugin "finance": sentiment of financial news and tweets.

Task ``finance.sentiment``: one of Bearish / Bullish / Neutral per text, after the social
(links, cashtags) and number preprocessing; scored by accuracy and macro-F1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hub.plugin_api import (
    HeadKind,
    Metric,
    Preprocessor,
    Reader,
    TaskSpec,
    classification_scores,
    hookimpl,
)
from hub_finance.data import LABELS, read_csv
from hub_finance.text import numbers, social


def accuracy_macro_f1(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    """Accuracy, macro-F1 over all three labels (a missing class counts), F1 per label."""
    return classification_scores(gold, predicted, labels=LABELS)


@hookimpl
def register_preprocessors(register: Callable[[Preprocessor], None]) -> None:
    register(Preprocessor("finance.social", social, "links -> URL, cashtags ($AAPL) -> TICKER"))
    register(Preprocessor("finance.numbers", numbers, "signed percentages -> up/down N%, thousands separators removed"))


@hookimpl
def register_readers(register: Callable[[Reader], None]) -> None:
    register(Reader("finance.csv", read_csv, "CSV text,label; label 0 Bearish, 1 Bullish, 2 Neutral (or the name)"))


@hookimpl
def register_metrics(register: Callable[[Metric], None]) -> None:
    register(
        Metric(
            "finance.accuracy_macro_f1",
            HeadKind.SEQUENCE,
            accuracy_macro_f1,
            headline="macro_f1",
            description="accuracy, macro-F1 over Bearish/Bullish/Neutral, F1 per label",
        )
    )


@hookimpl
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    register(
        TaskSpec(
            "finance.sentiment",
            HeadKind.SEQUENCE,
            "Market sentiment of a financial news headline or tweet",
            labels=LABELS,
            preprocessors=("finance.social", "finance.numbers"),
            metric="finance.accuracy_macro_f1",
            reader="finance.csv",
        )
    )
