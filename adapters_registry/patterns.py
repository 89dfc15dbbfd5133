"""A PEFT config's ``rank_pattern`` / ``alpha_pattern``, resolved ONCE at upload.

The keys of these maps are regular expressions that PEFT matches against module names. They
come from a tenant, so they are treated as hostile: each key is checked for Python ``re``
syntax (what PEFT accepts), then matched against the adapter's own LoRA modules (which upload
has already checked to be the backbone's Linears or its head's) with the ``regex`` engine's
``timeout``: a backtracking bomb such as ``([a-u.]+)+!`` costs at most the time budget
(the ``regex`` timeout counts CPU time: a bomb stops after 0.5 s of it, about 1 s of wall
time on a loaded 2-core machine, where Python's ``re`` took 28 s) and is refused, as is a key
that matches none of the adapter's modules. The result is an explicit rank and alpha per module, stored in the manifest
(``lora_modules``) and used at load: nothing from a tenant's files is compiled or evaluated
after upload.

Matching is PEFT's (``peft.utils.other.get_pattern_key``): the first key, in the config's
order, whose ``(.*\\.)?(KEY)$`` matches the module's name; the name is the module path as PEFT
saved it (or, for an adapter saved on the bare backbone, that path under the task model's prefix).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence

import regex

MAX_PATTERNS = 256
MAX_PATTERN_CHARS = 256
TIME_BUDGET_S = 0.5  # CPU seconds (regex counts its timeout so), all keys against all modules together


class _OutOfTime(Exception):
    def __init__(self, key: str = "") -> None:
        super().__init__(key)
        self.key = key


def resolve(
    patterns: Mapping[str, float],
    modules: Sequence[str],
    what: str,
    problems: list[str],
    prefix: str = "",
    budget_s: float = TIME_BUDGET_S,
) -> dict[str, str]:
    """module -> the key of ``patterns`` that applies to it (modules no key matches are left out);
    every problem (``what`` names the map, each problem its key) is appended to ``problems``."""
    if not patterns:
        return {}
    where = f"adapter_config.json: {what}"
    if len(patterns) > MAX_PATTERNS:
        problems.append(f"{where} has {len(patterns)} keys; at most {MAX_PATTERNS}")
        return {}
    compiled: dict[str, regex.Pattern[str]] = {}
    for key in patterns:
        shown = key if len(key) <= 60 else key[:60] + "..."
        if len(key) > MAX_PATTERN_CHARS:
            problems.append(f"{where} key {shown!r}: longer than {MAX_PATTERN_CHARS} characters")
            continue
        try:
            re.compile(key)  # PEFT's engine must accept it; matching is bounded below
            compiled[key] = regex.compile(rf"(.*\.)?({key})$")
        except (re.error, regex.error, OverflowError, RecursionError, ValueError) as exc:
            problems.append(f"{where} key {shown!r}: not a valid regular expression ({_reason(exc)})")
    if len(compiled) < len(patterns):
        return {}
    deadline = time.thread_time() + budget_s
    chosen: dict[str, str] = {}
    used: set[str] = set()
    spellings = {m: [m, f"{prefix}.{m}"] if prefix else [m] for m in modules}
    try:
        for module, names in spellings.items():
            for key, pattern in compiled.items():
                if any(_matches(pattern, name, deadline, key) for name in names):
                    chosen[module] = key
                    used.add(key)
                    break
        every_name = [name for names in spellings.values() for name in names]
        for key, pattern in compiled.items():  # keys no module took first: do they match anything at all?
            if key not in used and not any(_matches(pattern, name, deadline, key) for name in every_name):
                shown = key if len(key) <= 60 else key[:60] + "..."
                problems.append(f"{where} key {shown!r}: matches none of the adapter's modules")
    except _OutOfTime as late:
        shown = late.key if len(late.key) <= 60 else late.key[:60] + "..."
        problems.append(
            f"{where} key {shown!r}: matching the keys against the adapter's {len(modules)} modules took over "
            f"{budget_s:g} CPU seconds (this key was being matched; does it backtrack?): give plain module names"
        )
        return {}
    return chosen


def _matches(pattern: regex.Pattern[str], name: str, deadline: float, key: str) -> bool:
    remaining = deadline - time.thread_time()  # CPU time, as the regex timeout counts it
    if remaining <= 0:
        raise _OutOfTime(key)
    try:
        return pattern.match(name, timeout=remaining, concurrent=True) is not None
    except TimeoutError:
        raise _OutOfTime(key) from None


def _reason(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:100] if str(exc) else exc.__class__.__name__
