"""Adapter storage, artifact format, manifests, versions and validation (imports no torch)."""
