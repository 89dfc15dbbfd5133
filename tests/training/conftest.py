"""Fixtures for the training tests: synthetic corpora, the installed plugins, tiny runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config.settings import Settings
from hub.plugins.manager import HubPlugins, build_plugins
from tests.training.corpora import write_conll, write_finance, write_tos


@pytest.fixture(scope="session")
def plugins() -> HubPlugins:
    return build_plugins(Settings.from_env(environ={}))


@pytest.fixture(scope="session")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("corpora")
    return {
        "ner_train": write_conll(root / "ner-train.tsv", 48, seed=1),
        "ner_dev": write_conll(root / "ner-dev.tsv", 16, seed=2),
        "fin_train": write_finance(root / "fin-train.csv", 48, seed=3),
        "fin_dev": write_finance(root / "fin-dev.csv", 24, seed=4),
        "tos": write_tos(root / "tos.tsv", 10, seed=5),
    }
