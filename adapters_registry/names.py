"""What the hub accepts as a name: adapter names, tenants, versions, aliases, labels, tasks.

ONE table (:data:`RULES`), checked at the edge (hub/transport/convert.py reads every request
through :func:`check`) and again by the registry before a name becomes part of a storage key,
so every RPC, the CLI (which calls the RPCs) and the start-up settings (``--pin``) apply the same
rule. README's "Security" section lists these rules; a test renders them from this table.

Every rule: printable text only (no control, format or separator characters other than the
space, so nothing a tenant names can split a log line or hide in one), no surrounding
whitespace, a length limit; names that become storage keys keep to a small ASCII alphabet
(``fullmatch``, never ``match`` with ``$``, which also accepts a trailing newline).
A new kind of name (e.g. a ``DOMAIN:NAME`` reference) is one more row here.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from hub.errors import InvalidArgument

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
# an adapter as a request names it: NAME, or DOMAIN:NAME (a domain adapter, adapters_registry/domains.py)
_REFERENCE = re.compile(r"(?:[a-z][a-z0-9_]{0,62}:)?[a-z0-9][a-z0-9._-]{0,62}")
_VERSION_DIGITS = 8  # versions are stored as %08d: at most 99,999,999


@dataclass(frozen=True)
class Rule:
    """One kind of name: a length limit, an optional alphabet, names it may not take, and what
    the refusal tells the caller to do."""

    max_chars: int
    pattern: re.Pattern[str] | None = None  # the whole value must match; None: any printable text
    hint: str = ""
    reserved: frozenset[str] = field(default_factory=frozenset)
    required: bool = True  # empty refused (False: empty means "not given")


_NAME_HINT = "lowercase letters, digits, '.', '_' or '-', starting with a letter or digit"

# Tenant names the hub's own logs and metrics use as labels: a tenant named so would be
# mistaken for them (`admin`: the operator in the request log; `local`: the tenant of a hub
# with auth off; `other`: the metrics' overflow label; `operator`, `system`: kept for the same use).
RESERVED_TENANTS = frozenset({"admin", "local", "other", "operator", "system"})

RULES: dict[str, Rule] = {
    "adapter name": Rule(63, _NAME, _NAME_HINT),
    "adapter reference": Rule(
        127, _REFERENCE, "an adapter name, or DOMAIN:NAME for a domain's (DOMAIN: lowercase letters, digits and _)"
    ),
    "tenant": Rule(63, _NAME, _NAME_HINT, reserved=RESERVED_TENANTS),
    "alias": Rule(63, _NAME, _NAME_HINT + "; not all digits"),
    "version": Rule(
        63, _NAME, f"empty (latest), a number of 1-{_VERSION_DIGITS} ASCII digits, or an alias", required=False
    ),
    "label": Rule(128, None, "printable text; distinct within a task; at most 1024 per task"),
    "task": Rule(128, None, "printable text; empty: the adapter's only task", required=False),
    "description": Rule(4096, None, "printable text; line breaks and tabs allowed", required=False),
}
MAX_LABELS = 1024

# Unicode categories refused everywhere: control (Cc), format (Cf: zero-width, bidi overrides),
# line/paragraph separators (Zl, Zp), surrogates (Cs), private use (Co), unassigned (Cn).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
# a description may hold line breaks and tabs (it is never a key and is logged nowhere)
_TEXT_ALLOWED = frozenset("\n\t")


def printable(value: str, allowed: frozenset[str] = frozenset()) -> bool:
    """No control, format, separator (but the space), surrogate, private or unassigned character."""
    return all(ch in allowed or unicodedata.category(ch) not in _REFUSED_CATEGORIES for ch in value)


def _refuse(kind: str, value: str, why: str) -> InvalidArgument:
    shown = value if len(value) <= 80 else value[:80] + "..."
    return InvalidArgument(f"invalid {kind} {shown!r}: {why}")


def check(kind: str, value: str, *, new: bool = False) -> str:
    """``value`` if it is a valid ``kind`` (a key of RULES); InvalidArgument saying why not.
    ``new``: the name is being created (reserved names are refused then: the hub's own uses of
    them, e.g. the tenant ``local`` of a hub with auth off, still pass)."""
    rule = RULES[kind]
    if not value:
        if rule.required:
            raise InvalidArgument(f"{kind} is required ({rule.hint}; at most {rule.max_chars} characters)")
        return value
    if len(value) > rule.max_chars:
        raise _refuse(kind, value, f"{len(value)} characters, at most {rule.max_chars}")
    if not printable(value, _TEXT_ALLOWED if kind == "description" else frozenset()):
        raise _refuse(kind, value, "control or invisible characters are not allowed")
    if value != value.strip():
        raise _refuse(kind, value, "leading or trailing whitespace is not allowed")
    if rule.pattern is not None and not rule.pattern.fullmatch(value):
        raise _refuse(kind, value, f"use {rule.hint}; at most {rule.max_chars} characters")
    if new and value in rule.reserved:
        raise _refuse(kind, value, f"reserved (the hub's logs and metrics use it); reserved: {sorted(rule.reserved)}")
    if kind == "alias" and value.isdigit():
        raise _refuse(kind, value, "would be read as a version number")
    if kind == "version" and value.isdigit() and len(value) > _VERSION_DIGITS:
        raise _refuse(kind, value, f"use {rule.hint}")
    return value


def check_version_ref(ref: str) -> str:
    """A version reference: empty (``latest``), an ASCII version number, or an alias."""
    check("version", ref)
    if ref and not (ref.isascii() and ref.isdigit()):
        check("alias", ref)
    return ref


def check_labels(labels: Sequence[str], what: str = "labels") -> tuple[str, ...]:
    """Each label valid and none twice (a stored head with duplicate labels cannot be read back)."""
    if len(labels) > MAX_LABELS:
        raise InvalidArgument(f"{len(labels)} {what}; at most {MAX_LABELS}")
    for label in labels:
        check("label", label)
    duplicates = sorted(x for x, n in Counter(labels).items() if n > 1)
    if duplicates:
        raise InvalidArgument(f"{what} must be distinct: {duplicates[:5]} given more than once")
    return tuple(labels)


def rules_markdown(kinds: Iterable[str] = RULES) -> str:
    """README's table of the rules (a test checks that README holds it)."""
    rows = ["| name | rule | characters | reserved |", "|---|---|---|---|"]
    for kind in kinds:
        rule = RULES[kind]
        reserved = ", ".join(f"`{r}`" for r in sorted(rule.reserved)) or "-"
        rows.append(f"| {kind} | {rule.hint} | {'1' if rule.required else '0'}-{rule.max_chars} | {reserved} |")
    return "\n".join(rows)
