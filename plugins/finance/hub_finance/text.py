"""Tweet-style financial text -> what the model reads.

``finance.social``: links become "URL" and cashtags ($AAPL) become "TICKER": neither says
whether news is good or bad, and a ticker the model never saw would only add noise.
``finance.numbers``: a signed percentage becomes words ("-3.5%" -> "down 3.5%", "+2%" ->
"up 2%"), the sign being the sentiment; thousands separators go ("1,250,000" -> "1250000").
"""

from __future__ import annotations

import re

from hub.plugin_api import Preprocessed, replace_patterns

URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
CASHTAG = re.compile(r"(?<![\w$])\$[A-Za-z][A-Za-z.]{0,9}(?![\w])")
SIGNED_PERCENT = re.compile(r"(?<![\w.])(?P<sign>[+-])(?P<value>\d[\d,]*(?:\.\d+)?\s?%)")
THOUSANDS = re.compile(r"(?<![\d,.])\d{1,3}(?:,\d{3})+(?![\d,])")


def social(text: str) -> Preprocessed:
    return replace_patterns(text, ((URL, "URL"), (CASHTAG, "TICKER")))


def _signed(match: re.Match[str]) -> str:
    word = "up" if match.group("sign") == "+" else "down"
    return f"{word} {match.group('value').replace(',', '')}"


def numbers(text: str) -> Preprocessed:
    return replace_patterns(text, ((SIGNED_PERCENT, _signed), (THOUSANDS, lambda m: m.group().replace(",", ""))))
