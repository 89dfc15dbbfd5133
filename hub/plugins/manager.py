"""Build the plugin manager at start-up (a factory: no module-level manager, no global registry).

Plugins are entry points in one group, ``adapter_hub.plugins``, each named for its domain.
Settings decide which load: ``plugins_allow`` (empty: all) and ``plugins_deny``, both comma-
separated plugin names; a denied plugin is not even imported. The built-in "generic" plugin
is always registered: ``generic`` may be named in the allow list (alone: no installed plugin
loads) and is refused in the deny list, since other plugins' tasks build on its metrics. A
name in either list that is not installed stops start-up, as does anything else wrong (an
import error, an unknown hook, a name outside the plugin's namespaces, a clash, an allowed
plugin that is not installed), with every problem listed. The loaded plugins and their
versions are logged once.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Protocol

import pluggy

from adapters_registry.manifest import Manifest
from adapters_registry.registry import VersionRecord
from hub import __version__
from hub.plugins import generic as generic_plugin
from hub.plugins import hookspecs
from hub.plugins.catalog import Catalog, PluginError, build_catalog, call_impl, call_order
from hub.plugins.hookspecs import ENTRY_POINT_GROUP, PROJECT, AdapterEvent
from hub.tasks.specs import TaskRegistry

log = logging.getLogger("hub.plugins")

HOOKS = tuple(name for name in dir(hookspecs) if getattr(getattr(hookspecs, name), f"{PROJECT}_spec", None) is not None)


@dataclass(frozen=True)
class PluginInfo:
    """One plugin as ListPlugins shows it, loaded or not."""

    name: str
    distribution: str = ""
    version: str = ""
    builtin: bool = False
    enabled: bool = True
    note: str = ""  # why a plugin is not enabled
    hooks: tuple[str, ...] = ()
    registered: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    namespaces: tuple[str, ...] = ()  # where it may register names

    def describe(self) -> str:
        """``name (distribution version)`` for logs."""
        origin = (
            f"built-in, {self.distribution} {self.version}" if self.builtin else f"{self.distribution} {self.version}"
        )
        return f"{self.name} ({origin.strip() or 'given in code'})"


def parse_names(raw: str) -> frozenset[str]:
    return frozenset(x.strip() for x in raw.split(",") if x.strip())


class HubPlugins:
    """The loaded plugins: frozen registries plus one typed method per runtime hook (tox style)."""

    def __init__(self, pm: pluggy.PluginManager, catalog: Catalog, infos: Sequence[PluginInfo]) -> None:
        self.pm = pm
        self.catalog = catalog
        self._infos = tuple(infos)

    @property
    def tasks(self) -> TaskRegistry:
        return self.catalog.tasks

    def plugins(self) -> list[PluginInfo]:
        return list(self._infos)

    def validate_adapter(self, manifest: Manifest) -> list[str]:
        """Extra problems with an adapter: for each task it serves, the task's own plugin's check
        (one plugin's validator never sees, or blocks, another plugin's tasks)."""
        problems: list[str] = []
        for head in manifest.tasks:
            spec = self.catalog.tasks.get(head.task)
            for impl in call_order(self.pm, "validate_adapter"):
                if impl.plugin_name != spec.plugin:
                    continue
                try:
                    found = call_impl(impl, manifest=manifest, task=spec)
                except Exception:
                    log.exception("plugin %r: validate_adapter failed for task %r", impl.plugin_name, head.task)
                    problems.append(
                        f"task {head.task!r}: plugin {impl.plugin_name!r} could not check this adapter "
                        "(its check failed; the operator can see why in the server log)"
                    )
                    continue
                problems += [str(p) for p in found or ()]
        return problems

    def adapter_loaded(self, event: AdapterEvent) -> None:
        self._notify("adapter_loaded", event)

    def adapter_evicted(self, event: AdapterEvent) -> None:
        self._notify("adapter_evicted", event)

    def _notify(self, hook: str, event: AdapterEvent) -> None:
        """Call each observer on its own: one that raises is logged and the others still run."""
        for impl in call_order(self.pm, hook):
            try:
                call_impl(impl, event=event)
            except Exception:
                log.exception("plugin %r: %s raised; ignored (observers may not raise)", impl.plugin_name, hook)


class PluginSelection(Protocol):
    """What decides which entry points load (the server's Settings has both; read-only)."""

    @property
    def plugins_allow(self) -> str: ...

    @property
    def plugins_deny(self) -> str: ...


class CacheEvents:
    """The residency's observer: device-tier loads and evictions become the plugins' event hooks."""

    def __init__(self, plugins: HubPlugins) -> None:
        self.plugins = plugins

    def loaded(self, key: str, record: VersionRecord) -> None:
        tasks = tuple(t.task for t in record.manifest.tasks)
        self.plugins.adapter_loaded(AdapterEvent(record.tenant, record.name, record.version, "loaded", tasks))

    def evicted(self, key: str, reason: str) -> None:
        tenant, _, rest = key.partition("/")  # hub.residency.version_key: tenant/name@version
        name, _, version = rest.rpartition("@")
        self.plugins.adapter_evicted(AdapterEvent(tenant, name, int(version), reason))


def build_plugins(
    settings: PluginSelection,
    *,
    extra: Iterable[tuple[str, object]] = (),
    entry_points: bool = True,
) -> HubPlugins:
    """Load the built-in plugin, the allowed entry points and ``extra`` (name, plugin) pairs; an
    extra plugin takes the place of an installed one of the same name (which is not imported)."""
    extra = list(extra)
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(generic_plugin, name=generic_plugin.NAME)
    infos = [PluginInfo(generic_plugin.NAME, "adapter-hub", __version__, builtin=True)]
    problems: list[str] = []
    installed: dict[str, str] = {}
    if entry_points:
        found = _installed_entry_points({name for name, _ in extra})
        installed = {name: " ".join(_dist(eps[0])) for name, eps in found.items()}
        allow, deny = parse_names(settings.plugins_allow), parse_names(settings.plugins_deny)
        problems += selection_problems(allow, deny, set(found) | {name for name, _ in extra})
        if not problems:
            infos += _load_entry_points(pm, found, allow, deny, problems)
    for name, plugin in extra:
        if _register(pm, plugin, name, f"plugin {name!r}", problems):
            infos.append(PluginInfo(name))
    problems += _unknown_hooks(pm)
    if problems:
        raise PluginError(problems)
    pm.check_pending()  # what the loop above reported in full; kept as pluggy's own guard
    catalog = build_catalog(pm, installed)
    described = [_describe(pm, catalog, info) for info in infos]
    _log_loaded(described)
    return HubPlugins(pm, catalog, described)


def selection_problems(allow: frozenset[str], deny: frozenset[str], installed: set[str]) -> list[str]:
    """What is wrong with the allow and deny lists, given the installed plugin names."""
    problems = []
    known = installed | {generic_plugin.NAME}
    for setting, names in (
        ("ADAPTER_HUB_PLUGINS_ALLOW (--plugins-allow)", allow),
        ("ADAPTER_HUB_PLUGINS_DENY (--plugins-deny)", deny),
    ):
        for name in sorted(names - known):
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            problems.append(
                f"{setting} names plugin {name!r}, which is not installed; {hint}installed: {', '.join(sorted(known))}"
            )
    if generic_plugin.NAME in deny:
        problems.append(
            "ADAPTER_HUB_PLUGINS_DENY (--plugins-deny) names 'generic', the built-in plugin: it cannot be "
            "denied (its head-kind tasks and metrics are what other plugins build on); remove it from the list"
        )
    for name in sorted(allow & deny):
        problems.append(f"plugin {name!r} is both allowed and denied (ADAPTER_HUB_PLUGINS_ALLOW and _DENY): pick one")
    return problems


def _installed_entry_points(skip: set[str]) -> dict[str, list[metadata.EntryPoint]]:
    found: dict[str, list[metadata.EntryPoint]] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in skip:
            found.setdefault(ep.name, []).append(ep)
    return found


def _load_entry_points(
    pm: pluggy.PluginManager,
    found: Mapping[str, list[metadata.EntryPoint]],
    allow: frozenset[str],
    deny: frozenset[str],
    problems: list[str],
) -> list[PluginInfo]:
    infos = []
    for name, eps in sorted(found.items()):
        dist, version = _dist(eps[0])
        if len(eps) > 1:
            owners = " and ".join(sorted(" ".join(_dist(ep)) for ep in eps))
            problems.append(f"plugin name {name!r} clashes: claimed by {owners}; uninstall one")
            continue
        if name == generic_plugin.NAME:
            problems.append(f"plugin {name!r} from {dist} clashes with the built-in plugin of that name")
            continue
        if name in deny or (allow and name not in allow):
            why = "denied by ADAPTER_HUB_PLUGINS_DENY" if name in deny else "not in ADAPTER_HUB_PLUGINS_ALLOW"
            infos.append(PluginInfo(name, dist, version, enabled=False, note=why))
            continue
        where = f"plugin {name!r} ({dist} {version}, entry point {eps[0].value})"
        try:
            plugin = eps[0].load()
        except Exception as exc:  # noqa: BLE001 - any import failure stops start-up, named
            problems.append(f"{where} failed to import: {type(exc).__name__}: {exc}; {_import_advice(name, dist, exc)}")
            continue
        if _register(pm, plugin, name, where, problems):
            infos.append(PluginInfo(name, dist, version))
    return infos


def _import_advice(name: str, dist: str, exc: Exception) -> str:
    """What to do about a plugin that does not import: install what it misses, or leave it out."""
    leave_out = f"--plugins-deny {name} (ADAPTER_HUB_PLUGINS_DENY={name}) starts without it"
    missing = getattr(exc, "name", None) if isinstance(exc, ImportError) else None
    if missing:
        top = missing.split(".")[0]
        return (
            f"install the module it needs ({top!r}: pip install it, or reinstall {dist} with its dependencies), "
            f"or {leave_out}"
        )
    return f"fix or reinstall {dist}, or {leave_out}"


def _log_loaded(infos: Sequence[PluginInfo]) -> None:
    loaded = ", ".join(i.describe() for i in infos if i.enabled)
    skipped = ", ".join(f"{i.describe()}: {i.note}" for i in infos if not i.enabled)
    log.info("plugins loaded: %s%s", loaded, f"; not loaded: {skipped}" if skipped else "")


def _register(pm: pluggy.PluginManager, plugin: object, name: str, where: str, problems: list[str]) -> bool:
    try:
        pm.register(plugin, name=name)
    except (ValueError, pluggy.PluginValidationError) as exc:
        problems.append(f"{where} cannot be registered: {exc}")
        return False
    return True


def _unknown_hooks(pm: pluggy.PluginManager) -> list[str]:
    """Every implementation of a hook that has no spec, with a suggestion (a typo, usually)."""
    problems = []
    for hook_name, caller in sorted(vars(pm.hook).items()):
        if caller.spec is not None or hook_name.startswith("_"):
            continue
        for impl in caller.get_hookimpls():
            if impl.optionalhook:
                continue
            close = difflib.get_close_matches(hook_name, HOOKS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (hooks: {', '.join(HOOKS)})"
            problems.append(f"plugin {impl.plugin_name!r} implements unknown hook {hook_name!r}{hint}")
    return problems


def _dist(ep: metadata.EntryPoint) -> tuple[str, str]:
    dist: Any = getattr(ep, "dist", None)
    return (dist.name, dist.version) if dist is not None else ("?", "?")


def _describe(pm: pluggy.PluginManager, catalog: Catalog, info: PluginInfo) -> PluginInfo:
    if not info.enabled:
        return info
    plugin = pm.get_plugin(info.name)
    hooks = tuple(sorted(c.name for c in pm.get_hookcallers(plugin) or ()))
    return dataclasses.replace(
        info, hooks=hooks, registered=catalog.registered_by(info.name), namespaces=catalog.namespaces.of(info.name)
    )
