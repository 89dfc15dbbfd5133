"""Shared pytest plugins for the whole test tree."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

pytest_plugins = ["tests.fixtures.seaweedfs", "tests.fixtures.hub"]
