"""Fixtures for the operations tests: certificates, a tiny-backbone hub with an adapter."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.certs import Authority, Issued
from tests.residency.conftest import write_adapter_dir

ADMIN = "ops-admin-key"


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return Authority(tmp_path / "pki")


@pytest.fixture
def server_cert(authority: Authority) -> Issued:
    return authority.issue("hub-server", stem="server")


@pytest.fixture
def client_cert(authority: Authority) -> Issued:
    return authority.issue("tenant-client", client=True, stem="client")


@pytest.fixture(scope="session")
def adapter_dir(tmp_path_factory: pytest.TempPathFactory, tiny_runtime) -> Path:  # type: ignore[no-untyped-def]
    return write_adapter_dir(tmp_path_factory.mktemp("ops-adapter"), tiny_runtime.spec, seed=7)
