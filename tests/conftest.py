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


def _hypothesis_profiles() -> None:
    """The fuzz tests' budgets (tests/fuzz/). ``ci`` (the default): few examples, derandomized,
    so CI cannot flake and the fuzz module stays well under a minute. ``long``: 2,000 examples
    per test, new ones each run. Pick with ``--hypothesis-profile long`` or
    ``ADAPTER_HUB_FUZZ_PROFILE=long``."""
    from hypothesis import HealthCheck, settings

    quiet = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
    settings.register_profile("ci", max_examples=12, derandomize=True, database=None, deadline=None,
                              suppress_health_check=quiet, print_blob=True)  # fmt: skip
    settings.register_profile("long", max_examples=2000, deadline=None, suppress_health_check=quiet, print_blob=True)
    settings.load_profile(os.environ.get("ADAPTER_HUB_FUZZ_PROFILE", "ci"))


_hypothesis_profiles()
