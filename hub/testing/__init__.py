"""Helpers for testing the hub and its plugins (pytest is needed only by hub.testing.conformance)."""
