"""Shared pytest plugins for the whole test tree."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The served dtype's default is `auto` (bfloat16 on CPUs with native bf16, like the CI machine).
# Tests compare the hub's outputs with PEFT's and with recorded metrics to 1e-5, so whatever
# reads settings from the environment (the CLI's eval and serve) runs float32 here; tests of
# `auto` itself set it explicitly (tests/unit/test_precision_auto.py).
os.environ.setdefault("ADAPTER_HUB_DTYPE", "float32")

pytest_plugins = ["tests.fixtures.seaweedfs", "tests.fixtures.hub"]
