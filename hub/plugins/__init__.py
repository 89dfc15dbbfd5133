"""Plugins: hookspecs, the plugin manager, the start-up catalog and the built-in generic plugin.
Plugins themselves import only ``hub.plugin_api``."""
