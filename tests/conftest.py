"""Shared pytest plugins for the whole test tree."""

pytest_plugins = ["tests.fixtures.seaweedfs"]
