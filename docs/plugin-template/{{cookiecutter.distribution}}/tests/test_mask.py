"""What the mask produces: the conformance kit checks that it keeps its offsets true, but only
this plugin knows what it should turn a text into."""

from __future__ import annotations

import importlib

mask = importlib.import_module("{{cookiecutter.package}}").mask  # the template's name, filled in when rendered


def test_e_mail_addresses_and_numbers_become_placeholders() -> None:
    out = mask("   Order #1234: write to jane.doe@example.com today, I paid 25.90")
    assert out.text == "   Order [NUMBER]: write to [EMAIL] today, I paid [NUMBER]"


def test_placeholders_map_back_to_what_they_stand_for() -> None:
    text = "write to jane.doe@example.com today"
    out = mask(text)
    start = out.text.index("[EMAIL]")
    assert text[slice(*out.offsets.span(start, start + len("[EMAIL]")))] == "jane.doe@example.com"


def test_a_text_without_anything_to_mask_is_unchanged() -> None:
    assert mask("Thanks a lot, it arrived!").text == "Thanks a lot, it arrived!"
    assert mask("").text == ""
