"""The one rules table for names (adapters_registry/names.py), the bounded JSON parser and the
upload-time resolution of PEFT's rank/alpha patterns (adapters_registry/patterns.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters_registry import bounded_json, names, patterns
from adapters_registry.registry import check_alias, check_name
from hub.errors import InvalidArgument

README = Path(__file__).resolve().parents[2] / "README.md"
HOSTILE = ["x\n", "\nx", " x", "x ", "x\x00", "x\u200b", "x\u2028", "\u202ex", "x\x1b[31m", "a" * 5000]


@pytest.mark.parametrize("kind", sorted(names.RULES))
@pytest.mark.parametrize("value", HOSTILE)
def test_every_kind_refuses_control_characters_surrounding_whitespace_and_length(kind: str, value: str) -> None:
    with pytest.raises(InvalidArgument, match=f"invalid {kind}"):
        names.check(kind, value)


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        ("adapter name", ["a", "sentiment-v2.1_x", "0" * 63], ["", "Sentiment", "évil", "-a", "a/b", "a" * 64, "..x"]),
        ("tenant", ["acme", "t1"], ["", "Acme", "a b", "../x", "a%2Fb"]),
        (
            "adapter reference",
            ["a", "medical:ncbi-disease", "legal_x:v1.2"],
            ["", ":a", "a:", "Medical:a", "a:b:c", "1x:a"],
        ),
        ("alias", ["prod", "v1", "latest"], ["1", "00", "\u00b2", "prod!", ""]),
        ("label", ["B-Disease", "Bearish", "non-ascii é ok", "a b"], ["", "a" * 129]),
        ("task", ["", "medical.ner"], ["x" * 129]),
    ],
)
def test_rules_by_kind(kind: str, good: list[str], bad: list[str]) -> None:
    assert [names.check(kind, v) for v in good] == good
    for value in bad:
        with pytest.raises(InvalidArgument):
            names.check(kind, value)


def test_versions_are_ascii_numbers_or_aliases() -> None:
    assert [names.check_version_ref(v) for v in ("", "1", "00000007", "prod")] == ["", "1", "00000007", "prod"]
    for value in ("\u00b2", "\u0661", "\uff11", "1\n", "-1", "123456789"):
        with pytest.raises(InvalidArgument):
            names.check_version_ref(value)


def test_reserved_tenants_are_refused_only_when_created() -> None:
    for name in ("admin", "local", "other"):
        with pytest.raises(InvalidArgument, match="reserved"):
            names.check("tenant", name, new=True)
        assert check_name("tenant", name) == name  # the hub's own use (auth off: `local`) still passes


def test_the_registry_keys_use_the_same_rules() -> None:
    with pytest.raises(InvalidArgument):
        check_name("adapter name", "evil\n")  # `$` used to accept a trailing newline
    with pytest.raises(InvalidArgument):
        check_alias("7")


def test_labels_must_be_distinct_and_valid() -> None:
    assert names.check_labels(["a", "b"]) == ("a", "b")
    for labels in (["a", "a", "b"], ["a", "b\n"], [""], ["x"] * (names.MAX_LABELS + 1)):
        with pytest.raises(InvalidArgument):
            names.check_labels(labels)


def test_readme_states_the_rules() -> None:
    assert names.rules_markdown() in README.read_text(encoding="utf-8")


# ---- bounded JSON ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"[" * 40 + b"]" * 40, "nested 40 levels"),
        (b"[" * 200_000, "nested"),
        (b'{"a": NaN}', "not a JSON number"),
        (b'{"a": 1e999}', "out of range"),
        (b'{"a": ' + b"9" * 5000 + b"}", "not valid JSON"),
        (b"\xff", "not UTF-8"),
        (b" " * (bounded_json.MAX_BYTES + 1), "at most"),
    ],
)
def test_bounded_json_refuses(data: bytes, said: str) -> None:
    with pytest.raises(bounded_json.JsonBoundsError, match=said):
        bounded_json.loads(data)


def test_bounded_json_counts_brackets_outside_strings_only() -> None:
    assert bounded_json.depth(b'{"a": "[[[[{{{{", "b": [1, {"c": "\\"]"}]}') == 3
    assert bounded_json.depth(b'["\\\\", [[1]]]') == 3  # an escaped backslash ends nothing
    # an unterminated string of escaped quotes: once quadratic in a regex, now one pass
    assert bounded_json.depth(b'"' + b'\\"' * 200_000) == 0
    assert bounded_json.loads(b'{"a": "[[[[", "b": [1]}') == {"a": "[[[[", "b": [1]}


# ---- rank / alpha patterns ------------------------------------------------------------------
LINEARS = ("attention.self.query", "attention.self.value", "attention.output.dense", "output.dense")
MODULES = [f"bert.encoder.layer.{i}.{m}" for i in range(3) for m in LINEARS]


@pytest.mark.parametrize(
    "keys",
    [
        ["query"],
        [r"layer\.0\..*", "query"],
        ["query", r"layer\.0\..*"],
        [r"(query|value)", r"output\.dense"],
        [r"layer\.[12]\.attention\.output\.dense", "dense"],
        ["attention.self.value"],
    ],
)
def test_resolution_picks_the_key_peft_picks(keys: list[str]) -> None:
    from peft.utils.other import get_pattern_key

    problems: list[str] = []
    chosen = patterns.resolve(dict.fromkeys(keys, 1.0), MODULES, "rank_pattern", problems)
    assert problems == []
    for module in MODULES:
        peft = get_pattern_key(keys, module)
        assert chosen.get(module, module) == peft, module


@pytest.mark.parametrize(
    ("key", "said"),
    [
        ("(", "not a valid regular expression"),
        ("(?P<x>a)(?P<x>b)", "not a valid regular expression"),
        ("no_such_module", "matches none"),
        (r"(([a-u.]|[a-u.])+)+[0-9]", "took over"),  # backtracks exponentially: stopped by the budget
        ("x" * (patterns.MAX_PATTERN_CHARS + 1), "longer than"),
    ],
)
def test_unresolvable_keys_are_problems_naming_the_key(key: str, said: str) -> None:
    problems: list[str] = []
    assert patterns.resolve({key: 4}, MODULES, "alpha_pattern", problems, budget_s=0.2) == {}
    assert len(problems) == 1 and said in problems[0] and "alpha_pattern" in problems[0]
    assert key[:20] in problems[0]  # the key is named
