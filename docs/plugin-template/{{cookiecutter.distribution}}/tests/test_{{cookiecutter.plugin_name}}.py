"""The hub's conformance kit, run on this plugin: `python -m pytest tests`.

It loads the plugin from its entry point beside every other installed plugin (as `serve` would),
and checks it on these samples and on its own adversarial texts.
"""

from __future__ import annotations

from pathlib import Path

from hub.testing.conformance import PluginConformance

HERE = Path(__file__).parent
NAME = "{{cookiecutter.plugin_name}}"


class TestConformance(PluginConformance):
    plugin_name = NAME
    sample_texts = (
        "Where is my order #1234? I paid 25.90 last week.",
        "Thanks a lot, it arrived!",
        "The app crashes every time. Write to jane.doe@example.com",
    )
    reader_files = {f"{NAME}.jsonl": HERE / "data" / "sample.jsonl"}
