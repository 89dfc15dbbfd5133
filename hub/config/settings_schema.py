"""The machinery behind hub.config.settings: one field entry per setting carries its group,
help text and allowed values; environment names, flags, coercion, checks and documentation
are all derived from it here. Nothing in this module names a particular setting.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import Field, dataclass, field, fields
from typing import Any, TypeVar

from hub.errors import InvalidArgument

ENV_PREFIX = "ADAPTER_HUB_"
T = TypeVar("T")
Check = Callable[[Any], "str | None"]  # a problem with the value, or None
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class SettingsError(InvalidArgument, ValueError):
    """One or more settings are invalid; every problem is listed, each naming its setting.

    A ValueError too, so every CLI command reports it as ``error: ...`` (exit 2)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"- {p}" for p in self.problems)
        super().__init__(f"invalid settings ({len(self.problems)} problem(s)):\n{lines}")


@dataclass(frozen=True)
class SettingSpec:
    """What one setting accepts and how it is documented."""

    group: str
    help: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    check: Check | None = None
    unit: str = ""  # "bytes" adds a binary size to the documented default
    secret: bool = False  # better set by the environment: flags show in `ps`
    default_doc: str = ""  # the documented default when the field's own is computed later
    fold_case: bool = False  # compared without case or surrounding blanks (always with choices)


@dataclass(frozen=True)
class Group:
    """A section of the settings (and of the README's configuration tables). Calling it makes
    one field: ``port: int = SERVER(50051, "gRPC port", minimum=0, maximum=65535)``."""

    key: str
    title: str

    def __call__(
        self,
        default: T,
        help: str,
        *,
        choices: tuple[str, ...] = (),
        minimum: float | None = None,
        maximum: float | None = None,
        check: Check | None = None,
        unit: str = "",
        secret: bool = False,
        default_doc: str = "",
        fold_case: bool = False,
    ) -> T:
        fold_case = fold_case or bool(choices)
        spec = SettingSpec(self.key, help, choices, minimum, maximum, check, unit, secret, default_doc, fold_case)
        return field(default=default, metadata={"setting": spec})


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def label(name: str) -> str:
    """How problems name a setting: both ways to set it."""
    return f"{env_name(name)} ({flag_name(name)})"


def settings_fields(cls: type) -> Iterator[tuple[Field[Any], SettingSpec]]:
    for f in fields(cls):
        yield f, f.metadata["setting"]


def coerce(kind: type, value: object) -> object:
    """``value`` as ``kind``: strings (environment, flags) are parsed; typed values (code)
    must already be of the kind (an int is a fine float, a Path a fine str). Raises ValueError with the reason."""
    if isinstance(value, str) and kind is not str:
        text = value.strip()
        if kind is bool:
            if text.lower() in _TRUE + _FALSE:
                return text.lower() in _TRUE
            raise ValueError(f"must be one of {'/'.join(_TRUE)} or {'/'.join(_FALSE)}, got {value!r}")
        try:
            return kind(text)
        except ValueError:
            raise ValueError(f"must be {'an integer' if kind is int else 'a number'}, got {value!r}") from None
    if kind is str and isinstance(value, os.PathLike):
        return os.fspath(value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if type(value) is not kind:
        raise ValueError(f"must be {kind.__name__}, not {type(value).__name__}")
    return value


def fold_case(instance: Any) -> None:
    """Lower-case and strip the fields that ask for it, in place (``AUTH=On`` is ``on``);
    for a frozen dataclass's ``__post_init__``."""
    for f, spec in settings_fields(type(instance)):
        value = getattr(instance, f.name)
        if spec.fold_case and isinstance(value, str):
            object.__setattr__(instance, f.name, value.strip().lower())


def check_value(spec: SettingSpec, value: Any) -> str | None:
    if spec.choices and value not in spec.choices:
        shown = " | ".join(repr(c) if c == "" else c for c in spec.choices)
        return f"must be one of {shown}, got {value!r}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, got {value!r}"
    low, high = spec.minimum, spec.maximum
    if low is not None and high is not None and not low <= value <= high:
        return f"must be between {_num(low)} and {_num(high)}, got {_num(value)}"
    if low is not None and not value >= low:
        return f"must be {_at_least(low)}, got {_num(value)}"
    if high is not None and not value <= high:
        return f"must be at most {_num(high)}, got {_num(value)}"
    return spec.check(value) if spec.check is not None else None


def _at_least(low: float) -> str:
    return "non-negative" if low == 0 else f"at least {_num(low)}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def from_sources(
    cls: type[T], environ: Mapping[str, str], overrides: Mapping[str, object], file: Mapping[str, object] | None = None
) -> T:
    """``cls`` from defaults < ``file`` (a config file's values by name) < ``environ``
    (ADAPTER_HUB_*) < ``overrides`` (None: not given). Every problem (unparsable values,
    unknown names, failed checks) is collected, then raised at once as SettingsError."""
    kinds = {f.name: type(f.default) for f in fields(cls)}  # type: ignore[arg-type]
    values: dict[str, object] = {}
    problems: list[str] = []
    for name, value in (file or {}).items():
        if name not in kinds:
            problems.append(f"unknown setting {name!r} in the config file")
            continue
        try:
            values[name] = coerce(kinds[name], value)
        except ValueError as exc:
            problems.append(f"{name} in the config file {exc}")
    for name, kind in kinds.items():
        raw = environ.get(env_name(name))
        if raw is not None and raw != "":
            _take(values, problems, name, kind, raw)
    for name, value in overrides.items():
        if value is None:
            continue
        if name not in kinds:
            problems.append(f"unknown setting {name!r}")
            continue
        _take(values, problems, name, kinds[name], value)
    try:
        built = cls(**values)
    except SettingsError as exc:  # the checks of the values that parsed
        raise SettingsError(problems + exc.problems) from None
    if problems:
        raise SettingsError(problems)
    return built


def _take(values: dict[str, object], problems: list[str], name: str, kind: type, raw: object) -> None:
    try:
        values[name] = coerce(kind, raw)
    except ValueError as exc:
        problems.append(f"{label(name)} {exc}")
        values.pop(name, None)  # the checks then see the default, so other problems still show


def collect_problems(instance: Any, cross: Callable[[Any], list[str]] | None = None) -> list[str]:
    """Every field's problems, in field order, then those that involve several fields."""
    problems = []
    for f, spec in settings_fields(type(instance)):
        value = getattr(instance, f.name)
        kind = type(f.default)
        if type(value) is not kind and not (kind is float and type(value) is int):
            problems.append(f"{label(f.name)} must be {kind.__name__}, not {type(value).__name__}")
            continue
        problem = check_value(spec, value)
        if problem:
            problems.append(f"{label(f.name)} {problem}")
    return problems + (cross(instance) if cross is not None and not problems else [])


def default_text(f: Field[Any], spec: SettingSpec) -> str:
    """The default as the docs show it."""
    if spec.default_doc:
        return spec.default_doc
    value = f.default
    if isinstance(value, bool):
        return "true" if value else "false"
    if value == "":
        return "empty"
    if isinstance(value, float):
        return _num(value)
    if spec.unit == "bytes" and isinstance(value, int) and value >= 1024:
        return f"{value} ({_binary(value)})"
    return str(value)


def _binary(size: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift} {unit}"
    return f"{size} bytes"


def markdown_tables(cls: type, groups: tuple[Group, ...]) -> str:
    """The README's configuration tables, one per group, rendered from the fields."""
    out = []
    for group in groups:
        out += [f"**{group.title}**", "", "| environment | flag | default | meaning |", "|---|---|---|---|"]
        for f, spec in settings_fields(cls):
            if spec.group == group.key:
                meaning = spec.help + ("; better set by the environment (flags show in `ps`)" if spec.secret else "")
                shown = default_text(f, spec)
                shown = "(empty)" if shown == "empty" else f"`{shown}`"
                row = [f"`{env_name(f.name)}`", f"`{flag_name(f.name)}`", shown, meaning.replace("|", "\\|")]
                out.append("| " + " | ".join(row) + " |")
        out.append("")
    return "\n".join(out)
