"""Who may register names where: each namespace (the part of ``<domain>.<name>`` before the dot)
has at most one owner, and a plugin registers names only in namespaces it owns.

A plugin owns the namespace spelled like its own name (the built-in plugin "generic" owns
``generic``) and the namespaces it declares with ``register_namespaces``, when no other
installed plugin is named so or declares them too. Installed plugins that are not loaded
(denied, not allowed) keep their names: enabling one later must not turn a working server into
one that refuses to start. Every problem names the plugin, the namespace and its owner, and
says what to change.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

NAMESPACE = re.compile(r"^[a-z][a-z0-9_]*$")
BUILTIN = "generic"


@dataclass(frozen=True)
class Namespaces:
    """namespace -> the plugin that owns it (frozen after start-up)."""

    owners: Mapping[str, str]
    loaded: frozenset[str] = frozenset()

    def of(self, plugin: str) -> tuple[str, ...]:
        return tuple(sorted(ns for ns, owner in self.owners.items() if owner == plugin))

    def problem(self, plugin: str, kind: str, name: str) -> str | None:
        """Why ``plugin`` may not register ``name`` (a ``kind``: task, preprocessor, ...), or None."""
        namespace, _, rest = name.partition(".")
        owner = self.owners.get(namespace)
        if owner == plugin:
            return None
        where = f"plugin {plugin!r}: {kind} {name!r} is in namespace {namespace!r}"
        own = self.of(plugin)
        instead = f"name it {own[0] + '.' + rest!r}" if own else "declare a namespace with register_namespaces"
        if owner is None:
            return (
                f"{where}, which no plugin owns: {instead}, or declare {namespace!r} with register_namespaces "
                "(a plugin registers names only under its own name or the namespaces it declares)"
            )
        whose = "the built-in plugin 'generic'" if owner == BUILTIN else f"plugin {owner!r}"
        whose += "" if owner in self.loaded else " (installed, not loaded now)"
        return f"{where}, which belongs to {whose}: {instead} (a plugin may not register names in another's namespace)"


class NamespaceClaims:
    """Collects ``register_namespaces`` calls, then settles who owns what."""

    def __init__(self, loaded: Iterable[str], installed: Mapping[str, str]) -> None:
        """``loaded``: the registered plugins' names; ``installed``: every installed plugin's
        name (loaded or not) -> where it comes from ("hub-finance 0.1.0")."""
        self.loaded = tuple(loaded)
        self.installed = dict(installed)
        self.declared: dict[str, list[str]] = {}  # namespace -> plugins declaring it
        self.problems: list[str] = []

    def register_for(self, plugin: str) -> Callable[[object], None]:
        def register(namespace: object) -> None:
            if not isinstance(namespace, str) or not NAMESPACE.match(namespace):
                self.problems.append(
                    f"plugin {plugin!r}: register_namespaces passed {namespace!r}; a namespace is a str of "
                    "lowercase letters, digits and _ starting with a letter (e.g. 'acme')"
                )
                return
            claimants = self.declared.setdefault(namespace, [])
            if plugin not in claimants:
                claimants.append(plugin)

        return register

    def settle(self) -> Namespaces:
        owners = {name: name for name in (*self.loaded, *self.installed) if NAMESPACE.match(name)}
        for namespace, claimants in sorted(self.declared.items()):
            named = self._named_owner(namespace)
            others = [p for p in claimants if p != named]
            if named is not None:
                whose = "the built-in plugin's" if named == BUILTIN else f"plugin {named!r}'s own name"
                origin = f" ({self.installed[named]})" if named in self.installed else ""
                self.problems += [
                    f"plugin {p!r} declares namespace {namespace!r}, which is {whose}{origin}: "
                    "declare a namespace no other plugin is named or declares" + _loaded_note(named, self.loaded)
                    for p in others
                ]
            elif len(others) > 1:
                both = " and ".join(repr(p) for p in sorted(others))
                self.problems.append(
                    f"namespace {namespace!r} is declared by plugins {both}: a namespace has one owner "
                    "(rename it in one of them, or deny one plugin)"
                )
            elif others:
                owners[namespace] = others[0]
        return Namespaces(MappingProxyType(owners), frozenset(self.loaded))

    def _named_owner(self, namespace: str) -> str | None:
        if namespace in self.loaded or namespace in self.installed:
            return namespace
        return None


def _loaded_note(named: str, loaded: tuple[str, ...]) -> str:
    return "" if named in loaded else f" (plugin {named!r} is installed though not loaded now; it keeps its name)"
