"""Offset maps: rewrites remember where each character came from, and maps compose."""

from __future__ import annotations

import re

import pytest

from hub.tasks.text import (
    Edit,
    OffsetMap,
    Preprocessed,
    Run,
    apply_edits,
    check_preprocessed,
    replace_patterns,
)

SOURCE = "Call 555-123-4567 on 12/03/2020 please"
PHONE = re.compile(r"\d{3}-\d{3}-\d{4}")
DATE = re.compile(r"\d+/\d+/\d+")


def back(source: str, out: Preprocessed, start: int, end: int) -> str:
    s, e = out.offsets.span(start, end)
    return source[s:e]


def test_identity_maps_every_span_to_itself() -> None:
    out = Preprocessed.unchanged("abc def")
    assert out.offsets.span(4, 7) == (4, 7) and out.offsets.span(7, 7) == (7, 7)
    assert len(OffsetMap.identity(0)) == 0


def test_replaced_spans_map_to_the_whole_original_range() -> None:
    out = replace_patterns(SOURCE, [(PHONE, "[PHONE]"), (DATE, "[DATE]")])
    assert out.text == "Call [PHONE] on [DATE] please"
    assert back(SOURCE, out, 5, 12) == "555-123-4567"
    assert back(SOURCE, out, 6, 8) == "555-123-4567"  # part of a mask: the whole masked range
    assert back(SOURCE, out, 13, 22) == "on 12/03/2020"
    assert back(SOURCE, out, 23, 29) == "please"
    assert check_preprocessed(SOURCE, out) == []


def test_overlapping_matches_earliest_then_longest_wins() -> None:
    out = replace_patterns("2020-01-02", [(re.compile(r"\d{4}"), "Y"), (re.compile(r"\d{4}-\d\d-\d\d"), "D")])
    assert out.text == "D"


def test_a_mask_group_rewrites_only_that_group() -> None:
    out = replace_patterns("MRN: 0012345.", [(re.compile(r"MRN:\s*(?P<mask>\d+)"), "[RECORD]")])
    assert out.text == "MRN: [RECORD]." and back("MRN: 0012345.", out, 0, 4) == "MRN:"


def test_deletions_and_insertions() -> None:
    out = apply_edits("ab--cd", [Edit(2, 4, ""), Edit(6, 6, "!")])
    assert out.text == "abcd!"
    assert out.offsets.span(1, 3) == (1, 5)  # "bc" spans the deleted "--"
    assert out.offsets.span(4, 5) == (6, 6)  # the inserted "!" has no original characters
    with pytest.raises(ValueError, match="overlap"):
        apply_edits("abc", [Edit(0, 2, "x"), Edit(1, 3, "y")])


def test_composition_maps_through_every_rewrite() -> None:
    first = replace_patterns(SOURCE, [(PHONE, "[PHONE]"), (DATE, "[DATE]")])
    second = replace_patterns(first.text, [(re.compile(r"\[PHONE\] on"), "X"), (re.compile("please"), "")])
    composed = second.offsets.compose(first.offsets)
    assert second.text == "Call X [DATE] "
    assert composed.source_length == len(SOURCE) and composed.output_length == len(second.text)
    for (start, end), expected in [((0, 4), "Call"), ((5, 6), "555-123-4567 on"), ((7, 13), "12/03/2020")]:
        s, e = composed.span(start, end)
        assert SOURCE[s:e] == expected
    assert check_preprocessed(SOURCE, Preprocessed(second.text, composed)) == []


def test_a_partly_copied_placeholder_maps_to_the_whole_mask() -> None:
    first = replace_patterns("x 2020-01-02 y", [(re.compile(r"\d{4}-\d\d-\d\d"), "[DATE]")])
    second = replace_patterns(first.text, [(re.compile(r"TE\]"), "")])  # "[DATE]" -> "[DA"
    composed = second.offsets.compose(first.offsets)
    assert "x 2020-01-02 y"[slice(*composed.span(2, 5))] == "2020-01-02"


def test_maps_must_tile_both_texts() -> None:
    with pytest.raises(ValueError, match="tile"):
        OffsetMap((Run(0, 2, 0, 2, True), Run(3, 4, 2, 3, True)), 3)
    with pytest.raises(ValueError, match="same length"):
        OffsetMap((Run(0, 2, 0, 3, True),), 3)
    with pytest.raises(ValueError, match="covers 2 source characters"):
        OffsetMap((Run(0, 2, 0, 2, True),), 3)
    with pytest.raises(ValueError, match="describes"):
        Preprocessed("abc", OffsetMap.identity(2))


def test_check_preprocessed_catches_a_lying_map() -> None:
    liar = Preprocessed("xyz", OffsetMap.identity(3))
    assert check_preprocessed("abc", liar) == ["run 0-3 is marked copied but differs from input 0-3"]
