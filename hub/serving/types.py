"""Plain values the service returns and takes (re-exported by hub.serving.service)."""

from __future__ import annotations

from dataclasses import dataclass

from adapters_registry.manifest import HeadKind
from adapters_registry.tenants import TenantRecord
from hub.tasks.results import Prediction


@dataclass(frozen=True)
class Served:
    """The answer for one (adapter version, task) pair."""

    adapter: str
    version: int
    task: str
    head_kind: HeadKind
    predictions: list[Prediction]


@dataclass(frozen=True)
class TenantUsage:
    record: TenantRecord
    used_bytes: int
    adapters: int
    max_bytes: int
    max_adapters: int

    @property
    def active_keys(self) -> int:
        return sum(1 for k in self.record.keys if not k.revoked)

    @property
    def revoked_keys(self) -> int:
        return len(self.record.keys) - self.active_keys


@dataclass(frozen=True)
class Target:
    name: str
    ref: str = ""
    task: str = ""
