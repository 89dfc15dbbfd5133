"""docs/plugins.md's data types, field by field, are generated from the code: the section must
be what scripts/gen_plugin_types.py writes now, and cover every public data type."""

from __future__ import annotations

import dataclasses

import pytest

from hub import plugin_api
from scripts import gen_plugin_types as gen

# Public dataclasses documented elsewhere in docs/plugins.md: the manifest's (adapters_registry),
# the event hooks' argument, and the offset map (built by apply_edits / replace_patterns only).
ELSEWHERE = {"Manifest", "HeadSpec", "AdapterEvent", "OffsetMap"}


def test_the_docs_hold_the_generated_types_section() -> None:
    text = gen.DOCS.read_text(encoding="utf-8")
    assert gen.current(text) == gen.render(), "docs/plugins.md is out of date: run python scripts/gen_plugin_types.py"


def test_every_public_data_type_is_in_the_section() -> None:
    public = {
        name
        for name in plugin_api.__all__
        if isinstance(getattr(plugin_api, name), type) and dataclasses.is_dataclass(getattr(plugin_api, name))
    }
    assert public - ELSEWHERE == {cls.__name__ for cls in gen.TYPES}


def test_a_field_without_a_docstring_stops_the_generator() -> None:
    @dataclasses.dataclass(frozen=True)
    class Undocumented:
        """A type with a field nobody explained."""

        known: int
        """Explained."""
        mystery: str = ""

    with pytest.raises(ValueError, match=r"Undocumented.mystery has no docstring: write one under the field"):
        gen.render_type(Undocumented)


def test_the_check_mode_agrees() -> None:
    assert gen.main(["--check"]) == 0
