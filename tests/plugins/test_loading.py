"""Start-up: entry points, allow/deny lists, and failures that name the plugin and the clash."""

from __future__ import annotations

import re
from types import MappingProxyType

import pytest

from hub.config.settings import Settings
from hub.plugins.catalog import PluginError
from hub.plugins.manager import build_plugins
from tests.plugins.distributions import SitePackages

TASK_PLUGIN = """
from hub.plugin_api import HeadKind, TaskSpec, hookimpl

@hookimpl
def register_tasks(register):
    register(TaskSpec("{task}", HeadKind.SEQUENCE, labels=("a", "b")))
"""

DECLARING_PLUGIN = (
    TASK_PLUGIN
    + """
@hookimpl
def register_namespaces(register):
    register("{namespace}")
"""
)


def start(**settings: str):
    return build_plugins(Settings.from_env(environ={}, **settings))


def names(plugins) -> dict[str, bool]:
    return {p.name: p.enabled for p in plugins.plugins()}


def test_entry_points_are_loaded_with_their_versions(site_packages: SitePackages) -> None:
    site_packages.install("acme-hub-plugin", "acme", "hub_acme_t1", TASK_PLUGIN.format(task="acme.task"), "2.3.4")
    plugins = start()
    info = next(p for p in plugins.plugins() if p.name == "acme")
    assert (info.distribution, info.version, info.enabled) == ("acme-hub-plugin", "2.3.4", True)
    assert info.hooks == ("register_tasks",) and info.registered["tasks"] == ("acme.task",)
    assert plugins.tasks.get("acme.task").plugin == "acme"
    builtin = plugins.plugins()[0]
    assert builtin.name == "generic" and builtin.builtin


def test_allow_and_deny_lists(site_packages: SitePackages) -> None:
    site_packages.install("p-one", "one", "hub_one_t2", TASK_PLUGIN.format(task="one.task"))
    site_packages.install("p-two", "two", "hub_two_t2", "raise ImportError('never imported when denied')")
    plugins = start(plugins_deny="two")
    assert names(plugins)["one"] and not names(plugins)["two"]
    assert "denied by ADAPTER_HUB_PLUGINS_DENY" in next(p.note for p in plugins.plugins() if p.name == "two")
    plugins = start(plugins_allow="one")
    assert names(plugins)["one"] and not names(plugins)["two"]
    with pytest.raises(PluginError, match=r"ADAPTER_HUB_PLUGINS_ALLOW \(--plugins-allow\) names plugin 'three', which"):
        start(plugins_allow="one,three")


def test_an_import_failure_stops_start_up_naming_the_plugin(site_packages: SitePackages) -> None:
    site_packages.install("broken-dist", "broken", "hub_broken_t3", "import not_a_module_anywhere")
    with pytest.raises(PluginError) as caught:
        start()
    message = str(caught.value)
    assert "plugin 'broken' (broken-dist 1.0.0, entry point hub_broken_t3) failed to import" in message
    assert "ModuleNotFoundError" in message
    assert message.endswith(  # what to do next
        "install the module it needs ('not_a_module_anywhere': pip install it, or reinstall broken-dist with "
        "its dependencies), or --plugins-deny broken (ADAPTER_HUB_PLUGINS_DENY=broken) starts without it"
    )


def test_an_import_failure_that_is_no_missing_module_says_what_to_do(site_packages: SitePackages) -> None:
    site_packages.install("odd-dist", "odd", "hub_odd_t3", "raise RuntimeError('no config')")
    with pytest.raises(PluginError) as caught:
        start()
    assert str(caught.value).endswith(
        "RuntimeError: no config; fix or reinstall odd-dist, or --plugins-deny odd (ADAPTER_HUB_PLUGINS_DENY=odd) "
        "starts without it"
    )


def test_clashing_task_names_stop_start_up_naming_both_plugins(site_packages: SitePackages) -> None:
    first = DECLARING_PLUGIN.format(task="shared.task", namespace="shared")
    site_packages.install("first-dist", "first", "hub_first_t4", first)
    site_packages.install("second-dist", "second", "hub_second_t4", TASK_PLUGIN.format(task="shared.task"))
    with pytest.raises(
        PluginError,
        match=r"plugin 'second': task 'shared.task' is in namespace 'shared', which belongs to plugin 'first'",
    ):
        start()
    assert "shared.task" in [t.name for t in start(plugins_deny="second").tasks.all()]


def test_a_plugin_may_not_take_a_builtin_task_name(site_packages: SitePackages) -> None:
    source = TASK_PLUGIN.format(task="generic.sequence_classification")
    site_packages.install("sneaky-dist", "sneaky", "hub_sneaky_t5", source)
    with pytest.raises(
        PluginError,
        match=re.escape(
            "plugin 'sneaky': task 'generic.sequence_classification' is in namespace 'generic', which belongs "
            "to the built-in plugin 'generic': name it 'sneaky.sequence_classification'"
        ),
    ):
        start()


def test_two_distributions_claiming_one_plugin_name(site_packages: SitePackages) -> None:
    site_packages.install("one-dist", "same", "hub_same_a_t6", TASK_PLUGIN.format(task="same.a"))
    site_packages.install("other-dist", "same", "hub_same_b_t6", TASK_PLUGIN.format(task="same.b"))
    with pytest.raises(
        PluginError, match=r"plugin name 'same' clashes: claimed by one-dist 1.0.0 and other-dist 1.0.0"
    ):
        start()


def test_unknown_hooks_are_caught_by_check_pending(site_packages: SitePackages) -> None:
    source = "from hub.plugin_api import hookimpl\n\n@hookimpl\ndef register_task(register):\n    pass\n"
    site_packages.install("typo-dist", "typo", "hub_typo_t7", source)
    with pytest.raises(
        PluginError,
        match="plugin 'typo' implements unknown hook 'register_task' \\(did you mean 'register_tasks'\\?\\)",
    ):
        start()


def test_a_hook_with_wrong_arguments_is_refused(site_packages: SitePackages) -> None:
    source = "from hub.plugin_api import hookimpl\n\n@hookimpl\ndef register_tasks(register, extra):\n    pass\n"
    site_packages.install("args-dist", "args", "hub_args_t8", source)
    with pytest.raises(PluginError, match=r"plugin 'args' .* cannot be registered"):
        start()


def test_the_builtin_plugin_runs_last() -> None:
    plugins = start()
    impls = plugins.pm.hook.register_tasks.get_hookimpls()
    assert impls[0].plugin_name == "generic" and impls[0].trylast  # pluggy calls the list backwards


def test_registries_are_frozen_after_start_up() -> None:
    catalog = start().catalog
    for table in (catalog.preprocessors, catalog.segmenters, catalog.readers, catalog.metrics, catalog.owners):
        assert isinstance(table, MappingProxyType)
        with pytest.raises(TypeError):
            table["x.y"] = None  # type: ignore[index]


def test_no_global_manager_each_build_is_independent(site_packages: SitePackages) -> None:
    before = start()
    site_packages.install("late-dist", "late", "hub_late_t9", TASK_PLUGIN.format(task="late.task"))
    after = start()
    assert "late.task" not in [t.name for t in before.tasks.all()]
    assert "late.task" in [t.name for t in after.tasks.all()]


def test_allow_and_deny_names_are_checked_at_start_up(site_packages: SitePackages) -> None:
    site_packages.install("p-one", "one", "hub_one_t10", TASK_PLUGIN.format(task="one.task"))
    only_builtin = start(plugins_allow="generic")  # generic is a plugin name like any other
    assert names(only_builtin)["generic"] and not names(only_builtin)["one"]
    assert "one.task" not in [t.name for t in only_builtin.tasks.all()]
    assert names(start(plugins_allow="generic,one"))["one"]
    with pytest.raises(PluginError, match=r"names 'generic', the built-in plugin: it cannot be denied"):
        start(plugins_deny="generic")
    with pytest.raises(
        PluginError,
        match=r"ADAPTER_HUB_PLUGINS_DENY \(--plugins-deny\) names plugin 'onee', which is not installed; "
        r"did you mean 'one'\?",
    ):
        start(plugins_deny="onee")
    with pytest.raises(PluginError, match=r"plugin 'one' is both allowed and denied"):
        start(plugins_allow="one", plugins_deny="one")


def test_allow_and_deny_are_serve_flags(site_packages: SitePackages) -> None:
    from hub.cli.main import build_parser
    from hub.cli.serve import settings_from_args

    site_packages.install("p-one", "one", "hub_one_t11", TASK_PLUGIN.format(task="one.task"))
    args = build_parser().parse_args(["serve", "--plugins-allow", "generic,one", "--plugins-deny", ""])
    settings = settings_from_args(args)
    assert (settings.plugins_allow, settings.plugins_deny) == ("generic,one", "")
    assert names(build_plugins(settings))["one"]
    misspelt = settings_from_args(build_parser().parse_args(["serve", "--plugins-deny", "onne"]))
    with pytest.raises(PluginError, match="names plugin 'onne', which is not installed; did you mean 'one'"):
        build_plugins(misspelt)


def test_start_up_logs_the_loaded_plugins_with_versions(
    site_packages: SitePackages, caplog: pytest.LogCaptureFixture
) -> None:
    from hub import __version__

    site_packages.install("acme-hub-plugin", "acme", "hub_acme_t12", TASK_PLUGIN.format(task="acme.task"), "2.3.4")
    site_packages.install("p-two", "two", "hub_two_t12", TASK_PLUGIN.format(task="two.task"), "0.9")
    with caplog.at_level("INFO", logger="hub.plugins"):
        start(plugins_deny="two")
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("plugins loaded: ")]
    assert len(lines) == 1
    assert f"plugins loaded: generic (built-in, adapter-hub {__version__}), " in lines[0]
    assert "acme (acme-hub-plugin 2.3.4)" in lines[0]
    assert "; not loaded: two (p-two 0.9): denied by ADAPTER_HUB_PLUGINS_DENY" in lines[0]
