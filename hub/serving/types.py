"""Plain values the service returns and takes (re-exported by hub.serving.service)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from adapters_registry.manifest import HeadKind
from adapters_registry.tenants import TenantRecord
from hub.tasks.results import Prediction

if TYPE_CHECKING:
    from hub.engine.runtime import RowRequest


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


@dataclass(frozen=True)
class Plan:
    """A request ready for the scheduler: its rows, and what turns their scores into the answer."""

    rows: list[RowRequest]
    finish: Callable[[list], Any]
    light: bool = False  # finish runs no plugin code (no pre/postprocessor, no segmenter): only decoding

    @property
    def costs(self) -> list[int]:
        return [row.encoded.tokens for row in self.rows]
