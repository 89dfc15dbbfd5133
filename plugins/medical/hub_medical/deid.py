"""De-identification: mask PHI-like spans before the text reaches the model or any log.

Dates, phone numbers, e-mail addresses and record numbers become fixed placeholders. The
masks are rules, not a model: they favour recall on the usual shapes (a clinical note's
"DOB 03/12/1961", "MRN: 00123456", "call 555-123-4567") over never touching a harmless number.
"""

from __future__ import annotations

import re

from hub.plugin_api import Preprocessed, Span, replace_patterns

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
DATE = re.compile(
    r"(?<!\w)(?:"
    r"\d{4}-\d{1,2}-\d{1,2}"  # 2021-03-14
    r"|\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})"  # 14/03/2021, 3-14-21
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}\.?,?\s+\d{{4}}"  # 14 March 2021
    rf"|{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"  # March 14, 2021
    r")(?!\w)",
    re.IGNORECASE,
)
PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)\s?|\d{2,4}[\s.-])\d{3,4}[\s.-]?\d{3,4}(?![\w-])")
# `\s*(?:[:#]\s*)?`, not `\s*[:#]?\s*`: the two adjacent `\s*` could split a run of blanks in n
# ways, so "MRN" + 19,990 spaces + "!" backtracked quadratically (27 s holding the GIL); here a
# run has one parse and every pattern is linear in the text (the conformance kit's growth check).
RECORD = re.compile(
    r"\b(?:MRN|medical\s+record(?:\s+(?:number|no\.?))?|record\s+(?:number|no\.?|#)|patient\s+id|"
    r"chart\s+(?:number|no\.?))\s*(?:[:#]\s*)?(?P<mask>(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{3,})\b",
    re.IGNORECASE,
)

RULES = ((EMAIL, "[EMAIL]"), (DATE, "[DATE]"), (RECORD, "[RECORD]"), (PHONE, "[PHONE]"))


def deidentify(text: str) -> Preprocessed:
    """The text with every PHI-like span masked, and the map back to the original."""
    return replace_patterns(text, RULES)


def phi_spans(text: str) -> list[Span]:
    """The spans of ``text`` that :func:`deidentify` masks."""
    return [Span(r.src_start, r.src_end) for r in deidentify(text).offsets.runs if not r.copied]
