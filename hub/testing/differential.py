"""Differential checks: a preprocessor must rewrite the same characters the same way wherever
they stand in a text.

A preprocessor that finds its edits on a normalised copy (``text.strip()``, a text with its
spaces collapsed) and applies them to the original passes every check that looks at one text
at a time: its copied runs are verbatim and its map tiles both texts, yet
``'   write to jane.doe@example.com today'`` becomes ``'   write [EMAIL]com today'``. Here each
sample text's stripped core is padded (leading and trailing spaces, repeated ones, Unicode
spaces, prefixes that shift every offset) and the part of the answer that stands for the core
must be exactly what the preprocessor makes of the core alone. A failure names the text, the
expected and the produced output. Nothing here needs pytest or torch.
"""

from __future__ import annotations

from collections.abc import Iterable

from hub.tasks.text import OffsetMap, Preprocessed, Preprocessor

# (prefix, suffix) around a core; every prefix ends in whitespace, so the core starts a word
PADDINGS: tuple[tuple[str, str], ...] = (
    ("   ", "   "),  # leading and trailing spaces
    ("\n\t  ", " \r\n\n"),  # repeated and mixed whitespace
    ("\u00a0\u2003", "\u3000\u00a0"),  # Unicode spaces (str.strip removes them too)
    ("> ", ""),  # a prefix that shifts offsets by characters that are no space
    ("Re:  ", "  --"),
)
LONGEST = 1_000  # cores longer than this are skipped: the kit's long texts add time, not cases
WINDOW = 70  # characters of each text shown around the first difference

HINT = (
    "the characters of the text itself must be rewritten the same wherever they stand: find the "
    "edits on the text you are given (not on text.strip() or another normalised copy), or build "
    "the answer with replace_patterns"
)


def core_range(offsets: OffsetMap, start: int, end: int) -> tuple[int, int]:
    """The output range that stands for source characters ``[start, end)``: copied characters
    inside it, and whole rewrites that touch it (insertions at its edges included)."""
    first: int | None = None
    last = 0
    for run in offsets.runs:
        empty = run.src_start == run.src_end
        if not ((run.src_end > start and run.src_start < end) or (empty and start <= run.src_start <= end)):
            continue
        if run.copied:
            a = run.out_start + max(0, start - run.src_start)
            b = run.out_end - max(0, run.src_end - end)
        else:
            a, b = run.out_start, run.out_end
        first = a if first is None else first
        last = b
    return (first, last) if first is not None else (0, 0)


def _excerpt(text: str, at: int) -> str:
    if len(text) <= WINDOW:
        return repr(text)
    lo = max(0, min(at - WINDOW // 3, len(text) - WINDOW))
    return f"{'...' if lo else ''}{text[lo : lo + WINDOW]!r}{'...' if lo + WINDOW < len(text) else ''}"


def _first_difference(a: str, b: str) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def _apply(pre: Preprocessor, text: str) -> Preprocessed | None:
    """The answer, or None when the preprocessor raises or breaks its contract (the kit's
    one-text checks report those)."""
    try:
        out = pre.apply(text)
    except Exception:  # noqa: BLE001 - reported by fuzz.preprocessor_problems
        return None
    ok = isinstance(out, Preprocessed) and out.offsets.source_length == len(text)
    return out if ok else None


def padded_problems(pre: Preprocessor, texts: Iterable[str]) -> list[str]:
    """Each text's stripped core, padded as :data:`PADDINGS` says, must be rewritten as the
    core alone is; one problem per (text, padding) that is not, with the three texts."""
    problems: list[str] = []
    what = f"preprocessor {pre.name!r}"
    for sample in dict.fromkeys(texts):
        core = sample.strip()
        alone = _apply(pre, core) if core and len(core) <= LONGEST else None
        if alone is None:
            continue
        for prefix, suffix in PADDINGS:
            variant = prefix + core + suffix
            out = _apply(pre, variant)
            if out is None:
                continue
            a, b = core_range(out.offsets, len(prefix), len(prefix) + len(core))
            if out.text[a:b] == alone.text:
                continue
            expected = out.text[:a] + alone.text + out.text[b:]
            at = _first_difference(expected, out.text)
            problems.append(
                f"{what} on {_excerpt(variant, at)} ({len(variant)} characters, {len(prefix)} of them "
                f"before {_excerpt(core, 0)}): expected {_excerpt(expected, at)}, produced "
                f"{_excerpt(out.text, at)} ({HINT})"
            )
    return problems
