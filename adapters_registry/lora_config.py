"""PEFT's adapter_config.json for LoRA: what the hub accepts and how it scales each module."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters_registry import patterns

# PEFT task types whose classifier (in modules_to_save) the hub turns into a head.
HEAD_TASK_TYPES = {"SEQ_CLS", "TOKEN_CLS"}
CLASSIFIER_MODULES = ("classifier", "score")


@dataclass(frozen=True)
class LoraSettings:
    rank: int
    alpha: float
    use_rslora: bool
    target_modules: tuple[str, ...] | str
    rank_pattern: dict[str, int] = field(default_factory=dict)
    alpha_pattern: dict[str, float] = field(default_factory=dict)
    modules_to_save: tuple[str, ...] = ()
    task_type: str | None = None

    @property
    def has_patterns(self) -> bool:
        return bool(self.rank_pattern or self.alpha_pattern)


def scaling(alpha: float, rank: int, use_rslora: bool) -> float:
    """The factor PEFT multiplies lora_B(lora_A(x)) by for a module of this alpha and rank."""
    return alpha / math.sqrt(rank) if use_rslora else alpha / rank


def module_settings(
    lora: LoraSettings, modules: Sequence[str], prefix: str, problems: list[str]
) -> dict[str, tuple[int, float]]:
    """Each LoRA module's (rank, alpha), with rank_pattern / alpha_pattern resolved once, under
    a time limit (adapters_registry/patterns.py); problems name the key that cannot be resolved."""
    ranks = patterns.resolve(lora.rank_pattern, modules, "rank_pattern", problems, prefix)
    alphas = patterns.resolve(lora.alpha_pattern, modules, "alpha_pattern", problems, prefix)
    return {
        m: (
            int(lora.rank_pattern[ranks[m]]) if m in ranks else lora.rank,
            float(lora.alpha_pattern[alphas[m]]) if m in alphas else lora.alpha,
        )
        for m in modules
    }


def parse_lora_config(data: dict[str, Any], max_rank: int, problems: list[str]) -> LoraSettings | None:
    """Validate a PEFT LoRA config, appending every problem found; None if any."""
    where = "adapter_config.json"
    before = len(problems)
    if data.get("peft_type") != "LORA":
        problems.append(f"{where}: peft_type must be LORA (got {data.get('peft_type')!r})")
    rank = data.get("r")
    if not isinstance(rank, int) or isinstance(rank, bool) or not 1 <= rank <= max_rank:
        problems.append(f"{where}: r must be an integer from 1 to {max_rank} (got {rank!r})")
    alpha = data.get("lora_alpha")
    if not isinstance(alpha, int | float) or isinstance(alpha, bool) or not math.isfinite(alpha):
        problems.append(f"{where}: lora_alpha must be a finite number (got {alpha!r})")
    for flag, reason in (
        ("use_dora", "DoRA adapters are not supported"),
        ("fan_in_fan_out", "fan_in_fan_out is for Conv1D models, not this backbone"),
        ("lora_bias", "LoRA bias terms are not supported"),
    ):
        if data.get(flag):
            problems.append(f"{where}: {flag}=true: {reason}")
    if data.get("bias", "none") != "none":
        problems.append(f"{where}: bias must be 'none' (trained bias terms would change the backbone)")
    if data.get("layer_replication"):
        problems.append(f"{where}: layer_replication is not supported")
    targets = data.get("target_modules")
    if not (isinstance(targets, str) and targets) and not (
        isinstance(targets, list) and targets and all(isinstance(t, str) for t in targets)
    ):
        problems.append(f"{where}: target_modules must be a non-empty list or a regex string")
    rank_pattern = _numeric_map(data.get("rank_pattern"), "rank_pattern", problems)
    if any(v != int(v) or not 1 <= v <= max_rank for v in rank_pattern.values()):
        problems.append(f"{where}: rank_pattern ranks must be integers from 1 to {max_rank}")
    alpha_pattern = _numeric_map(data.get("alpha_pattern"), "alpha_pattern", problems)
    if data.get("task_type") is not None and not isinstance(data.get("task_type"), str):
        problems.append(f"{where}: task_type must be a string")
    modules_to_save = data.get("modules_to_save") or []
    if not isinstance(modules_to_save, list) or not all(isinstance(m, str) for m in modules_to_save):
        problems.append(f"{where}: modules_to_save must be a list of module names")
        modules_to_save = []
    if len(problems) > before:
        return None
    return LoraSettings(
        rank=int(rank),  # type: ignore[arg-type]
        alpha=float(alpha),  # type: ignore[arg-type]
        use_rslora=bool(data.get("use_rslora", False)),
        target_modules=targets if isinstance(targets, str) else tuple(targets),  # type: ignore[arg-type]
        rank_pattern={k: int(v) for k, v in rank_pattern.items()},
        alpha_pattern={k: float(v) for k, v in alpha_pattern.items()},
        modules_to_save=tuple(modules_to_save),
        task_type=data.get("task_type"),
    )


def _numeric_map(raw: object, name: str, problems: list[str]) -> dict[str, float]:
    if raw in (None, {}):
        return {}
    if not isinstance(raw, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in raw.values()
    ):
        problems.append(f"adapter_config.json: {name} must map module names to finite numbers")
        return {}
    return {str(k): float(v) for k, v in raw.items()}
