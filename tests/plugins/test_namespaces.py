"""The server enforces namespaces: a plugin registers names only under its own name or the
namespaces it declares; ``generic.*`` is the built-in plugin's. Violations refuse start-up
with a message naming the plugin, the name, the owner and what to rename."""

from __future__ import annotations

import pytest

from hub.config.settings import Settings
from hub.plugins.catalog import PluginError
from hub.plugins.manager import build_plugins
from tests.plugins.distributions import SitePackages

PLUGIN = """
from hub.plugin_api import HeadKind, Preprocessed, Preprocessor, TaskSpec, hookimpl

@hookimpl
def register_namespaces(register):
    for namespace in {namespaces!r}:
        register(namespace)

@hookimpl
def register_preprocessors(register):
    for name in {preprocessors!r}:
        register(Preprocessor(name, Preprocessed.unchanged))

@hookimpl
def register_tasks(register):
    for name in {tasks!r}:
        register(TaskSpec(name, HeadKind.SEQUENCE, labels=("a", "b")))
"""


def plugin(tasks: tuple[str, ...] = (), namespaces: tuple[str, ...] = (), preprocessors: tuple[str, ...] = ()) -> str:
    return PLUGIN.format(tasks=tasks, namespaces=namespaces, preprocessors=preprocessors)


def start(**settings: str):
    return build_plugins(Settings.from_env(environ={}, **settings))


def refusal(**settings: str) -> str:
    with pytest.raises(PluginError) as caught:
        start(**settings)
    return str(caught.value)


def test_the_server_refuses_a_plugin_squatting_other_namespaces(site_packages: SitePackages) -> None:
    site_packages.install("hub-bank", "bank", "hub_bank_n1", plugin(tasks=("bank.sentiment",)))
    squat = plugin(tasks=("generic.support_intent", "bank.evil", "acme.thing"), preprocessors=("bank.mask",))
    site_packages.install("hub-squat", "squat", "hub_squat_n1", squat)
    message = refusal()
    assert (
        "plugin 'squat': task 'generic.support_intent' is in namespace 'generic', which belongs to the built-in "
        "plugin 'generic': name it 'squat.support_intent'"
    ) in message
    assert (
        "plugin 'squat': task 'bank.evil' is in namespace 'bank', which belongs to plugin 'bank': name it 'squat.evil'"
    ) in message
    assert "plugin 'squat': preprocessor 'bank.mask' is in namespace 'bank', which belongs to plugin 'bank'" in message
    assert (
        "plugin 'squat': task 'acme.thing' is in namespace 'acme', which no plugin owns: name it 'squat.thing', "
        "or declare 'acme' with register_namespaces"
    ) in message
    # the owner keeps its namespace while it is not loaded: enabling it later must not break the server
    assert "belongs to plugin 'bank' (installed, not loaded now)" in refusal(plugins_deny="bank")
    assert start(plugins_deny="squat").tasks.get("bank.sentiment").plugin == "bank"


def test_a_plugin_may_declare_namespaces_no_other_plugin_has(site_packages: SitePackages) -> None:
    site_packages.install("hub-acme", "acme_support", "hub_acme_n2", plugin(("acme.intent",), ("acme",)))
    assert start().tasks.get("acme.intent").plugin == "acme_support"

    site_packages.install("hub-rival", "rival", "hub_rival_n2", plugin(("rival.x",), ("acme",)))
    assert "namespace 'acme' is declared by plugins 'acme_support' and 'rival'" in refusal()
    assert start(plugins_deny="rival").tasks.get("acme.intent").plugin == "acme_support"


def test_declaring_another_plugins_name_or_generic_is_refused(site_packages: SitePackages) -> None:
    site_packages.install("hub-bank", "bank", "hub_bank_n3", plugin(("bank.sentiment",)))
    site_packages.install("hub-thief", "thief", "hub_thief_n3", plugin(("thief.x",), ("bank", "generic")))
    message = refusal()
    assert "plugin 'thief' declares namespace 'bank', which is plugin 'bank''s own name (hub-bank 1.0.0)" in message
    assert "plugin 'thief' declares namespace 'generic', which is the built-in plugin's" in message
    assert "plugin 'bank' is installed though not loaded now" in refusal(plugins_deny="bank")


def test_a_plugin_whose_name_is_no_namespace_must_declare_one(site_packages: SitePackages) -> None:
    site_packages.install("hub-support", "hub-support", "hub_support_n4", plugin(("support.intent",)))
    assert (
        "plugin 'hub-support': task 'support.intent' is in namespace 'support', which no plugin owns: declare a "
        "namespace with register_namespaces"
    ) in refusal()
    site_packages.install("hub-support2", "Support2", "hub_support_n5", plugin(("support.intent",), ("support",)))
    plugins = start(plugins_deny="hub-support")
    assert plugins.tasks.get("support.intent").plugin == "Support2"
